"""Nobody grants a role or scope wider than their own (issue 12 item 1).

The table: every creator role by every created role by the scopes that role can carry, through the
one service that writes memberships (create and change), and once each through the API and the
console. A business-unit admin gives only the business-unit admin role of their own unit:
operator, finance and auditor reach the whole tenant, a regional operator regions and merchant
users a merchant, none of which a unit contains.
"""

from collections.abc import Callable
from typing import Any

import pytest

from accounts import services
from accounts.models import Membership, User
from accounts.roles import Role
from core.errors import PermissionDeniedError

pytestmark = pytest.mark.django_db
PASSWORD = "Long-enough-42"

# created role → {scope name: scope kwargs built from the world}
SCOPES: dict[str, dict[str, Callable[[Any], dict]]] = {
    Role.TENANT_ADMIN: {"tenant": lambda w: {}},
    Role.BU_ADMIN: {
        "own unit": lambda w: {"business_unit": w.unit},
        "other unit": lambda w: {"business_unit": w.other_unit},
    },
    Role.OPERATOR: {"tenant": lambda w: {}, "own unit": lambda w: {"business_unit": w.unit}},
    Role.FINANCE: {"tenant": lambda w: {}, "own unit": lambda w: {"business_unit": w.unit}},
    Role.AUDITOR: {"tenant": lambda w: {}, "own unit": lambda w: {"business_unit": w.unit}},
    Role.REGIONAL_OPERATOR: {
        "region": lambda w: {"regions": [w.region]},
        "region, own unit": lambda w: {"regions": [w.region], "business_unit": w.unit},
    },
    Role.MERCHANT_ADMIN: {"merchant": lambda w: {"merchant": w.merchant}},
    Role.MERCHANT_STAFF: {"merchant": lambda w: {"merchant": w.merchant}},
}
CASES = [(role, scope) for role, scopes in SCOPES.items() for scope in scopes]
CREATORS = list(Role.values)


def allowed(creator: str, role: str, scope: str) -> bool:
    if creator == Role.TENANT_ADMIN:
        return True
    return creator == Role.BU_ADMIN and role == Role.BU_ADMIN and scope == "own unit"


def expected_code(creator: str) -> str:
    # Roles without user management are refused as such; a BU admin for going beyond their unit.
    return "role_not_grantable" if creator == Role.BU_ADMIN else "permission_denied"


def _new_bu_admin(world) -> Membership:
    """A member every user manager of the world's unit may change."""
    return services.user_create(
        tenant=world.tenant,
        actor=world.system,
        username="target",
        password=PASSWORD,
        role=Role.BU_ADMIN,
        business_unit=world.unit,
    )


@pytest.mark.parametrize("creator", CREATORS)
@pytest.mark.parametrize(("role", "scope"), CASES, ids=[f"{r}-{s}" for r, s in CASES])
def test_create(world, creator, role, scope):
    actor = world.actor(creator)
    kwargs = {"username": "made", "password": PASSWORD, "role": role, **SCOPES[role][scope](world)}
    if allowed(creator, role, scope):
        membership = services.user_create(tenant=world.tenant, actor=actor, **kwargs)
        assert membership.role == role
        return
    with pytest.raises(PermissionDeniedError) as refused:
        services.user_create(tenant=world.tenant, actor=actor, **kwargs)
    assert refused.value.code == expected_code(creator)
    assert not User.objects.filter(username="made").exists()


@pytest.mark.parametrize("creator", CREATORS)
@pytest.mark.parametrize(("role", "scope"), CASES, ids=[f"{r}-{s}" for r, s in CASES])
def test_change(world, creator, role, scope):
    target = _new_bu_admin(world)
    actor = world.actor(creator)
    kwargs = {"role": role, **SCOPES[role][scope](world)}
    if allowed(creator, role, scope):
        services.membership_update(tenant=world.tenant, actor=actor, membership=target, **kwargs)
        target.refresh_from_db()
        assert target.role == role
        return
    with pytest.raises(PermissionDeniedError) as refused:
        services.membership_update(tenant=world.tenant, actor=actor, membership=target, **kwargs)
    assert refused.value.code == expected_code(creator)
    target.refresh_from_db()
    assert (target.role, target.business_unit) == (Role.BU_ADMIN, world.unit)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.FINANCE, Role.AUDITOR])
def test_bu_admin_cannot_change_a_tenant_wide_member_labelled_with_their_unit(world, role):
    # Listed among their unit's users, but its role reaches beyond the unit: even deactivating it
    # (or "narrowing" it to a BU admin) takes a tenant admin.
    member = services.user_create(
        tenant=world.tenant,
        actor=world.actor(Role.TENANT_ADMIN),
        username="labelled",
        password=PASSWORD,
        role=role,
        business_unit=world.unit,
    )
    for change in ({"role": role, "is_active": False}, {"role": Role.BU_ADMIN}):
        with pytest.raises(PermissionDeniedError) as refused:
            services.membership_update(
                tenant=world.tenant,
                actor=world.actor(Role.BU_ADMIN),
                membership=member,
                business_unit=world.unit,
                **change,
            )
        assert refused.value.code == "role_not_grantable"
    member.refresh_from_db()
    assert (member.role, member.is_active) == (role, True)


# --- one API and one console path -------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FINANCE, Role.AUDITOR, Role.OPERATOR])
def test_api_bu_admin_cannot_create_or_promote_to_tenant_wide_roles(world, role):
    client = world.client(Role.BU_ADMIN)
    body = {"username": "made", "password": PASSWORD, "role": role}
    response = client.post("/api/v1/users", body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_grantable"
    assert set(response.json()) >= {"code", "detail", "fields"}
    assert not User.objects.filter(username="made").exists()

    target = _new_bu_admin(world)
    response = client.patch(f"/api/v1/users/{target.pk}", {"role": role}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_grantable"
    target.refresh_from_db()
    assert target.role == Role.BU_ADMIN


def test_console_bu_admin_cannot_create_a_finance_user(world):
    client = world.console_client(Role.BU_ADMIN)
    page = client.get("/console/users/new/")
    assert b'value="finance"' not in page.content  # only grantable roles are offered
    response = client.post(
        "/console/users/new/",
        {
            "username": "made",
            "password": PASSWORD,
            "password_again": PASSWORD,
            "role": Role.FINANCE,
            "business_unit": world.unit.pk,
        },
    )
    assert response.status_code == 200  # the form again, with the refusal
    assert not User.objects.filter(username="made").exists()


def test_console_refusal_comes_from_the_service_too(world):
    # The form hides the choice; the service is what refuses (here without the form's help).
    from accounts.forms import UserCreateForm

    form = UserCreateForm(actor=world.actor(Role.BU_ADMIN))
    assert [value for value, _label in form.fields["role"].choices] == [Role.BU_ADMIN]
    with pytest.raises(PermissionDeniedError):
        services.user_create(
            tenant=world.tenant,
            actor=world.actor(Role.BU_ADMIN),
            username="made",
            password=PASSWORD,
            role=Role.FINANCE,
        )
