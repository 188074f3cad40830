import django_filters

from .models import Campaign, CampaignStatus


class CampaignFilter(django_filters.FilterSet):
    """List filters: status, budget, unit, region, channel, a period to overlap, name."""

    status = django_filters.MultipleChoiceFilter(choices=CampaignStatus.choices)
    budget = django_filters.NumberFilter(field_name="budget_id")
    business_unit = django_filters.CharFilter(field_name="business_unit__code")
    region = django_filters.CharFilter(field_name="regions__code", distinct=True)
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
