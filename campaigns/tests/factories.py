"""Campaigns for tests, made through the services."""

from datetime import timedelta

from django.utils import timezone

from accounts.roles import Role
from campaigns import services
from campaigns.models import Campaign, Channel


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
