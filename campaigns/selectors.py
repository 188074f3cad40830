"""Reads of campaigns and channels, inside the tenant and the actor's data scope (SPEC §7)."""

from django.db.models import QuerySet

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.regions import region_ancestor_ids
from accounts.roles import Action
from core.selectors import filtered, get_visible

from .filters import CampaignFilter
from .models import Campaign, Channel


def campaign_list(*, tenant: Tenant, actor: Actor, filters: dict | None = None) -> QuerySet:
    """Campaigns the actor may read.

    A regional operator sees a campaign when any of its target regions is theirs or lies above
    one of theirs (a campaign for "North" reaches their "Beijing"); a business-unit admin sees
    their unit's campaigns.
    """
    actor.require(Action.CAMPAIGNS_READ)
    qs = Campaign.objects.for_tenant(tenant).select_related("budget", "business_unit", "owner")
    if actor.business_unit_id is not None:
        qs = qs.filter(business_unit_id=actor.business_unit_id)
    if actor.region_ids is not None:
        visible = region_ancestor_ids(tenant=tenant, region_ids=actor.region_ids)
        targeted = Campaign.regions.through.objects.filter(region_id__in=visible)
        qs = qs.filter(pk__in=targeted.values("campaign_id"))
    qs = filtered(CampaignFilter, filters, qs, tenant=tenant)
    return qs.prefetch_related("channels", "regions")


def campaign_get(*, tenant: Tenant, actor: Actor, id: int) -> Campaign:
    return get_visible(campaign_list(tenant=tenant, actor=actor), pk=id)


def channel_list(*, tenant: Tenant, actor: Actor, active_only: bool = False) -> QuerySet:
    actor.require(Action.CAMPAIGNS_READ)
    qs = Channel.objects.for_tenant(tenant)
    return qs.filter(is_active=True) if active_only else qs


def channel_get(*, tenant: Tenant, actor: Actor, code: str) -> Channel:
    return get_visible(channel_list(tenant=tenant, actor=actor), code=code)
