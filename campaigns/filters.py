from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.filters import SearchFilterSet
from accounts.models import Region
from accounts.regions import region_ancestor_ids, region_descendant_ids
from accounts.selectors import region_list
from budgets.selectors import budget_list
from core.filters import WholeNumberFilter

from .models import Campaign, CampaignStatus, Channel


def campaigns_running_in(queryset, *, tenant, region_ids) -> object:
    """Campaigns that run in the regions: one targeting a region at, below or above them (a
    campaign for GD runs in its zones; one for all of China runs in GD)."""
    ids = set(region_ids)
    reach = region_descendant_ids(tenant=tenant, region_ids=ids) | region_ancestor_ids(
        tenant=tenant, region_ids=ids
    )
    return queryset.filter(regions__in=reach).distinct()


class CampaignFilter(django_filters.FilterSet):
    """List filters: status, budget, unit, region, channel, a period to overlap, name."""

    status = django_filters.MultipleChoiceFilter(choices=CampaignStatus.choices)
    budget = WholeNumberFilter(field_name="budget_id")
    business_unit = django_filters.CharFilter(field_name="business_unit__code")
    region = django_filters.CharFilter(method="filter_region")
    channel = django_filters.CharFilter(field_name="channels__code", distinct=True)
    active_from = django_filters.IsoDateTimeFilter(field_name="ends_at", lookup_expr="gt")
    active_until = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Campaign
        fields = [
            "status",
            "budget",
            "business_unit",
            "region",
            "channel",
            "active_from",
            "active_until",
            "search",
        ]

    def __init__(self, data=None, *, tenant, **kwargs):
        super().__init__(data, **kwargs)
        self.tenant = tenant

    def filter_region(self, queryset, name, value):
        named = (
            Region.objects.for_tenant(self.tenant).filter(code=value).values_list("pk", flat=True)
        )
        return campaigns_running_in(queryset, tenant=self.tenant, region_ids=named)


def _console_budgets(request):
    return budget_list(tenant=request.actor.tenant, actor=request.actor)


def _console_regions(request):
    return region_list(tenant=request.actor.tenant, actor=request.actor)


def _console_channels(request):
    return Channel.objects.for_tenant(request.actor.tenant)


class CampaignConsoleFilter(SearchFilterSet):
    """The console's campaign list: search, status, budget, region, channel, a day it runs on."""

    search_fields = ("name", "description")
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=CampaignStatus.choices, empty_label=_("Any status")
    )
    budget = django_filters.ModelChoiceFilter(
        label=_("Budget"), queryset=_console_budgets, empty_label=_("All budgets")
    )
    region = django_filters.ModelChoiceFilter(
        label=_("Region"),
        method="filter_region",
        queryset=_console_regions,
        empty_label=_("All regions"),
    )
    channel = django_filters.ModelChoiceFilter(
        label=_("Channel"),
        field_name="channels",
        queryset=_console_channels,
        empty_label=_("All channels"),
        distinct=True,
    )
    running_on = django_filters.DateFilter(
        label=_("Runs on"),
        method="filter_running_on",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Campaign
        fields = ["q", "status", "budget", "region", "channel", "running_on"]

    def filter_region(self, queryset, name, value):
        return campaigns_running_in(
            queryset, tenant=self.request.actor.tenant, region_ids=[value.pk]
        )

    def filter_running_on(self, queryset, name, value):
        zone = self.request.actor.tenant.zone
        start = datetime.combine(value, time.min, tzinfo=zone)
        return queryset.filter(starts_at__lt=start + timedelta(days=1), ends_at__gt=start)
