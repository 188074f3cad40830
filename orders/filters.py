import django_filters

from accounts.filters import TenantFilterSet

from .models import Order, OrderStatus


class OrderFilter(TenantFilterSet):
    """The API's order list: status, merchant and staff by code, a region and its subtree."""

    # Text values are read as sent, as the list always read them (accounts.filters).
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    merchant = django_filters.CharFilter(field_name="merchant__code", strip=False)
    staff = django_filters.CharFilter(field_name="staff__code", strip=False)
    region = django_filters.CharFilter(method="filter_region_subtree", strip=False)

    class Meta:
        model = Order
        fields = ["status", "merchant", "staff", "region"]
