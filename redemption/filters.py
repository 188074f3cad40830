"""Filter bars of the console's prize pages (django-filter). They narrow a selector's queryset,
which is already limited to the tenant and the actor's scope, so a filter never widens it."""

import django_filters
from django.utils.translation import gettext_lazy as _

from accounts.filters import SearchFilterSet

from .models import FulfilmentStatus, PrizeRedemption, RedemptionStatus

TO_SHIP = "pending"
CANCELLED = "cancelled"
FULFILMENT_CHOICES = [
    (TO_SHIP, _("To ship")),
    (FulfilmentStatus.SHIPPED.value, _("Shipped")),
    (FulfilmentStatus.DELIVERED.value, _("Delivered")),
    (CANCELLED, _("Cancelled")),
]


class FulfilmentConsoleFilter(SearchFilterSet):
    """The fulfilment queue: physical prizes only; by where they stand (the parcels still to
    ship unless told otherwise), and a search over staff code, staff name and prize."""

    search_fields = ("staff__code", "staff__name", "prize__name")
    fulfilment = django_filters.ChoiceFilter(
        label=_("Fulfilment"),
        choices=FULFILMENT_CHOICES,
        empty_label=_("All"),
        method="filter_fulfilment",
    )

    class Meta:
        model = PrizeRedemption
        fields = ["q", "fulfilment"]

    def __init__(self, data=None, *args, **kwargs):
        # No choice in the query string (the first visit): the queue of what is still to ship.
        # "All" sends fulfilment= and so shows everything.
        if data is None or "fulfilment" not in data:
            data = data.copy() if data is not None else {}
            data["fulfilment"] = TO_SHIP
        super().__init__(data, *args, **kwargs)

    @property
    def qs(self):
        # Only redemptions that ship: virtual and coupon prizes have nothing to fulfil.
        return super().qs.exclude(fulfilment_status=FulfilmentStatus.NOT_NEEDED)

    @property
    def is_filtered(self) -> bool:
        return bool(self.form.cleaned_data.get("q"))

    def filter_fulfilment(self, queryset, name, value):
        if value == CANCELLED:
            return queryset.filter(status=RedemptionStatus.CANCELLED)
        return queryset.filter(fulfilment_status=value, status=RedemptionStatus.REDEEMED)
