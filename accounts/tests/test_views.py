"""Console and portal pages through Django's test client: who may open what, and that every
write goes through the services with the actor's scope."""

import pytest
from django.urls import reverse

from accounts.authentication import SESSION_TENANT_KEY
from accounts.models import ApiKey, Membership, Merchant, MerchantStaff, Region
from accounts.permissions import REGION_PERMISSION
from accounts.roles import CONSOLE_ROLES, PORTAL_ROLES, Role
from accounts.services import api_key_create
from accounts.tests.factories import (
    PASSWORD,
    CustomerFactory,
    MembershipFactory,
    MerchantFactory,
    RegionFactory,
    StaffFactory,
    TenantFactory,
    UserFactory,
)
from core.models import AuditEntry

pytestmark = pytest.mark.django_db

R = Role
ALL = set(Role.values)
CONSOLE = {str(r) for r in CONSOLE_ROLES}
PORTAL = {str(r) for r in PORTAL_ROLES}
MANAGERS = {R.TENANT_ADMIN, R.BU_ADMIN}
USER_READERS = MANAGERS | {R.AUDITOR}
MASTER_WRITERS = {R.TENANT_ADMIN, R.BU_ADMIN, R.OPERATOR, R.REGIONAL_OPERATOR}
AUDIT_READERS = {R.TENANT_ADMIN, R.BU_ADMIN, R.FINANCE, R.AUDITOR}


def login(client, membership):
    client.force_login(membership.user)
    session = client.session
    session[SESSION_TENANT_KEY] = membership.tenant_id
    session.save()
    return client


# Each console page: (url name, args from the world, roles that may open it).
CONSOLE_PAGES = [
    ("accounts:home", lambda w: [], CONSOLE),
    ("accounts:user_list", lambda w: [], USER_READERS),
    ("accounts:user_create", lambda w: [], MANAGERS),
    ("accounts:membership_edit", lambda w: [w.members[R.BU_ADMIN].pk], MANAGERS),
    ("accounts:business_unit_list", lambda w: [], USER_READERS),
    ("accounts:region_list", lambda w: [], CONSOLE),
    ("accounts:region_create", lambda w: [], {R.TENANT_ADMIN, R.BU_ADMIN, R.OPERATOR}),
    ("accounts:region_edit", lambda w: [w.region.code], {R.TENANT_ADMIN, R.BU_ADMIN, R.OPERATOR}),
    ("accounts:merchant_list", lambda w: [], CONSOLE),
    ("accounts:merchant_create", lambda w: [], MASTER_WRITERS),
    ("accounts:merchant_detail", lambda w: [w.merchant.code], CONSOLE),
    ("accounts:merchant_edit", lambda w: [w.merchant.code], MASTER_WRITERS),
    ("accounts:staff_create", lambda w: [w.merchant.code], MASTER_WRITERS),
    ("accounts:staff_edit", lambda w: [w.staff.code], MASTER_WRITERS),
    ("accounts:customer_list", lambda w: [], CONSOLE),
    ("accounts:customer_edit", lambda w: [w.customer.code], MASTER_WRITERS),
    # Keys are tenant-wide: a business-unit admin neither sees nor makes them.
    ("accounts:api_key_list", lambda w: [], {R.TENANT_ADMIN, R.AUDITOR}),
    ("accounts:api_key_create", lambda w: [], {R.TENANT_ADMIN}),
    ("accounts:audit_list", lambda w: [], AUDIT_READERS),
]


@pytest.fixture
def w(world):
    world.customer = CustomerFactory(tenant=world.tenant, region=world.region)
    return world


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize(
    ("name", "args", "allowed"), CONSOLE_PAGES, ids=[p[0] for p in CONSOLE_PAGES]
)
def test_console_page_access_by_role(w, role, name, args, allowed):
    client = w.console_client(role)
    response = client.get(reverse(name, args=args(w)))
    if role in PORTAL:
        assert response.status_code == 302
        assert response["Location"] == reverse("portal:home")
    elif role in allowed:
        assert response.status_code == 200, response.content[:500]
    else:
        assert response.status_code == 403


PORTAL_PAGES = [
    ("portal:home", {R.MERCHANT_ADMIN: 302, R.MERCHANT_STAFF: 200}),
    ("portal:staff_list", {R.MERCHANT_ADMIN: 200, R.MERCHANT_STAFF: 403}),
]


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize(("name", "expected"), PORTAL_PAGES, ids=[p[0] for p in PORTAL_PAGES])
def test_portal_page_access_by_role(w, role, name, expected):
    client = w.console_client(role)
    response = client.get(reverse(name))
    if role in CONSOLE:
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:home")
    else:
        assert response.status_code == expected[role]


@pytest.mark.parametrize("name", [p[0] for p in CONSOLE_PAGES[:3]] + ["portal:home"])
def test_anonymous_is_sent_to_login(client, w, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_navigation_follows_the_role(w):
    admin_page = w.console_client(R.TENANT_ADMIN).get(reverse("accounts:home")).content
    assert reverse("accounts:user_list").encode() in admin_page
    assert reverse("accounts:api_key_list").encode() in admin_page
    regional = w.console_client(R.REGIONAL_OPERATOR).get(reverse("accounts:home")).content
    assert reverse("accounts:customer_list").encode() in regional
    assert reverse("accounts:user_list").encode() not in regional
    assert reverse("accounts:api_key_list").encode() not in regional
    assert reverse("accounts:audit_list").encode() not in regional


def test_read_only_roles_get_no_edit_buttons(w):
    client = w.console_client(R.AUDITOR)
    users = client.get(reverse("accounts:user_list")).content.decode()
    assert reverse("accounts:user_create") not in users
    assert reverse("accounts:membership_edit", args=[w.members[R.OPERATOR].pk]) not in users
    merchants = client.get(reverse("accounts:merchant_list")).content.decode()
    assert reverse("accounts:merchant_edit", args=[w.merchant.code]) not in merchants
    client = w.console_client(R.TENANT_ADMIN)
    users = client.get(reverse("accounts:user_list")).content.decode()
    assert reverse("accounts:membership_edit", args=[w.members[R.OPERATOR].pk]) in users


# --- data scope -----------------------------------------------------------------------------------


def test_regional_operator_lists_only_their_regions(w):
    inside = MerchantFactory(tenant=w.tenant, region=w.region, code="IN-1")
    outside = MerchantFactory(tenant=w.tenant, region=w.other_region, code="OUT-1")
    far_customer = CustomerFactory(tenant=w.tenant, region=w.other_region, code="C-OUT")
    client = w.console_client(R.REGIONAL_OPERATOR)
    merchants = client.get(reverse("accounts:merchant_list")).content.decode()
    assert inside.code in merchants
    assert outside.code not in merchants
    customers = client.get(reverse("accounts:customer_list")).content.decode()
    assert w.customer.code in customers
    assert far_customer.code not in customers
    assert client.get(reverse("accounts:merchant_detail", args=[outside.code])).status_code == 404
    assert (
        client.get(reverse("accounts:customer_edit", args=[far_customer.code])).status_code == 404
    )


def test_another_tenants_objects_are_404(w, other_world):
    client = w.console_client(R.TENANT_ADMIN)
    other = other_world
    assert (
        client.get(reverse("accounts:merchant_detail", args=[other.merchant.code])).status_code
        == 404
    )
    assert (
        client.get(
            reverse("accounts:membership_edit", args=[other.members[R.OPERATOR].pk])
        ).status_code
        == 404
    )
    assert client.get(reverse("accounts:region_edit", args=[other.region.code])).status_code == 404
    _key, _secret = api_key_create(tenant=other.tenant, actor=other.system, name="theirs")
    assert client.post(reverse("accounts:api_key_revoke", args=[_key.pk])).status_code == 404
    assert other.merchant.code not in client.get(reverse("accounts:merchant_list")).content.decode()


def test_list_filters_and_search(w):
    MerchantFactory(tenant=w.tenant, region=w.other_region, code="ZZ-SOUTH", name="Southern shop")
    client = w.console_client(R.TENANT_ADMIN)
    body = client.get(
        reverse("accounts:merchant_list"), {"region": w.other_region.code}
    ).content.decode()
    assert "ZZ-SOUTH" in body
    assert w.merchant.code not in body
    body = client.get(reverse("accounts:merchant_list"), {"q": "southern"}).content.decode()
    assert "ZZ-SOUTH" in body and w.merchant.code not in body
    body = client.get(reverse("accounts:user_list"), {"role": R.FINANCE}).content.decode()
    assert w.members[R.FINANCE].user.username in body
    assert w.members[R.AUDITOR].user.username not in body


def test_pagination_keeps_filters(w):
    for i in range(30):
        RegionFactory(tenant=w.tenant, code=f"PAGE-{i:02d}")
    client = w.console_client(R.TENANT_ADMIN)
    first = client.get(reverse("accounts:region_list"), {"q": "PAGE"}).content.decode()
    assert "PAGE-00" in first and "PAGE-29" not in first
    assert "q=PAGE&amp;page=2" in first
    second = client.get(reverse("accounts:region_list"), {"q": "PAGE", "page": 2}).content.decode()
    assert "PAGE-29" in second and "PAGE-00" not in second


# --- writes ------------------------------------------------------------------------------------------


def test_tenant_admin_creates_a_regional_operator(w):
    client = w.console_client(R.TENANT_ADMIN)
    form_page = client.get(reverse("accounts:user_create")).content.decode()
    assert 'name="username"' in form_page and 'name="regions"' in form_page
    response = client.post(
        reverse("accounts:user_create"),
        {
            "username": "ro-new",
            "email": "ro-new@example.test",
            "password": PASSWORD,
            "password_again": PASSWORD,
            "role": R.REGIONAL_OPERATOR,
            "regions": [w.region.pk, w.other_region.pk],
        },
    )
    assert response.status_code == 302
    membership = Membership.objects.for_tenant(w.tenant).get(user__username="ro-new")
    assert membership.role == R.REGIONAL_OPERATOR
    assert AuditEntry.objects.for_tenant(w.tenant).filter(action="user.create").exists()
    from accounts.selectors import membership_regions

    assert {r.pk for r in membership_regions(membership=membership)} == {
        w.region.pk,
        w.other_region.pk,
    }


def test_user_form_says_what_to_fix(w):
    client = w.console_client(R.TENANT_ADMIN)
    response = client.post(
        reverse("accounts:user_create"),
        {
            "username": w.members[R.OPERATOR].user.username,
            "password": "short",
            "password_again": "other",
            "role": R.REGIONAL_OPERATOR,
            "merchant": "NOPE",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "password_again" in form.errors
    assert "merchant" in form.errors
    # Form-level checks passed for the rest? The service's own answers land on their fields too.
    response = client.post(
        reverse("accounts:user_create"),
        {
            "username": w.members[R.OPERATOR].user.username,
            "password": "short",
            "password_again": "short",
            "role": R.REGIONAL_OPERATOR,
        },
    )
    form = response.context["form"]
    assert "regions" in form.errors
    assert b"is-invalid" in response.content


def test_bu_admin_cannot_create_a_tenant_admin(w):
    client = w.console_client(R.BU_ADMIN)
    response = client.post(
        reverse("accounts:user_create"),
        {
            "username": "boss",
            "password": PASSWORD,
            "password_again": PASSWORD,
            "role": R.TENANT_ADMIN,
        },
    )
    assert response.status_code == 200
    assert "role" in response.context["form"].errors
    assert not Membership.objects.for_tenant(w.tenant).filter(user__username="boss").exists()


def test_membership_edit_changes_role_and_regions(w):
    target = w.members[R.OPERATOR]
    client = w.console_client(R.TENANT_ADMIN)
    response = client.post(
        reverse("accounts:membership_edit", args=[target.pk]),
        {"role": R.REGIONAL_OPERATOR, "regions": [w.other_region.pk], "is_active": "on"},
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == R.REGIONAL_OPERATOR
    assert target.user.has_perm(REGION_PERMISSION, w.other_region)
    entry = AuditEntry.objects.for_tenant(w.tenant).filter(action="membership.update").first()
    assert entry.before["role"] == R.OPERATOR and entry.after["role"] == R.REGIONAL_OPERATOR
    audit = client.get(reverse("accounts:audit_list"), {"action": "membership"}).content.decode()
    assert "membership.update" in audit and "regional_operator" in audit


def test_admin_cannot_demote_themselves(client, w):
    me = w.members[R.TENANT_ADMIN]
    login(client, me)
    response = client.post(
        reverse("accounts:membership_edit", args=[me.pk]),
        {"role": R.AUDITOR, "is_active": "on"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    me.refresh_from_db()
    assert me.role == R.TENANT_ADMIN


def test_business_unit_create(w):
    client = w.console_client(R.TENANT_ADMIN)
    response = client.post(reverse("accounts:business_unit_list"), {"code": "east", "name": "East"})
    assert response.status_code == 302
    response = client.post(
        reverse("accounts:business_unit_list"), {"code": "east", "name": "Again"}
    )
    assert "code" in response.context["form"].errors
    client = w.console_client(R.BU_ADMIN)
    assert (
        client.post(reverse("accounts:business_unit_list"), {"code": "x", "name": "X"}).status_code
        == 403
    )


def test_region_create_and_edit(w):
    client = w.console_client(R.TENANT_ADMIN)
    response = client.post(
        reverse("accounts:region_create"),
        {"code": "north-1", "name": "North 1", "parent": w.region.code},
    )
    assert response.status_code == 302
    region = Region.objects.for_tenant(w.tenant).get(code="north-1")
    assert region.parent == w.region
    # Creating the same code again must not overwrite it silently.
    response = client.post(reverse("accounts:region_create"), {"code": "north-1", "name": "Other"})
    assert "code" in response.context["form"].errors
    response = client.post(
        reverse("accounts:region_edit", args=["north-1"]),
        {"code": "ignored", "name": "North one", "parent": ""},
    )
    assert response.status_code == 302
    region.refresh_from_db()
    assert (region.code, region.name, region.parent) == ("north-1", "North one", None)
    response = client.post(
        reverse("accounts:region_edit", args=[w.region.code]),
        {"name": "Loop", "parent": "north-1"},
    )
    assert response.status_code == 302  # north-1 is no longer below w.region
    response = client.post(
        reverse("accounts:region_edit", args=["north-1"]),
        {"name": "Loop", "parent": "north-1"},
    )
    assert "parent" in response.context["form"].errors


def test_merchant_and_staff_forms(w):
    client = w.console_client(R.TENANT_ADMIN)
    response = client.post(
        reverse("accounts:merchant_create"),
        {"code": "M-NEW", "name": "New shop", "region": w.region.code, "is_active": "on"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:merchant_detail", args=["M-NEW"])
    response = client.post(
        reverse("accounts:staff_create", args=["M-NEW"]),
        {"code": "S-NEW", "name": "Li Lei", "merchant": "M-NEW", "phone": "138", "is_active": "on"},
    )
    assert response.status_code == 302
    staff = MerchantStaff.objects.for_tenant(w.tenant).get(code="S-NEW")
    assert staff.merchant.code == "M-NEW"
    detail = client.get(reverse("accounts:merchant_detail", args=["M-NEW"])).content.decode()
    assert "Li Lei" in detail
    response = client.post(
        reverse("accounts:merchant_edit", args=["M-NEW"]),
        {"name": "Renamed", "region": "NO-SUCH-REGION"},
    )
    assert "region" in response.context["form"].errors


def test_regional_operator_cannot_move_a_merchant_out_of_their_regions(w):
    client = w.console_client(R.REGIONAL_OPERATOR)
    response = client.post(
        reverse("accounts:merchant_edit", args=[w.merchant.code]),
        {"name": "Moved", "region": w.other_region.code, "is_active": "on"},
    )
    assert response.status_code == 200
    assert "region" in response.context["form"].errors
    w.merchant.refresh_from_db()
    assert w.merchant.region == w.region


def test_customer_edit_keeps_fingerprints(w):
    w.customer.device_fingerprint = "dev-1"
    w.customer.save()
    client = w.console_client(R.OPERATOR)
    response = client.post(
        reverse("accounts:customer_edit", args=[w.customer.code]),
        {"name": "Zhang San", "region": w.other_region.code, "tags": "vip, new ,vip"},
    )
    assert response.status_code == 302
    w.customer.refresh_from_db()
    assert w.customer.name == "Zhang San"
    assert w.customer.tags == ["new", "vip"]
    assert w.customer.device_fingerprint == "dev-1"


def test_api_key_is_shown_once_and_revoked_after_confirmation(w):
    client = w.console_client(R.TENANT_ADMIN)
    response = client.post(
        reverse("accounts:api_key_create"), {"name": "ERP", "scopes": ["orders"]}
    )
    assert response.status_code == 200
    key = response.context["key"]
    api_key = ApiKey.objects.for_tenant(w.tenant).get(name="ERP")
    assert key.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    assert api_key.key_hash == ApiKey.digest(key) and api_key.scopes == ["orders"]
    listing = client.get(reverse("accounts:api_key_list")).content.decode()
    assert key not in listing and api_key.prefix in listing
    assert "data-confirm" in listing
    assert client.get(reverse("accounts:api_key_revoke", args=[api_key.pk])).status_code == 405
    assert client.post(reverse("accounts:api_key_revoke", args=[api_key.pk])).status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    response = client.post(reverse("accounts:api_key_create"), {"name": "", "scopes": []})
    assert set(response.context["form"].errors) == {"name", "scopes"}


def test_auditor_cannot_write(w):
    client = w.console_client(R.AUDITOR)
    key, _secret = api_key_create(tenant=w.tenant, actor=w.system, name="k")
    assert client.post(reverse("accounts:api_key_revoke", args=[key.pk])).status_code == 403
    assert client.post(reverse("accounts:user_create"), {}).status_code == 403


def test_audit_filters(w):
    client = w.console_client(R.TENANT_ADMIN)
    api_key_create(tenant=w.tenant, actor=w.actor(R.TENANT_ADMIN), name="audited")
    body = client.get(reverse("accounts:audit_list"), {"action": "api_key"}).content.decode()
    assert "api_key.create" in body
    body = client.get(reverse("accounts:audit_list"), {"action": "user."}).content.decode()
    assert "api_key.create" not in body
    body = client.get(
        reverse("accounts:audit_list"), {"created_min": "2000-01-01", "created_max": "2000-01-02"}
    ).content.decode()
    assert "api_key.create" not in body


# --- login, tenants, portal ---------------------------------------------------------------------------


def test_login_by_email_goes_home(client, w):
    user = w.members[R.OPERATOR].user
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("accounts:home")
    assert client.session[SESSION_TENANT_KEY] == w.tenant.pk


def test_login_of_merchant_staff_goes_to_portal(client, w):
    user = w.members[R.MERCHANT_STAFF].user
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response["Location"] == reverse("portal:home")
    page = client.get(reverse("portal:home")).content.decode()
    assert w.staff.name in page and w.merchant.name in page


def test_wrong_password_and_no_membership_say_why(client, w):
    response = client.post(reverse("accounts:login"), {"username": "nobody", "password": "x"})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    loner = UserFactory(username="loner")
    response = client.post(
        reverse("accounts:login"), {"username": loner.username, "password": PASSWORD}
    )
    assert "not a member" in response.content.decode()


def test_user_of_two_tenants_picks_one(client, w):
    user = w.members[R.OPERATOR].user
    other = TenantFactory(slug="second", name="Second Co")
    second = MembershipFactory(tenant=other, user=user, role=R.AUDITOR)
    response = client.post(
        reverse("accounts:login"),
        {"username": user.username, "password": PASSWORD, "next": reverse("accounts:region_list")},
    )
    assert response["Location"].startswith(reverse("accounts:tenant_pick"))
    # Before choosing, console pages send the user to the picker.
    assert client.get(reverse("accounts:home"))["Location"].startswith(
        reverse("accounts:tenant_pick")
    )
    picker = client.get(response["Location"]).content.decode()
    assert "Second Co" in picker and w.tenant.name in picker
    # A membership that is not the user's own is refused.
    stranger = w.members[R.FINANCE]
    assert (
        client.post(reverse("accounts:tenant_pick"), {"membership": stranger.pk}).status_code == 200
    )
    response = client.post(
        reverse("accounts:tenant_pick"),
        {"membership": second.pk, "next": reverse("accounts:region_list")},
    )
    assert response["Location"] == reverse("accounts:region_list")
    home = client.get(reverse("accounts:home"))
    assert home.context["actor"].tenant == other
    assert reverse("accounts:user_list").encode() in home.content  # auditors read users


def test_portal_staff_without_a_linked_record(w):
    w.staff.user = None
    w.staff.save()
    client = w.console_client(R.MERCHANT_STAFF)
    assert "not linked" in client.get(reverse("portal:home")).content.decode()


def test_portal_merchant_admin_sees_only_their_staff(w):
    mine = StaffFactory(tenant=w.tenant, merchant=w.merchant, name="Mine Zhou")
    theirs = StaffFactory(
        tenant=w.tenant, merchant=MerchantFactory(tenant=w.tenant), name="Not Mine"
    )
    client = w.console_client(R.MERCHANT_ADMIN)
    body = client.get(reverse("portal:staff_list")).content.decode()
    assert mine.name in body and theirs.name not in body


def test_logout_is_post_only(w):
    client = w.console_client(R.OPERATOR)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("accounts:home")).status_code == 302


def test_password_change(client, w):
    member = w.members[R.FINANCE]
    login(client, member)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "wrong",
            "new_password1": "N3w-secret-pass",
            "new_password2": "N3w-secret-pass",
        },
    )
    assert "old_password" in response.context["form"].errors
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "N3w-secret-pass",
            "new_password2": "N3w-secret-pass",
        },
    )
    assert response.status_code == 302
    member.user.refresh_from_db()
    assert member.user.check_password("N3w-secret-pass")


def test_language_switch_shows_chinese(w):
    client = w.console_client(R.TENANT_ADMIN)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/console/"})
    body = client.get(reverse("accounts:user_list")).content.decode()
    assert "用户与角色" in body
    client.post(reverse("set_language"), {"language": "en", "next": "/console/"})
    assert "Users &amp; roles" in client.get(reverse("accounts:user_list")).content.decode()


def test_admin_is_for_superusers_only(client, w):
    staff_user = w.members[R.TENANT_ADMIN].user
    staff_user.is_staff = True
    staff_user.save()
    client.force_login(staff_user)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/accounts/merchant/").status_code == 302
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    assert client.get("/admin/").status_code == 200
    for model in ("merchant", "membership", "region", "merchantstaff", "customer", "apikey"):
        assert client.get(f"/admin/accounts/{model}/").status_code == 200, model
    merchant = Merchant.objects.for_tenant(w.tenant).first()
    assert client.get(f"/admin/accounts/merchant/{merchant.pk}/change/").status_code == 200
    membership = w.members[R.MERCHANT_ADMIN]
    assert client.get(f"/admin/accounts/membership/{membership.pk}/change/").status_code == 200


def test_times_are_shown_in_the_tenant_zone(w):
    w.tenant.time_zone = "America/New_York"
    w.tenant.save()
    client = w.console_client(R.TENANT_ADMIN)
    api_key_create(tenant=w.tenant, actor=w.actor(R.TENANT_ADMIN), name="tz")
    body = client.get(reverse("accounts:audit_list")).content.decode()
    entry = AuditEntry.objects.for_tenant(w.tenant).first()
    local = entry.created_at.astimezone(w.tenant.zone).strftime("%Y-%m-%d %H:%M")
    assert local in body
    assert "America/New_York" in body
