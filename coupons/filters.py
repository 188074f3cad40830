"""Filters of the coupons API's lists (django-filter, read by `core.selectors.filtered`). They
narrow a selector's queryset, already limited to the tenant and the actor's scope, so a filter
can never widen what is seen."""

from datetime import UTC, date, datetime, time, timedelta

import django_filters

from accounts.regions import region_subtree_ids
from core.filters import WholeNumberFilter

from .models import BatchStatus, CouponStatus


class BatchFilter(django_filters.FilterSet):
    campaign = WholeNumberFilter(field_name="campaign_id")
    status = django_filters.ChoiceFilter(choices=BatchStatus.choices)


class JobFilter(django_filters.FilterSet):
    batch = WholeNumberFilter(field_name="batch_id")


class CustomerCouponFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CouponStatus.choices)


def _midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class RedemptionFilter(django_filters.FilterSet):
    """Reconciliation: batch, coupon, merchant code, order, and the days redeemed on (`since`
    and `until` both included; days in UTC, as the storage's zone)."""

    batch = WholeNumberFilter(field_name="batch_id")
    coupon = WholeNumberFilter(field_name="coupon_id")
    merchant = django_filters.CharFilter(field_name="merchant__code", strip=False)
    order = django_filters.CharFilter(field_name="order_ref", strip=False)
    since = django_filters.DateFilter(method="filter_since")
    until = django_filters.DateFilter(method="filter_until")

    def filter_since(self, queryset, name, value):
        return queryset.filter(redeemed_at__gte=_midnight_utc(value))

    def filter_until(self, queryset, name, value):
        return queryset.filter(redeemed_at__lt=_midnight_utc(value + timedelta(days=1)))


class ClusterFilter(django_filters.FilterSet):
    """The fraud clusters report over recent events and redemptions: of customers in `region`
    (that region and everything below it), in the last `days` days, fingerprints shared by at
    least `min_customers` customers.

    The two numbers say how far back to count and which clusters to show, not which rows match:
    their filters only check them (a bad one is a 400 as any filter's), `window` reads them."""

    DEFAULT_DAYS = 7
    DEFAULT_MIN_CUSTOMERS = 3
    MAX_DAYS = 36500  # a hundred years is everything (and keeps the date computable)

    days = WholeNumberFilter(method="read_by_window", min_value=0)
    min_customers = WholeNumberFilter(method="read_by_window", min_value=0)
    region = django_filters.CharFilter(method="filter_region", strip=False)

    def __init__(self, data=None, *, tenant, **kwargs):
        super().__init__(data, **kwargs)
        self.tenant = tenant

    def read_by_window(self, queryset, name, value):
        return queryset

    def filter_region(self, queryset, name, value):
        subtree = region_subtree_ids(tenant=self.tenant, codes=[value])
        return queryset.filter(customer__region_id__in=subtree)

    @classmethod
    def window(cls, filters) -> tuple[int, int]:
        """(days, min_customers): as given, at least 1 (days at most MAX_DAYS); the defaults
        when not given. Call it after `filtered` has checked the filters."""
        given = filters or {}
        days, least = (
            cls.base_filters[name].field.clean(given.get(name))
            for name in ("days", "min_customers")
        )
        return (
            cls.DEFAULT_DAYS if days is None else min(max(days, 1), cls.MAX_DAYS),
            cls.DEFAULT_MIN_CUSTOMERS if least is None else max(least, 1),
        )
