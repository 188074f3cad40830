"""Campaigns of the demo tenant (SPEC §9): the Double Eleven campaign across every province,
running now, and a Guangdong warm-up the regional operator may change. Through the services,
so the check, the schedule and the audit log are real."""

from datetime import datetime, time, timedelta

from accounts.models import Membership, Region
from accounts.permissions import Actor
from budgets.models import Budget
from core.demo import DemoContext, demo_step

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
