"""Campaigns for tests, made through the services."""

from datetime import timedelta

from django.utils import timezone

from accounts.roles import Role
from budgets.tests.factories import approved_budget
from campaigns import services
from campaigns.models import Campaign, CampaignStatus, Channel


def new_campaign(world, *, budget, role=Role.OPERATOR, regions=None, channels=("app",), **kwargs):
    now = timezone.now()
    fields = {
        "name": "Double Eleven",
        "starts_at": now + timedelta(days=1),
        "ends_at": now + timedelta(days=10),
        "regions": regions if regions is not None else [world.region],
        "channels": list(Channel.objects.for_tenant(world.tenant).filter(code__in=channels)),
    }
    fields.update(kwargs)
    return services.campaign_create(
        tenant=world.tenant, actor=world.actor(role), budget=budget, **fields
    )


def set_status(campaign: Campaign, status: str) -> Campaign:
    Campaign.objects.for_tenant(campaign.tenant_id).filter(pk=campaign.pk).update(status=status)
    campaign.refresh_from_db()
    return campaign


def running_campaign(
    world, *, amount="100000.00", purpose="coupons", starts_at=None, ends_at=None, regions=None
) -> Campaign:
    """A campaign running now under an approved budget that covers it: every app's tests build
    theirs here.

    Without a period it started an hour ago and ends in 10 days, created and scheduled through
    the services. With a period (the points tests' November, long begun) it is written running
    directly, because scheduling refuses a start in the past; its life cycle is tested here, in
    campaigns, and elsewhere only its status, period and regions matter.
    """
    regions = regions if regions is not None else [world.region]
    if starts_at is None:
        today = timezone.localdate()
        budget = approved_budget(
            world, amount=amount, purpose=purpose,
            starts_on=today - timedelta(days=2), ends_on=today + timedelta(days=30),
        )  # fmt: skip
        now = timezone.now()
        campaign = services.campaign_create(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), name="Double Eleven",
            budget=budget, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=10),
            regions=regions,
        )  # fmt: skip
        return services.campaign_schedule(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign,
            acknowledge_warnings=True,
        )  # fmt: skip
    budget = approved_budget(world, amount=amount, purpose=purpose)
    campaign = Campaign.objects.create(
        tenant=world.tenant, name="Double Eleven", business_unit=budget.business_unit,
        budget=budget, starts_at=starts_at, ends_at=ends_at, status=CampaignStatus.RUNNING,
    )  # fmt: skip
    campaign.regions.set(regions)
    return campaign
