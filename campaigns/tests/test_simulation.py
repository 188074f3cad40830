"""The simulation replays past orders through the award code: the same orders ingested for real
afterwards earn exactly what it said — holders, points, ranks, outcomes and money."""

import random
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import MerchantFactory, RegionFactory, StaffFactory
from budgets.tests.factories import approved_budget
from campaigns import services
from campaigns.models import CampaignSimulation, CampaignStatus, ShadowAward
from campaigns.simulation import (
    campaign_rules,
    replay,
    shadow_get,
    shadow_runs_refresh,
    window_orders,
)
from campaigns.tests.factories import new_campaign, set_status
from orders.models import Order
from orders.services import OrderFacts, order_close, order_complete, order_place
from points import services as points_services
from points.models import Lot, OrderAward, PointsAccount
from points.tests.factories import program, rule

pytestmark = pytest.mark.django_db


def _design(world, *, budget_amount="2.00"):
    """A tiered first-N rule with a per-region cap, points per amount with a weekly cap per
    holder, a milestone, tiers with multipliers and a weekly program cap, under a budget small
    enough that it runs out midway."""
    today = timezone.localdate()
    budget = approved_budget(
        world, amount=budget_amount, purpose="points",
        starts_on=today - timedelta(days=20), ends_on=today + timedelta(days=20),
    )  # fmt: skip
    now = timezone.now()
    campaign = new_campaign(
        world, budget=budget, starts_at=now - timedelta(days=12), ends_at=now + timedelta(days=5)
    )
    prog = program(
        world,
        weekly_cap=120,
        tiers=[
            {"name": "Bronze", "threshold": 0, "multiplier": "1"},
            {"name": "Silver", "threshold": 60, "multiplier": "1.5"},
        ],
    )
    regions = [world.region, world.other_region] + [
        RegionFactory(tenant=world.tenant, parent=world.region) for _ in range(3)
    ]
    rule(
        world, campaign, prog, regions=regions[:2], kind="region_first_n", cap_per_region=60,
        tiers=[{"from": 1, "to": 3, "points": 10}, {"from": 4, "to": 8, "points": 4}],
    )  # fmt: skip
    rule(
        world, campaign, prog, kind="per_amount", points=1, per_amount=Decimal("50"),
        min_amount=Decimal("20"), cap_per_holder_week=5,
    )  # fmt: skip
    rule(world, campaign, prog, kind="milestone", milestone={"count": 3, "period": "week",
                                                             "points": 7})  # fmt: skip
    return campaign, regions


def _history(world, regions, count=160):
    """Past orders of eight staff, placed while the campaign was a draft (so nothing earned),
    some completed and some closed afterwards."""
    rng = random.Random(11)
    merchants = [world.merchant, MerchantFactory(tenant=world.tenant, region=world.region)]
    staff = [world.staff] + [StaffFactory(tenant=world.tenant, merchant=rng.choice(merchants))
                             for _ in range(7)]  # fmt: skip
    start = timezone.now() - timedelta(days=10)
    plan = []
    for n in range(count):
        member = rng.choice(staff)
        plan.append(
            OrderFacts(
                external_id=f"SIM-{n:04d}",
                merchant=member.merchant,
                staff=member,
                region=rng.choice(regions),
                amount=Decimal(rng.randrange(500, 30000)) / 100,
                placed_at=start + timedelta(minutes=rng.randrange(10 * 24 * 60)),
            )
        )
    plan.sort(key=lambda f: f.placed_at)
    fates = [rng.random() for _ in plan]
    return plan, fates


def _ingest(world, plan, fates):
    orders = [order_place(tenant=world.tenant, actor=world.system, facts=f)[0] for f in plan]
    for order, fate in zip(orders, fates, strict=True):
        if fate < 0.5:
            order_complete(tenant=world.tenant, actor=world.system, order=order)
    for order, fate in zip(orders, fates, strict=True):
        if fate > 0.85:
            order_close(tenant=world.tenant, actor=world.system, order=order)


def test_a_simulated_window_earns_what_the_same_orders_earn_for_real(world):
    campaign, regions = _design(world)
    plan, fates = _history(world, regions)
    _ingest(world, plan, fates)  # the campaign is a draft: history without points
    assert not OrderAward.objects.for_tenant(world.tenant).exists()

    window = (timezone.now() - timedelta(days=11), timezone.now() + timedelta(minutes=1))
    budget_left = campaign.budget.available
    state, simulated = replay(
        tenant=world.tenant, rules=campaign_rules(campaign), start=window[0], end=window[1],
        budget_left=budget_left, keep_awards=True,
    )  # fmt: skip

    # The same orders again, for real, with the campaign running.
    Order.objects.for_tenant(world.tenant).delete()
    set_status(campaign, CampaignStatus.RUNNING)
    _ingest(world, plan, fates)

    real = {
        (a.order.external_id, a.rule_id): (a.account.staff_id, a.rank, a.requested, a.points,
                                           a.outcome, a.status != "active")
        for a in OrderAward.objects.for_tenant(world.tenant).select_related("order", "account")
    }  # fmt: skip
    sim = {
        (a.external_id, a.rule_id): (a.holder_id, a.rank, a.requested, a.points, a.outcome,
                                     a.closed)
        for a in simulated
    }  # fmt: skip
    assert sim == real
    outcomes = {v[4] for v in real.values()}
    # the design exercised what it meant to: caps, tiers past the table, the budget running out
    assert {"awarded", "no_tier", "budget_refused"} <= outcomes and {"partial", "capped"} & outcomes
    assert any(v[5] for v in real.values())  # and closed orders

    campaign.budget.refresh_from_db()
    spent = budget_left - campaign.budget.available
    assert state.money == spent and state.money > 0
    accounts = PointsAccount.objects.for_tenant(world.tenant)
    earned = {a.staff_id: a.lifetime_earned for a in accounts}
    assert {h: s.points for (_p, h), s in state.holders.items() if s.points} == {
        h: p for h, p in earned.items() if p
    }
    assert state.points[campaign_rules(campaign)[0].program_id] == sum(earned.values())


def test_the_check_reports_the_simulation_and_keeps_it_per_version(world):
    campaign, regions = _design(world, budget_amount="1000.00")
    plan, fates = _history(world, regions, count=60)
    _ingest(world, plan, fates)
    last = timezone.localdate(timezone=world.tenant.zone)
    first = last - timedelta(days=11)
    client = world.client(Role.OPERATOR)
    url = f"/api/v1/campaigns/{campaign.pk}/check?from={first}&to={last}"
    body = client.get(url).json()
    simulation = body["simulation"]
    assert (simulation["status"], simulation["total"]) == ("done", 60)
    result = simulation["result"]
    assert result["orders"] == 60
    (points,) = result["programs"]
    assert points["holders_active"] == 8
    assert sum(b["holders"] for b in points["histogram"]) == 8
    assert points["points"] == result["points"] > 0
    assert Decimal(result["money"]) == Decimal(points["money"])
    assert sum(r["holders"] for r in points["regions_unlocked"]) <= points["holders_earning"]

    # The same design and window read the stored result; a changed rule replays again.
    assert client.get(url).json()["simulation"]["id"] == simulation["id"]
    assert CampaignSimulation.objects.for_tenant(world.tenant).count() == 1
    first_rule = campaign_rules(campaign)[0]
    points_services.rule_update(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), rule=first_rule, cap_per_region=30
    )
    replayed = client.get(url).json()["simulation"]
    assert replayed["id"] != simulation["id"]

    # So does an order of the window that closes meanwhile.
    still_open = window_orders(world.tenant, *_window_of(replayed)).filter(status="open").first()
    order_close(tenant=world.tenant, actor=world.system, order=still_open)
    assert client.get(url).json()["simulation"]["id"] != replayed["id"]


def _window_of(simulation: dict) -> tuple[datetime, datetime]:
    window = simulation["window"]
    return datetime.fromisoformat(window["from"]), datetime.fromisoformat(window["to"])


def test_a_big_window_runs_as_a_job_and_reports_progress(world, settings):
    settings.SIMULATION_INLINE_ORDERS = 10
    campaign, regions = _design(world, budget_amount="1000.00")
    plan, fates = _history(world, regions, count=30)
    _ingest(world, plan, fates)
    report = services.campaign_check(tenant=world.tenant, campaign=campaign)
    # eager tasks in this test settings would have run it; either way it is stored once
    stored = CampaignSimulation.objects.for_tenant(world.tenant).get()
    assert stored.total == report["simulation"]["total"]


def test_the_window_is_validated(world):
    campaign, _regions = _design(world)
    client = world.client(Role.OPERATOR)
    url = f"/api/v1/campaigns/{campaign.pk}/check"
    assert client.get(f"{url}?from=2026-11-10").status_code == 400
    assert client.get(f"{url}?from=2026-11-10&to=2026-11-01").status_code == 400
    assert client.get(f"{url}?from=2025-01-01&to=2026-11-01").status_code == 400
    assert client.get(f"{url}?from=2026-11-01&to=2026-11-10").status_code == 200


def test_money_of_the_simulation_is_what_the_lots_hold(world):
    """A second view of the money: the lots of the real ingest carry what the budget paid."""
    campaign, regions = _design(world, budget_amount="1000.00")
    plan, fates = _history(world, regions, count=40)
    _ingest(world, plan, fates)
    state, _awards = replay(
        tenant=world.tenant, rules=campaign_rules(campaign),
        start=timezone.now() - timedelta(days=11), end=timezone.now() + timedelta(minutes=1),
        budget_left=campaign.budget.available,
    )  # fmt: skip
    Order.objects.for_tenant(world.tenant).delete()
    set_status(campaign, CampaignStatus.RUNNING)
    _ingest(world, plan, fates)
    held = (
        Lot.objects.for_tenant(world.tenant)
        .exclude(status__in=["cancelled", "reversed"])
        .aggregate(s=Sum("money"))["s"]
    )
    assert state.money == held


def test_shadow_mode_runs_a_scheduled_campaign_on_live_orders_without_paying(world):
    campaign, regions = _design(world, budget_amount="1000.00")
    now = timezone.now()
    campaign.starts_at, campaign.ends_at = now + timedelta(days=2), now + timedelta(days=9)
    campaign.save()
    services.campaign_schedule(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign,
        acknowledge_warnings=True,
    )  # fmt: skip
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    plan, fates = _history(world, regions, count=40)
    plan = [replace(f, placed_at=timezone.now()) for f in plan]  # live orders, after scheduling
    _ingest(world, plan, fates)
    assert not OrderAward.objects.for_tenant(world.tenant).exists()  # it does not run yet

    assert shadow_runs_refresh() == 1
    shadow = ShadowAward.objects.for_tenant(world.tenant).filter(campaign=campaign)
    assert shadow.filter(points__gt=0).exists()
    assert not PointsAccount.objects.for_tenant(world.tenant).exists()  # nothing paid
    run = shadow_get(campaign)
    assert run["status"] == "done" and run["result"]["points"] == sum(
        shadow.filter(closed=False).values_list("points", flat=True)
    )
    assert shadow_runs_refresh() == 1  # refreshed in place, not doubled
    assert ShadowAward.objects.for_tenant(world.tenant).count() == shadow.count()
    # The campaign page shows it beside the simulation, per day (less than a day: as one day).
    page = world.console_client(Role.OPERATOR).get(reverse("campaigns:detail", args=[campaign.pk]))
    assert f'data-figure="shadow-points">{run["result"]["points"]:,}<' in page.content.decode()

    # On its start the shadow is dropped: from then on its awards are real.
    services.campaigns_advance(now=campaign.starts_at + timedelta(seconds=1))
    assert not ShadowAward.objects.for_tenant(world.tenant).exists()
    assert shadow_get(campaign) is None
