from collections.abc import Callable

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from accounts.models import ApiKeyScope
from web.api.views import ListView, ObjectDetailView, TenantAPIView

from . import selectors, services
from .models import Order
from .serializers import OrderPlaceSerializer, OrderSerializer, OrderStatusSerializer


@extend_schema_view(
    get=extend_schema(
        tags=["orders"],
        parameters=[
            OpenApiParameter(name, str) for name in ("status", "merchant", "staff", "region")
        ],
        responses={200: OrderSerializer(many=True)},
    )
)
class OrderListView(ListView):
    api_key_scope = ApiKeyScope.ORDERS
    selector = staticmethod(selectors.order_list_with_awards)
    output = OrderSerializer

    @extend_schema(
        tags=["orders"],
        request=OrderPlaceSerializer,
        responses={201: OrderSerializer, 200: OrderSerializer},
        description="An order event. The same event again answers 200 with the existing order; "
        "the same external_id with other details answers 409 duplicate_order.",
    )
    def post(self, request):
        data = OrderPlaceSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        order, created = services.order_place(
            tenant=self.tenant, actor=self.actor, facts=data.facts()
        )
        return Response(
            OrderSerializer(order).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema_view(get=extend_schema(tags=["orders"], responses={200: OrderSerializer}))
class OrderDetailView(ObjectDetailView):
    api_key_scope = ApiKeyScope.ORDERS
    getter = staticmethod(selectors.order_get)
    output = OrderSerializer


@extend_schema_view(get=extend_schema(tags=["orders"], responses={200: OrderStatusSerializer}))
class OrderStatusView(ObjectDetailView):
    """The order's status alone: one lookup, for integrators that poll."""

    api_key_scope = ApiKeyScope.ORDERS
    getter = staticmethod(selectors.order_get)
    output = OrderStatusSerializer


# The life-cycle posts take no body and find the order by its external id, where
# ObjectActionView takes a numeric id and a note.
class _OrderActionView(TenantAPIView):
    api_key_scope = ApiKeyScope.ORDERS
    # Not `action`: drf-spectacular reads view.action as a method name.
    service: Callable[..., Order] | None = None

    def post(self, request, external_id):
        order = selectors.order_get(tenant=self.tenant, actor=self.actor, external_id=external_id)
        order = self.service(tenant=self.tenant, actor=self.actor, order=order)
        return Response(OrderSerializer(order).data)


_action_schema = extend_schema_view(
    post=extend_schema(tags=["orders"], request=None, responses={200: OrderSerializer})
)


@_action_schema
class OrderCompleteView(_OrderActionView):
    service = staticmethod(services.order_complete)


@_action_schema
class OrderCloseView(_OrderActionView):
    service = staticmethod(services.order_close)
