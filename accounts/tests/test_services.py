"""Services of accounts: users, roles, grants, master data upserts, API keys — and their audit."""

import threading

import pytest
from django.db import connection
from django.test import RequestFactory
from guardian.shortcuts import get_perms

from accounts import services
from accounts.models import (
    ApiKey,
    Membership,
    Merchant,
    PersonalToken,
    Region,
    Tenant,
)
from accounts.permissions import MERCHANT_PERMISSION, REGION_PERMISSION
from accounts.roles import Role
from accounts.selectors import membership_regions
from accounts.tests.factories import StaffFactory
from campaigns.models import Channel
from core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from core.fingerprints import fingerprint
from core.models import AuditEntry

pytestmark = pytest.mark.django_db
PASSWORD = "Long-enough-42"


def audit(tenant, action):
    return list(AuditEntry.objects.for_tenant(tenant).filter(action=action).order_by("id"))


def create_user(world, *, actor_role=Role.TENANT_ADMIN, **kwargs):
    fields = {"username": "new", "password": PASSWORD, "role": Role.OPERATOR, **kwargs}
    return services.user_create(tenant=world.tenant, actor=world.actor(actor_role), **fields)


class TestTenantCreate:
    def test_tenant_with_channels_and_an_admin_who_logs_in_by_email(self, db):
        tenant = services.tenant_create(
            slug="acme", name="Acme", admin_email="Boss@Acme.test", admin_password=PASSWORD
        )
        assert tenant.time_zone == "Asia/Shanghai" and tenant.currency == "CNY"
        assert Channel.objects.for_tenant(tenant).exists()
        admin = Membership.objects.for_tenant(tenant).get()
        assert admin.role == Role.TENANT_ADMIN
        membership, _token = services.token_issue(
            username="boss@acme.test",
            password=PASSWORD,
            request=RequestFactory().post("/api/v1/auth/token"),  # the login brake needs one
        )
        assert membership == admin
        assert [e.action for e in AuditEntry.objects.for_tenant(tenant).order_by("id")] == [
            "tenant.create",
            "user.create",
        ]

    def test_duplicate_slug_is_refused(self, world):
        with pytest.raises(ValidationFailed):
            services.tenant_create(
                slug="alpha", name="A", admin_email="a@b.test", admin_password=PASSWORD
            )
        assert Tenant.objects.filter(slug="alpha").count() == 1


class TestUserCreate:
    def test_operator(self, world):
        membership = create_user(world)
        assert membership.role == Role.OPERATOR and membership.user.check_password(PASSWORD)
        (entry,) = audit(world.tenant, "user.create")
        assert entry.actor_user == world.members[Role.TENANT_ADMIN].user
        assert entry.before is None
        assert entry.after["role"] == Role.OPERATOR and entry.after["user"] == "new"
        assert "password" not in entry.after

    def test_regional_operator_gets_region_grants(self, world):
        membership = create_user(
            world, role=Role.REGIONAL_OPERATOR, regions=[world.region, world.other_region]
        )
        assert set(membership_regions(membership=membership)) == {world.region, world.other_region}
        assert "operate_region" in get_perms(membership.user, world.region)
        (entry,) = audit(world.tenant, "user.create")
        assert entry.after["regions"] == sorted([world.region.code, world.other_region.code])

    def test_merchant_admin_gets_the_merchant_grant(self, world):
        membership = create_user(world, role=Role.MERCHANT_ADMIN, merchant=world.merchant)
        assert membership.user.has_perm(MERCHANT_PERMISSION, world.merchant)

    def test_merchant_staff_is_linked_to_the_staff_record(self, world):
        staff = StaffFactory(tenant=world.tenant, merchant=world.merchant)
        membership = create_user(
            world, role=Role.MERCHANT_STAFF, merchant=world.merchant, staff=staff
        )
        staff.refresh_from_db()
        assert staff.user == membership.user

    @pytest.mark.parametrize(
        ("role", "extra", "field"),
        [
            (Role.BU_ADMIN, {}, "business_unit"),
            (Role.REGIONAL_OPERATOR, {}, "regions"),
            (Role.OPERATOR, {"regions": "R"}, "regions"),
            (Role.MERCHANT_ADMIN, {}, "merchant"),
            (Role.MERCHANT_STAFF, {}, "merchant"),
            (Role.OPERATOR, {"staff": "S"}, "staff"),
            ("emperor", {}, "role"),
        ],
    )
    def test_role_fields_are_checked(self, world, role, extra, field):
        values = {"R": [world.region], "S": world.staff}
        extra = {k: values[v] for k, v in extra.items()}
        with pytest.raises(ValidationFailed) as raised:
            create_user(world, role=role, **extra)
        assert field in raised.value.fields
        assert not audit(world.tenant, "user.create")

    def test_staff_of_another_merchant_is_refused(self, world):
        other = StaffFactory(tenant=world.tenant)
        with pytest.raises(ValidationFailed) as raised:
            create_user(world, role=Role.MERCHANT_STAFF, merchant=world.merchant, staff=other)
        assert "staff" in raised.value.fields

    def test_username_email_and_password_are_checked(self, world):
        taken = world.members[Role.OPERATOR].user
        with pytest.raises(ValidationFailed) as raised:
            create_user(world, username=taken.username, email=taken.email.upper(), password="123")
        assert set(raised.value.fields) == {"username", "email", "password"}

    @pytest.mark.parametrize(
        "role", [Role.OPERATOR, Role.FINANCE, Role.AUDITOR, Role.MERCHANT_ADMIN]
    )
    def test_only_user_managers(self, world, role):
        with pytest.raises(PermissionDeniedError):
            create_user(world, actor_role=role)

    def test_bu_admin_within_own_unit(self, world):
        membership = create_user(world, actor_role=Role.BU_ADMIN, role=Role.BU_ADMIN)
        assert membership.business_unit == world.unit
        with pytest.raises(PermissionDeniedError):
            create_user(
                world,
                actor_role=Role.BU_ADMIN,
                username="x",
                role=Role.BU_ADMIN,
                business_unit=world.other_unit,
            )
        with pytest.raises(PermissionDeniedError):
            create_user(world, actor_role=Role.BU_ADMIN, username="y", role=Role.TENANT_ADMIN)


class TestMembershipUpdate:
    def update(self, world, membership, **kwargs):
        return services.membership_update(
            tenant=world.tenant,
            actor=world.actor(Role.TENANT_ADMIN),
            membership=membership,
            **kwargs,
        )

    def test_role_and_grants_change_with_before_and_after(self, world):
        membership = world.members[Role.REGIONAL_OPERATOR]
        self.update(world, membership, role=Role.REGIONAL_OPERATOR, regions=[world.other_region])
        assert membership_regions(membership=membership) == [world.other_region]
        self.update(world, membership, role=Role.OPERATOR)
        assert membership_regions(membership=membership) == []
        first, second = audit(world.tenant, "membership.update")
        assert first.before["regions"] == [world.region.code]
        assert first.after["regions"] == [world.other_region.code]
        assert second.before["role"] == Role.REGIONAL_OPERATOR
        assert second.after["role"] == Role.OPERATOR and second.after["regions"] == []

    def test_merchant_admin_moved_to_another_merchant_loses_the_old_grant(self, world):
        membership = world.members[Role.MERCHANT_ADMIN]
        services.membership_update(
            tenant=world.tenant,
            actor=world.actor(Role.TENANT_ADMIN),
            membership=membership,
            role=Role.MERCHANT_ADMIN,
            merchant=world.merchant,
        )
        assert membership.user.has_perm(MERCHANT_PERMISSION, world.merchant)
        other = StaffFactory(tenant=world.tenant).merchant
        self.update(world, membership, role=Role.MERCHANT_ADMIN, merchant=other)
        user = type(membership.user).objects.get(pk=membership.user.pk)  # no perm cache
        assert user.has_perm(MERCHANT_PERMISSION, other)
        assert not user.has_perm(MERCHANT_PERMISSION, world.merchant)

    def test_leaving_the_merchant_staff_role_unlinks_the_staff_record(self, world):
        membership = world.members[Role.MERCHANT_STAFF]
        assert world.staff.user == membership.user
        self.update(world, membership, role=Role.OPERATOR)
        world.staff.refresh_from_db()
        assert world.staff.user is None

    def test_deactivation_drops_tokens(self, world):
        membership = world.members[Role.OPERATOR]
        services.personal_token_create(membership=membership)
        self.update(world, membership, role=Role.OPERATOR, is_active=False)
        assert not PersonalToken.objects.for_tenant(world.tenant).filter(membership=membership)

    def test_nobody_changes_their_own_role(self, world):
        with pytest.raises(ValidationFailed):
            self.update(world, world.members[Role.TENANT_ADMIN], role=Role.AUDITOR)

    def test_bu_admin_cannot_reach_another_unit(self, world):
        with pytest.raises(NotFoundError):
            services.membership_update(
                tenant=world.tenant,
                actor=world.actor(Role.BU_ADMIN),
                membership=world.members[Role.OPERATOR],
                role=Role.AUDITOR,
            )


class TestBusinessUnits:
    def test_create_is_audited_and_codes_are_unique(self, world):
        admin = world.actor(Role.TENANT_ADMIN)
        unit = services.business_unit_create(tenant=world.tenant, actor=admin, code="x", name="X")
        (entry,) = audit(world.tenant, "business_unit.create")
        assert entry.after == {"code": "x", "name": "X"} and entry.object_id == str(unit.pk)
        with pytest.raises(ValidationFailed):
            services.business_unit_create(tenant=world.tenant, actor=admin, code="x", name="Y")


class TestUpserts:
    def test_create_then_update_then_no_op(self, world):
        actor = world.actor(Role.OPERATOR)
        _region, created = services.region_upsert(
            tenant=world.tenant, actor=actor, code="r1", name="One"
        )
        assert created
        _same, created = services.region_upsert(
            tenant=world.tenant, actor=actor, code="r1", name="Uno", parent=world.region
        )
        assert not created
        services.region_upsert(
            tenant=world.tenant, actor=actor, code="r1", name="Uno", parent=world.region
        )
        created_entry, updated_entry = audit(world.tenant, "region.upsert")
        assert created_entry.before is None and created_entry.after["name"] == "One"
        assert updated_entry.before == {"name": "One", "parent": None}
        assert updated_entry.after == {"name": "Uno", "parent": world.region.pk}

    def test_region_cycle_is_refused(self, world):
        actor = world.actor(Role.OPERATOR)
        services.region_upsert(
            tenant=world.tenant, actor=actor, code="child", name="C", parent=world.region
        )
        child = Region.objects.for_tenant(world.tenant).get(code="child")
        with pytest.raises(ValidationFailed):
            services.region_upsert(
                tenant=world.tenant, actor=actor, code=world.region.code, name="N", parent=child
            )

    def test_customer_keeps_fingerprints_and_sorted_tags(self, world):
        customer, _ = services.customer_upsert(
            tenant=world.tenant,
            actor=world.system,
            code="c1",
            tags=["vip", "new", "vip"],
            phone_fingerprint=fingerprint("13800000000"),
        )
        assert customer.tags == ["new", "vip"]
        assert customer.phone_fingerprint == fingerprint("13800000000") != "13800000000"

    def test_staff_upsert_moves_between_merchants_in_scope(self, world):
        staff, created = services.staff_upsert(
            tenant=world.tenant,
            actor=world.actor(Role.REGIONAL_OPERATOR),
            code=world.staff.code,
            name="Renamed",
            merchant=world.merchant,
        )
        assert not created and staff.name == "Renamed"


@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("concurrency")
def test_two_upserts_of_one_new_code_at_once(world, monkeypatch):
    """Both succeed: one creates the row, the other updates it; never an error, never two rows."""
    # Both threads look the code up before either inserts: the race the upsert must survive.
    both_looked = threading.Barrier(2, timeout=5)
    first_save = threading.local()
    real_save = Merchant.save

    def save_after_both_looked(self, *args, **kwargs):
        if not getattr(first_save, "done", False):
            first_save.done = True
            both_looked.wait()
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Merchant, "save", save_after_both_looked)
    results, errors = [], []

    def upsert(name):
        try:
            _row, created = services.merchant_upsert(
                tenant=world.tenant, actor=world.system, code="race", name=name
            )
            results.append(created)
        except Exception as exc:  # collected: the assertion below names it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upsert, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [False, True]
    assert Merchant.objects.for_tenant(world.tenant).filter(code="race").count() == 1


class TestApiKeys:
    def test_create_and_revoke_are_audited_without_the_key(self, world):
        admin = world.actor(Role.TENANT_ADMIN)
        api_key, key = services.api_key_create(
            tenant=world.tenant, actor=admin, name="erp", scopes=["orders"]
        )
        services.api_key_revoke(tenant=world.tenant, actor=admin, api_key=api_key)
        services.api_key_revoke(tenant=world.tenant, actor=admin, api_key=api_key)  # no-op
        (created,) = audit(world.tenant, "api_key.create")
        assert created.after == {"name": "erp", "scopes": ["orders"], "prefix": api_key.prefix}
        assert key.split("_", 2)[2] not in str(created.after)
        (revoked,) = audit(world.tenant, "api_key.revoke")
        assert revoked.before["revoked_at"] is None and revoked.after["revoked_at"]
        assert revoked.actor_user == world.members[Role.TENANT_ADMIN].user
        assert not ApiKey.objects.for_tenant(world.tenant).get().is_active

    def test_bu_admin_holds_no_keys(self, world):
        with pytest.raises(PermissionDeniedError):
            services.api_key_create(tenant=world.tenant, actor=world.actor(Role.BU_ADMIN), name="x")


def test_region_permission_is_object_level(world):
    """Grants live on the region rows (django-guardian), not in global groups."""
    user = world.members[Role.REGIONAL_OPERATOR].user
    assert user.groups.count() == 0
    assert not user.has_perm(REGION_PERMISSION)
    assert user.has_perm(REGION_PERMISSION, world.region)
    assert not user.has_perm(REGION_PERMISSION, world.other_region)
