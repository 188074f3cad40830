from django.db.models import QuerySet

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.regions import region_subtree_ids
from accounts.roles import Action
from core.selectors import get_visible

from .models import Order


def order_list(
    *,
    tenant: Tenant,
    actor: Actor,
    status: str = "",
    merchant: str = "",
    staff: str = "",
    region: str = "",
    placed_after=None,
    placed_before=None,
) -> QuerySet:
    """Orders the actor may read: regional operators their regions, merchant users their merchant."""
    actor.require(Action.ORDERS_READ)
    qs = Order.objects.for_tenant(tenant).select_related(
        "merchant", "staff", "region", "customer", "channel"
    )
    if actor.region_ids is not None:
        qs = qs.filter(region_id__in=actor.region_ids)
    if actor.merchant_id is not None:
        qs = qs.filter(merchant_id=actor.merchant_id)
    filters = {
        "status": status,
        "merchant__code": merchant,
        "staff__code": staff,
        "placed_at__gte": placed_after,
        "placed_at__lt": placed_before,
    }
    if region:  # the region and everything below it
        qs = qs.filter(region_id__in=region_subtree_ids(tenant=tenant, codes=[region]))
    return qs.filter(**{k: v for k, v in filters.items() if v})


def order_get(*, tenant: Tenant, actor: Actor, external_id: str) -> Order:
    return get_visible(order_list(tenant=tenant, actor=actor), external_id=external_id)
