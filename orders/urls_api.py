from django.urls import path

from . import api

urlpatterns = [
    path("orders", api.OrderListView.as_view(), name="orders"),
    path("orders/<str:external_id>", api.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:external_id>/status", api.OrderStatusView.as_view(), name="order-status"),
    path(
        "orders/<str:external_id>/complete", api.OrderCompleteView.as_view(), name="order-complete"
    ),
    path("orders/<str:external_id>/close", api.OrderCloseView.as_view(), name="order-close"),
]
