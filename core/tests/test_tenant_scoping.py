import pytest

from accounts.models import Region
from core.models import UnscopedQueryError


@pytest.mark.django_db
class TestTenantScopedManager:
    def test_unscoped_query_refuses_to_run(self, world):
        for run in (
            list,
            len,
            lambda qs: qs.count(),
            lambda qs: qs.exists(),
            lambda qs: qs.first(),
        ):
            with pytest.raises(UnscopedQueryError):
                run(Region.objects.all())

    def test_unscoped_update_and_delete_refuse(self, world):
        with pytest.raises(UnscopedQueryError):
            Region.objects.filter(code="x").update(name="y")
        with pytest.raises(UnscopedQueryError):
            Region.objects.filter(code="x").delete()

    def test_for_tenant_sees_only_its_tenant(self, world, other_world):
        codes = set(Region.objects.for_tenant(world.tenant).values_list("code", flat=True))
        assert codes == {world.region.code, world.other_region.code}

    def test_related_manager_of_a_scoped_row_runs(self, world):
        assert list(world.merchant.staff.all()) == [world.staff]

    def test_exclude_by_tenant_does_not_count_as_scoping(self, world):
        with pytest.raises(UnscopedQueryError):
            list(Region.objects.exclude(tenant=world.tenant))
