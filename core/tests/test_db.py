import pytest
from django.db import transaction

from accounts.models import Region
from core.db import insert_unless_exists


@pytest.mark.django_db
def test_insert_unless_exists_inserts_once_and_leaves_the_transaction_usable(world):
    def region(name):
        return Region(tenant=world.tenant, code="NEW", name=name)

    with transaction.atomic():
        first = region("first")
        assert insert_unless_exists(first, unique=("tenant", "code"))
        assert first.pk and not first._state.adding
        again = region("second")
        assert not insert_unless_exists(again, unique=("tenant", "code"))
        assert again.pk is None
        # No error was raised, so nothing needs rolling back: the transaction goes on.
        stored = Region.objects.for_tenant(world.tenant).get(code="NEW")
    assert (stored.pk, stored.name) == (first.pk, "first")
    assert stored.created_at and stored.updated_at  # auto_now fields filled as by save()
