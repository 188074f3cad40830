"""The access helpers of accounts.scope, and the write-scope rule of Actor (issue 13, items 3 and 4).

Every helper refuses an object of another tenant as not found, whatever the actor: a caller
that resolved a reference without its tenant is stopped here, as Zulip's helpers assert the
realm. Inside the tenant the actor's regions, unit and merchant decide.
"""

import pytest

from accounts import scope
from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from core.errors import NotFoundError, PermissionDeniedError

ACTORS = ["system", Role.TENANT_ADMIN, Role.REGIONAL_OPERATOR, Role.BU_ADMIN]


def _actor(world, who):
    return world.system if who == "system" else world.actor(who)


def _objects(world):
    """One object per helper: (helper, object of this world)."""
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="C-SCOPE")
    return [
        (lambda actor, obj: scope.require_regions(actor, [obj]), world.region),
        (scope.require_merchant, world.merchant),
        (scope.require_staff, world.staff),
        (scope.require_customer, customer),
        (scope.require_holder, world.staff),
        (scope.require_holder, world.merchant),
        (scope.require_holder, customer),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ACTORS)
def test_an_object_of_another_tenant_is_not_found_by_every_helper(world, other_world, who):
    actor = _actor(world, who)
    for (helper, own), (_helper, foreign) in zip(
        _objects(world), _objects(other_world), strict=True
    ):
        helper(actor, own)  # in the tenant and in scope: passes
        with pytest.raises(NotFoundError):
            helper(actor, foreign)


@pytest.mark.django_db
def test_a_regional_operator_is_refused_another_region(world):
    actor = world.actor(Role.REGIONAL_OPERATOR)
    far = CustomerFactory(tenant=world.tenant, region=world.other_region, code="C-FAR")
    with pytest.raises(NotFoundError):
        scope.require_regions(actor, [world.region, world.other_region])
    with pytest.raises(NotFoundError):
        scope.require_customer(actor, far)
    scope.require_regions(actor, [])  # naming nothing names nothing outside


@pytest.mark.django_db
def test_owns_wholly_is_the_one_write_scope_rule(world):
    region, other = world.region.pk, world.other_region.pk
    regional = world.actor(Role.REGIONAL_OPERATOR)
    assert regional.owns_wholly(region_ids=[region])
    assert not regional.owns_wholly(region_ids=[region, other])
    assert not regional.owns_wholly(region_ids=[])  # names no region: reaches everywhere
    assert regional.owns_wholly(business_unit_id=world.other_unit.pk)  # units don't bound them
    bu_admin = world.actor(Role.BU_ADMIN)
    assert bu_admin.owns_wholly(business_unit_id=world.unit.pk)
    assert not bu_admin.owns_wholly(business_unit_id=world.other_unit.pk)
    assert bu_admin.owns_wholly(region_ids=[other])  # regions don't bound them
    for actor in (world.system, world.actor(Role.TENANT_ADMIN), world.actor(Role.OPERATOR)):
        assert actor.owns_wholly(region_ids=[], business_unit_id=world.other_unit.pk)
    with pytest.raises(PermissionDeniedError) as refused:
        regional.require_owns_wholly(region_ids=[other], message="Not yours.")
    assert refused.value.code == "out_of_scope" and refused.value.detail == "Not yours."
