"""Campaigns of the demo tenant (SPEC §9): the Double Eleven campaign across every province,
running now, a Guangdong warm-up the regional operator may change, and the review's first
design as a draft the campaign check fails. Through the services, so the check, the schedule
and the audit log are real."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from accounts.models import Membership, Region
from accounts.permissions import Actor
from budgets.models import Budget
from core.demo import DemoContext, demo_step
from points import services as points_services
from redemption import services as redemption_services

from . import services
from .models import Campaign, Channel

OPERATOR = "demo-operator"
REGIONAL = "demo-regional"


def _actor(ctx: DemoContext, username: str) -> Actor:
    membership = Membership.objects.for_tenant(ctx.tenant).get(user__username=username)
    return Actor(tenant=ctx.tenant, membership=membership)


def _at(ctx: DemoContext, days: int) -> datetime:
    return datetime.combine(ctx.today + timedelta(days=days), time.min, tzinfo=ctx.tenant.zone)


@demo_step(order=40)
def seed_campaigns(ctx: DemoContext) -> str:
    tenant = ctx.tenant
    budget = Budget.objects.for_tenant(tenant).get(name="Double Eleven")
    channels = Channel.objects.for_tenant(tenant)
    existing = set(Campaign.objects.for_tenant(tenant).values_list("name", flat=True))
    plans = [
        (
            "Double Eleven",
            OPERATOR,
            "Warm-up new-user coupons, the opening coupon pack, the climax lottery and apology "
            "vouchers, with points for every completed after-sales order.",
            Region.objects.for_tenant(tenant).filter(parent__isnull=True),
            ["app", "wechat", "web", "push", "offline"],
            (-14, 14),
        ),
        (
            "Guangdong warm-up",
            REGIONAL,
            "A regional warm-up the Guangdong operator runs on their own.",
            Region.objects.for_tenant(tenant).filter(code="GD"),
            ["wechat", "offline"],
            (-7, 7),
        ),
    ]
    created = 0
    for name, owner, description, regions, codes, (start, end) in plans:
        if name in existing:
            continue
        actor = _actor(ctx, owner)
        campaign = services.campaign_create(
            tenant=tenant,
            actor=actor,
            name=name,
            description=description,
            budget=budget,
            starts_at=_at(ctx, start),
            ends_at=_at(ctx, end),
            regions=list(regions),
            channels=list(channels.filter(code__in=codes)),
        )
        # its start has passed, so scheduling starts it at once
        services.campaign_schedule(tenant=tenant, actor=actor, campaign=campaign)
        created += 1
    return f"campaigns: {created} created, {len(plans) - created} already there"


FIRST_DESIGN = "Double Eleven as first designed"
FIRST_DESIGN_PROGRAM = "First design: task points"
# The review's catalogue (background/000): a point worth 0.2, 0.067 and 0.59 yuan.
FIRST_DESIGN_PRIZES = [
    ("First design: top-up 5 CNY", "virtual", "Phone top-up", "5.00", 25),
    ("First design: top-up 10 CNY", "virtual", "Phone top-up", "10.00", 150),
    ("First design: iPhone X", "physical", "", "5888.00", 10_000),
]


@demo_step(order=78)  # after the real catalogue, so the console lists it first
def seed_first_design(ctx: DemoContext) -> str:
    """The Double Eleven review's design as it first was: the first order into each of the
    1,111 regions earns 7 points, 7,500 in all, for a catalogue topped by a 10,000-point
    iPhone. A draft under its own program: its check shows what the review found (the prize
    nobody can reach, top-ups cheaper in small pieces, almost nobody earning even the smallest
    prize on the past month's orders); the running Double Eleven campaign is the
    corrected design (first-N tiers, a weekly cap, one value per point), whose check passes."""
    tenant = ctx.tenant
    if Campaign.objects.for_tenant(tenant).filter(name=FIRST_DESIGN).exists():
        return "first design: already there"
    actor = _actor(ctx, OPERATOR)
    regions = list(Region.objects.for_tenant(tenant).order_by("code"))
    campaign = services.campaign_create(
        tenant=tenant, actor=actor, name=FIRST_DESIGN,
        description="The review's first design, kept as a draft to show what the check finds.",
        budget=Budget.objects.for_tenant(tenant).get(name="Double Eleven"),
        starts_at=_at(ctx, 7), ends_at=_at(ctx, 37),
        regions=[r for r in regions if r.parent_id is None],
        channels=list(Channel.objects.for_tenant(tenant).filter(code__in=["app", "offline"])),
    )  # fmt: skip
    program = points_services.program_create(
        tenant=tenant, actor=actor, name=FIRST_DESIGN_PROGRAM, holder="staff",
        # a range wide enough for the review's prices: the check, not the form, finds them out
        point_value=Decimal("0.200000"), point_value_min=Decimal("0.05"),
        point_value_max=Decimal("0.60"),
    )  # fmt: skip
    points_services.rule_create(
        tenant=tenant, actor=actor, campaign=campaign, program=program, regions=regions,
        name="First order into a reward region", kind="region_first_n",
        tiers=[{"from": 1, "to": 1, "points": 7}], cap_total=7_500,
    )  # fmt: skip
    for name, kind, group, value, points_cost in FIRST_DESIGN_PRIZES:
        redemption_services.prize_create(
            tenant=tenant, actor=actor, program=program, name=name, kind=kind, group=group,
            value=Decimal(value), points_cost=points_cost, stock=10,
        )  # fmt: skip
    return "first design: 1 draft campaign with its program, rule and 3 prizes"
