"""Points of the demo tenant (SPEC §9): the staff task-points program, the tiered first-N rule
the Double Eleven review asked for (1st-10th order into a region 5 points, 11th-20th 10 points,
at most 50 a week per staff member), and a month of orders into the 1,111 reward regions —
most completed, some closed after earning. Orders go through the order services, so every point
on the demo is earned, activated, cancelled or reversed by the real rules."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction

from accounts.demo import PORTAL_MERCHANT
from accounts.models import Merchant, MerchantStaff, Region
from campaigns.models import Campaign
from core.demo import DemoContext, demo_step
from orders.selectors import order_list
from orders.services import OrderFacts, order_close, order_complete, order_place

from . import services
from .models import PointsProgram, PointsRule

PROGRAM = "Customer-service task points"
RULE = "First orders into a reward region"
ORDERS = {"tiny": 120, "demo": 800, "full": 30_000}  # demo: ~20 s on SQLite
CHUNK = 250  # orders per transaction: one commit per order is most of SQLite's time


def _program(ctx: DemoContext) -> PointsProgram:
    program = PointsProgram.objects.for_tenant(ctx.tenant).filter(name=PROGRAM).first()
    if program is None:
        program = services.program_create(
            tenant=ctx.tenant,
            actor=ctx.actor,
            name=PROGRAM,
            holder="staff",
            # One value for every point (the review's prizes priced points at 1.7 to 15 a yuan).
            point_value=Decimal("0.200000"),
            expiry_policy="period_end",
            expiry_period="quarter",
            pending_policy="until_completed",
            weekly_cap=50,
            allow_negative=False,
            transferable=True,
            transfer_per_transfer=100,
            transfer_per_month=300,
            tiers=[
                {"name": "Bronze", "threshold": 0, "multiplier": "1"},
                {"name": "Silver", "threshold": 100, "multiplier": "1.2"},
                {"name": "Gold", "threshold": 300, "multiplier": "1.5"},
            ],
        )
    return program


def _rule(ctx: DemoContext, program: PointsProgram, campaign: Campaign) -> PointsRule:
    rule = PointsRule.objects.for_tenant(ctx.tenant).filter(name=RULE).first()
    if rule is None:
        rule = services.rule_create(
            tenant=ctx.tenant,
            actor=ctx.actor,
            campaign=campaign,
            program=program,
            regions=list(Region.objects.for_tenant(ctx.tenant).order_by("code")),
            name=RULE,
            kind="region_first_n",
            tiers=[{"from": 1, "to": 10, "points": 5}, {"from": 11, "to": 20, "points": 10}],
        )
    return rule


@demo_step(order=60)
def seed_points(ctx: DemoContext) -> str:
    tenant = ctx.tenant
    campaign = Campaign.objects.for_tenant(tenant).get(name="Double Eleven")
    program = _program(ctx)
    _rule(ctx, program, campaign)

    rng = ctx.rng("points-orders")
    staff = list(
        MerchantStaff.objects.for_tenant(tenant).select_related("merchant").order_by("code")
    )
    regions = list(Region.objects.for_tenant(tenant).order_by("code"))
    # Orders crowd into some regions (big cities) and trickle into others, so some regions
    # reach the 11th-20th tier and others never pass the 1st.
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(regions))]
    rng.shuffle(regions)
    count = ORDERS.get(ctx.size.name, ORDERS["demo"])
    first_day = datetime.combine(ctx.today - timedelta(days=30), time(8), tzinfo=tenant.zone)
    moments = sorted(
        first_day + timedelta(seconds=rng.randrange(30 * 86_400)) for _ in range(count)
    )
    plan = [
        (
            f"DEMO-ORD-{n:06d}",
            rng.choice(staff),
            rng.choices(regions, weights=weights)[0],
            Decimal(rng.randrange(3_000, 80_000)) / 100,
            placed_at,
            rng.random(),
        )
        for n, placed_at in enumerate(moments)
    ]
    existing = set(order_list(tenant=tenant, actor=ctx.actor).values_list("external_id", flat=True))
    created = completed = closed = 0
    todo = [row for row in plan if row[0] not in existing]
    for start in range(0, len(todo), CHUNK):
        with transaction.atomic():
            for row in todo[start : start + CHUNK]:
                done = _place(ctx, *row)
                created += 1
                completed += done == "completed"
                closed += done == "closed"
    return (
        f"points: {created} orders placed ({completed} completed, {closed} closed), "
        f"{len(plan) - created} already there"
    )


def _place(ctx: DemoContext, external_id, member, region, amount, placed_at, fate) -> str:
    tenant = ctx.tenant
    order, _new = order_place(
        tenant=tenant,
        actor=ctx.actor,
        facts=OrderFacts(
            external_id=external_id,
            merchant=member.merchant,
            staff=member,
            region=region,
            amount=amount,
            placed_at=placed_at,
        ),
    )
    outcome = "open"
    if fate < 0.65:
        order = order_complete(tenant=tenant, actor=ctx.actor, order=order)
        outcome = "completed"
    if fate < 0.05 or fate >= 0.9:  # closed after earning: points reversed or cancelled
        order_close(tenant=tenant, actor=ctx.actor, order=order)
        outcome = "closed"
    return outcome


PORTAL_ORDERS = 10  # per staff member of the portal merchant, at every size
PENDING_DAYS = 3  # orders placed this recently are still open: their points are pending


@demo_step(order=72)  # after the prizes, so the month's service stars stay who they were
def seed_portal_orders(ctx: DemoContext) -> str:
    """A living account for the portal logins: every staff member of the portal merchant
    (demo-staff is its first, demo-merchant-admin sees them all) has orders through the running
    campaign so far, at most the last month, into the zones of the merchant's city, where the
    first-N rule still pays. The older orders are completed (usable points), the last days'
    still open (pending), and one each closed: cancelled before completion or reversed after.
    Ten orders over two weeks stay below the weekly cap, and a city's zones are far from their
    20th order, so the orders earn."""
    tenant = ctx.tenant
    campaign = Campaign.objects.for_tenant(tenant).get(name="Double Eleven")
    merchant = (
        Merchant.objects.for_tenant(tenant).select_related("region").get(code=PORTAL_MERCHANT)
    )
    team = list(MerchantStaff.objects.for_tenant(tenant).filter(merchant=merchant).order_by("code"))
    zones = list(
        Region.objects.for_tenant(tenant)
        .filter(parent_id=merchant.region.parent_id)
        .order_by("code")
    )
    rng = ctx.rng("portal-orders")
    end = datetime.combine(ctx.today, time.min, tzinfo=tenant.zone)
    start = max(campaign.starts_at, end - timedelta(days=30))
    span = (end - start).total_seconds()
    plan = []
    for index, member in enumerate(team):
        closed = rng.randrange(PORTAL_ORDERS // 2)  # one of the older orders
        for n in range(PORTAL_ORDERS):
            # one order in each tenth of the period, so the last is in its last days
            placed_at = start + timedelta(seconds=span * (n + rng.random()) / PORTAL_ORDERS)
            if n == closed:
                fate = "reversed" if index % 2 == 0 else "cancelled"
            elif placed_at > end - timedelta(days=PENDING_DAYS):
                fate = "open"
            else:
                fate = "completed"
            plan.append(
                (
                    f"DEMO-PORTAL-{member.code}-{n + 1:02d}",
                    member,
                    rng.choice(zones),
                    Decimal(rng.randrange(3_000, 80_000)) / 100,
                    placed_at,
                    fate,
                )
            )
    existing = set(
        order_list(tenant=tenant, actor=ctx.actor)
        .filter(external_id__in=[row[0] for row in plan])
        .values_list("external_id", flat=True)
    )
    todo = [row for row in plan if row[0] not in existing]
    with transaction.atomic():
        for external_id, member, region, amount, placed_at, fate in todo:
            order, _new = order_place(
                tenant=tenant,
                actor=ctx.actor,
                facts=OrderFacts(
                    external_id=external_id,
                    merchant=merchant,
                    staff=member,
                    region=region,
                    amount=amount,
                    placed_at=placed_at,
                ),
            )
            if fate in ("completed", "reversed"):
                order = order_complete(tenant=tenant, actor=ctx.actor, order=order)
            if fate in ("reversed", "cancelled"):
                order_close(tenant=tenant, actor=ctx.actor, order=order)
    return (
        f"{PORTAL_MERCHANT} orders: {len(todo)} placed for {len(team)} staff, "
        f"{len(plan) - len(todo)} already there"
    )
