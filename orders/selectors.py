from collections.abc import Mapping

from django.db.models import QuerySet

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.selectors import filtered, get_visible

from .filters import OrderFilter
from .models import Order


def order_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    """Orders the actor may read: regional operators their regions, merchant users their merchant."""
    actor.require(Action.ORDERS_READ)
    qs = Order.objects.for_tenant(tenant).select_related(
        "merchant", "staff", "region", "customer", "channel"
    )
    if actor.region_ids is not None:
        qs = qs.filter(region_id__in=actor.region_ids)
    if actor.merchant_id is not None:
        qs = qs.filter(merchant_id=actor.merchant_id)
    return filtered(OrderFilter, filters, qs, tenant=tenant)


def order_list_with_awards(
    *, tenant: Tenant, actor: Actor, filters: Mapping | None = None
) -> QuerySet:
    """order_list with each order's awards, fetched for the whole page at once (the API list)."""
    qs = order_list(tenant=tenant, actor=actor, filters=filters)
    return qs.prefetch_related("awards__rule", "awards__lot")


def order_get(*, tenant: Tenant, actor: Actor, external_id: str) -> Order:
    return get_visible(order_list(tenant=tenant, actor=actor), external_id=external_id)
