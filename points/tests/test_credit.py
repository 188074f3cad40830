"""points_credit: usable points won (a lottery's points outcome), once per reference."""

import pytest

from points import services
from points.models import EntryKind, LedgerEntry

from .factories import program

pytestmark = pytest.mark.django_db


def test_credit_is_usable_expires_like_earned_points_and_is_idempotent(world):
    prog = program(world, expiry_policy="days", expiry_days=30)
    account = services.account_for_holder(tenant=world.tenant, program=prog, holder=world.staff)
    first = services.points_credit(
        tenant=world.tenant, actor=world.system, account=account, points=40,
        reference="lottery:1:x:win", source="lottery:1",
    )  # fmt: skip
    again = services.points_credit(
        tenant=world.tenant, actor=world.system, account=account, points=40,
        reference="lottery:1:x:win", source="lottery:1",
    )  # fmt: skip
    account.refresh_from_db()
    assert first.pk == again.pk
    assert (account.balance, first.kind, first.money) == (40, EntryKind.ADJUST, 0)
    assert first.created_lots.get().expires_at is not None
    assert LedgerEntry.objects.for_tenant(world.tenant).filter(account=account).count() == 1
    assert services.ledger_mismatches(account_ids=[account.pk]) == []
