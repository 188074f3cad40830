"""Real threads against PostgreSQL: stock, inventories and points stay exact under concurrent
redemptions and draws."""

from decimal import Decimal
from functools import partial
from unittest import mock

import pytest

from accounts.tests.factories import StaffFactory
from core.testing import run_at_once
from points.models import EntryKind, LedgerEntry, PointsAccount
from points.services import ledger_mismatches
from redemption import services
from redemption.models import LotteryDraw, LotteryOutcome, Prize, PrizeRedemption

from .factories import give_points, lottery, prize

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("concurrency")]


def test_twenty_redemptions_of_five_in_stock(world):
    p = prize(world, stock=5, points_cost=100, value=Decimal("1.00"))
    staff = [StaffFactory(tenant=world.tenant, merchant=world.merchant) for _ in range(4)]
    accounts = [give_points(world, p.program, member, 1000) for member in staff]
    # One holder also redeems twice at once from one account: its balance must stay exact.
    accounts.append(give_points(world, p.program, world.staff, 150))
    staff.append(world.staff)

    def redeem(n):
        services.prize_redeem(
            tenant=world.tenant, actor=world.system, staff=staff[n % len(staff)], prize=p
        )
        return "ok"

    results = run_at_once([partial(redeem, n) for n in range(20)])
    assert results.count("ok") == 5, results
    assert set(results) <= {"ok", "out_of_stock", "insufficient_points"}
    p = Prize.objects.for_tenant(world.tenant).get(pk=p.pk)
    assert (p.stock, p.redeemed) == (0, 5)
    spent = 0
    for account in accounts:
        account.refresh_from_db()
        taken = PrizeRedemption.objects.for_tenant(world.tenant).filter(account=account).count()
        start = 150 if account.staff_id == world.staff.pk else 1000
        assert account.balance == start - 100 * taken
        spent += 100 * taken
    assert spent == 500
    assert ledger_mismatches(account_ids=[a.pk for a in accounts]) == []


def test_concurrent_draws_never_overdraw_an_inventory(world):
    # Every ticket wins the 3-piece outcome while it lasts; the rest must get nothing.
    lot = lottery(
        world,
        cost_points=100,
        outcomes=[
            {"kind": "points", "points": 10, "probability": Decimal("0.9"), "inventory": 3},
            {"kind": "nothing", "probability": Decimal("0.1")},
        ],
        activate=True,
    )
    staff = [StaffFactory(tenant=world.tenant, merchant=world.merchant) for _ in range(4)]
    accounts = [give_points(world, lot.program, member, 300) for member in staff]

    def draw(n):
        return services.lottery_draw(
            tenant=world.tenant, actor=world.system, lottery=lot, staff=staff[n % 4]
        ).outcome.kind

    with mock.patch("secrets.SystemRandom.randrange", return_value=0):  # once: patching is global
        results = run_at_once([partial(draw, n) for n in range(12)])
    assert results.count("points") == 3, results
    assert results.count("nothing") == 9, results
    assert LotteryOutcome.objects.for_tenant(world.tenant).get(kind="points").won == 3
    assert LotteryDraw.objects.for_tenant(world.tenant).count() == 12
    total = 0
    for account in accounts:
        account.refresh_from_db()
        total += account.balance
    assert total == 4 * 300 - 12 * 100 + 3 * 10
    assert ledger_mismatches(account_ids=[a.pk for a in accounts]) == []


def test_forty_holders_race_for_ten_in_stock(world):
    p = prize(world, stock=10, points_cost=100, value=Decimal("1.00"))
    staff = [StaffFactory(tenant=world.tenant, merchant=world.merchant) for _ in range(40)]
    accounts = [give_points(world, p.program, member, 100) for member in staff]

    def redeem(member):
        services.prize_redeem(tenant=world.tenant, actor=world.system, staff=member, prize=p)
        return "ok"

    results = run_at_once([partial(redeem, member) for member in staff])
    assert results.count("ok") == 10, results
    assert results.count("out_of_stock") == 30, results
    p.refresh_from_db()
    assert (p.stock, p.redeemed) == (0, 10)
    balances = sorted(PointsAccount.objects.for_tenant(world.tenant).filter(
        pk__in=[a.pk for a in accounts]).values_list("balance", flat=True))  # fmt: skip
    assert balances == [0] * 10 + [100] * 30
    assert PrizeRedemption.objects.for_tenant(world.tenant).count() == 10
    spends = LedgerEntry.objects.for_tenant(world.tenant).filter(kind=EntryKind.SPEND)
    assert spends.count() == 10
    assert ledger_mismatches(account_ids=[a.pk for a in accounts]) == []


def test_a_double_tap_sent_ten_times_at_once_redeems_once(world):
    p = prize(world, stock=10, points_cost=100, value=Decimal("1.00"))
    account = give_points(world, p.program, world.staff, 1000)

    def tap():
        return services.prize_redeem(
            tenant=world.tenant, actor=world.system, staff=world.staff, prize=p,
            request_key="9f1c-double-tap",
        ).pk  # fmt: skip

    results = run_at_once([tap] * 10)
    assert len(set(results)) == 1, results
    account.refresh_from_db()
    assert account.balance == 900
    p.refresh_from_db()
    assert (p.stock, p.redeemed) == (9, 1)
    assert ledger_mismatches(account_ids=[account.pk]) == []


def test_a_double_tap_on_draw_draws_once(world):
    lot = lottery(world, activate=True)
    account = give_points(world, lot.program, world.staff, 1000)

    def tap():
        return services.lottery_draw(
            tenant=world.tenant, actor=world.system, lottery=lot, staff=world.staff,
            request_key="draw-tap",
        ).pk  # fmt: skip

    results = run_at_once([tap] * 10)
    assert len(set(results)) == 1, results
    assert LotteryDraw.objects.for_tenant(world.tenant).count() == 1
    assert ledger_mismatches(account_ids=[account.pk]) == []
