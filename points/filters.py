"""Filters of the points API's lists (django-filter, read by `core.selectors.filtered`). They
narrow a selector's queryset, already limited to the tenant and the actor's scope, so a filter
can never widen what is seen."""

import django_filters
from django.db.models import Q

from core.filters import WholeNumberFilter

from .models import AdjustmentRequestStatus


class EntryFilter(django_filters.FilterSet):
    program = WholeNumberFilter(field_name="account__program_id")


class RuleFilter(django_filters.FilterSet):
    campaign = WholeNumberFilter(field_name="campaign_id")
    program = WholeNumberFilter(field_name="program_id")


class AccountFilter(django_filters.FilterSet):
    program = WholeNumberFilter(field_name="program_id")
    search = django_filters.CharFilter(method="filter_search", strip=False)

    def filter_search(self, queryset, name, value):
        """Part of the holder's code: staff (or their name), merchant or customer."""
        return queryset.filter(
            Q(staff__code__icontains=value)
            | Q(staff__name__icontains=value)
            | Q(merchant__code__icontains=value)
            | Q(customer__code__icontains=value)
        )


class AdjustmentRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AdjustmentRequestStatus.choices)
