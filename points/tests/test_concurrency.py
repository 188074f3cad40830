"""Real threads against PostgreSQL: ranks, caps and the ledger hold under concurrency."""

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial

import pytest

from accounts.tests.factories import StaffFactory
from core.testing import run_at_once
from orders.services import OrderFacts, order_close, order_complete, order_place
from points import services
from points.models import LedgerEntry, OrderAward, PointsAccount

from .factories import program, rule, running_campaign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("concurrency")]

PLACED = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


def _run_at_once(count: int, work) -> list:
    """work(0) … work(count - 1) at once; any error, a refusal included, fails the test."""
    return run_at_once([partial(work, n) for n in range(count)], expected=())


def _facts(world, staff, external_id):
    return OrderFacts(
        external_id=external_id,
        merchant=staff.merchant,
        staff=staff,
        region=world.region,
        amount=Decimal("100.00"),
        placed_at=PLACED,
    )


def test_forty_orders_into_one_region_get_exact_ranks_and_tiers(world):
    prog = program(world, weekly_cap=50)
    campaign = running_campaign(world)
    tiers = [{"from": 1, "to": 10, "points": 5}, {"from": 11, "to": 20, "points": 10}]
    rule(world, campaign, prog, kind="region_first_n", regions=[world.region], tiers=tiers)
    staff = [StaffFactory(tenant=world.tenant, merchant=world.merchant) for _ in range(8)]

    def send(n):
        member = staff[n % len(staff)]
        order, _ = order_place(
            tenant=world.tenant, actor=world.system, facts=_facts(world, member, f"C-{n}")
        )
        if n % 5 == 0:
            order_close(tenant=world.tenant, actor=world.system, order=order)
        elif n % 2 == 0:
            order_complete(tenant=world.tenant, actor=world.system, order=order)

    _run_at_once(40, send)

    awards = list(OrderAward.objects.for_tenant(world.tenant))
    assert sorted(a.rank for a in awards) == list(range(1, 41))  # never two of the same rank
    by_tier = Counter(a.requested for a in awards)
    assert by_tier == {5: 10, 10: 10, 0: 20}
    # Every staff member stays within the weekly cap, counted without cancelled points.
    for account in PointsAccount.objects.for_tenant(world.tenant):
        active = sum(
            a.points for a in awards if a.account_id == account.pk and a.status == "active"
        )
        assert active <= 50
        assert account.pending + account.balance == active
    campaign.budget.refresh_from_db()
    total = sum(a.points for a in awards if a.status == "active")
    assert campaign.budget.reserved + campaign.budget.spent == total * Decimal("0.01")
    assert services.ledger_mismatches() == []


def test_the_same_order_sent_twenty_times_at_once_earns_once(world):
    prog = program(world)
    campaign = running_campaign(world)
    rule(world, campaign, prog, kind="per_order", points=10)
    rule(world, campaign, prog, kind="region_first_n", regions=[world.region],
         tiers=[{"from": 1, "to": 5, "points": 3}])  # fmt: skip

    created = _run_at_once(
        20,
        lambda n: order_place(
            tenant=world.tenant, actor=world.system, facts=_facts(world, world.staff, "SAME")
        )[1],
    )
    assert created.count(True) == 1
    account = PointsAccount.objects.for_tenant(world.tenant).get()
    assert account.pending == 13
    assert LedgerEntry.objects.for_tenant(world.tenant).count() == 2
    assert sorted(OrderAward.objects.for_tenant(world.tenant).values_list("rank", flat=True),
                  key=lambda r: r or 0) == [None, 1]  # fmt: skip
    campaign.budget.refresh_from_db()
    assert campaign.budget.reserved == Decimal("0.13")
    assert services.ledger_mismatches() == []


def test_a_new_holders_first_orders_at_once_open_one_account(world):
    prog = program(world)
    campaign = running_campaign(world)
    rule(world, campaign, prog, kind="per_order", points=10)
    newcomer = StaffFactory(tenant=world.tenant, merchant=world.merchant)

    _run_at_once(
        20,
        lambda n: order_place(
            tenant=world.tenant, actor=world.system, facts=_facts(world, newcomer, f"N-{n}")
        ),
    )
    # One inserts the account; the others wait on its key, then lock the row it committed.
    account = PointsAccount.objects.for_tenant(world.tenant).get(staff=newcomer)
    assert (account.pending, account.lifetime_earned) == (200, 200)
    assert LedgerEntry.objects.for_tenant(world.tenant).filter(account=account).count() == 20
    assert services.ledger_mismatches() == []


def test_spends_transfers_and_expiry_racing_keep_the_ledger_exact(world):
    prog = program(world, transferable=True, expiry_policy="days", expiry_days=1)
    campaign = running_campaign(world)
    rule(world, campaign, prog, kind="per_order", points=10)
    other = StaffFactory(tenant=world.tenant, merchant=world.merchant)
    for n in range(10):
        order, _ = order_place(
            tenant=world.tenant, actor=world.system, facts=_facts(world, world.staff, f"S-{n}")
        )
        order_complete(tenant=world.tenant, actor=world.system, order=order)
    account = PointsAccount.objects.for_tenant(world.tenant).get(staff=world.staff)
    far_future = datetime(2100, 1, 1, tzinfo=UTC)

    def work(n):
        try:
            if n % 3 == 0:
                services.points_spend(tenant=world.tenant, actor=world.system, account=account,
                                      points=7, reference=f"spend-{n}")  # fmt: skip
            elif n % 3 == 1:
                services.points_transfer(tenant=world.tenant, actor=world.system, program=prog,
                                         from_holder=world.staff, to_holder=other, points=4)  # fmt: skip
            else:
                services.points_expire_due(now=far_future if n == 20 else PLACED)
        except Exception as error:
            return type(error).__name__
        return "ok"

    results = _run_at_once(24, work)
    assert set(results) <= {"ok", "RuleRefusal"}
    account.refresh_from_db()
    assert account.balance >= 0
    assert services.ledger_mismatches() == []


def test_rule_and_program_changes_racing_orders_keep_ranks_and_sums_exact(world):
    from accounts.roles import Role
    from points.models import PointsRule, RuleRegionCounter

    prog = program(world)
    campaign = running_campaign(world)
    tiers = [{"from": 1, "to": 40, "points": 5}]
    first_n = rule(world, campaign, prog, kind="region_first_n", regions=[world.region],
                   tiers=tiers, cap_total=1000)  # fmt: skip
    staff = [StaffFactory(tenant=world.tenant, merchant=world.merchant) for _ in range(6)]
    operator = world.actor(Role.OPERATOR)
    orders, changes = 24, 6

    def work(n):
        if n < orders:
            member = staff[n % len(staff)]
            order, _ = order_place(
                tenant=world.tenant, actor=world.system, facts=_facts(world, member, f"R-{n}")
            )
            if n % 4 == 0:
                order_close(tenant=world.tenant, actor=world.system, order=order)
            return
        if n % 2:
            services.program_update(tenant=world.tenant, actor=operator, program=prog,
                                    weekly_cap=500 + n)  # fmt: skip
        else:
            services.rule_update(
                tenant=world.tenant, actor=operator, rule=first_n, cap_total=900 + n,
                cap_per_region=800 + n, tiers=[{"from": 1, "to": 40, "points": 5}],
                regions=[world.region, world.other_region],
            )  # fmt: skip

    _run_at_once(orders + changes, work)

    awards = list(OrderAward.objects.for_tenant(world.tenant))
    assert sorted(a.rank for a in awards) == list(range(1, orders + 1))
    active = sum(a.points for a in awards if a.status == "active")
    assert active == 5 * (orders - orders // 4)
    assert PointsRule.objects.for_tenant(world.tenant).get(pk=first_n.pk).awarded == active
    counter = RuleRegionCounter.objects.for_tenant(world.tenant).get(
        rule=first_n, region=world.region
    )
    assert (counter.orders, counter.awarded) == (orders, active)
    assert services.ledger_mismatches() == []
