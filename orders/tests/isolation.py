"""Where the tenant-isolation test finds the other tenant's identifiers for orders' routes."""

from core.testing import route_param
from orders import api
from orders.models import Order


def _order(world):
    from points.tests.factories import place

    return place(world, external_id=f"{world.tenant.slug}-order")


for view in (api.OrderDetailView, api.OrderStatusView, api.OrderCompleteView, api.OrderCloseView):
    route_param(view, "external_id", Order, field="external_id", make=_order)
