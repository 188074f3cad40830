import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.filters import SearchFilterSet
from accounts.selectors import business_unit_list

from .models import AdjustmentStatus, Budget, BudgetAdjustment, BudgetPurpose, BudgetStatus


class BudgetFilter(django_filters.FilterSet):
    """List filters of the API and the console: status, unit, purpose, and a period to overlap."""

    status = django_filters.MultipleChoiceFilter(choices=BudgetStatus.choices)
    business_unit = django_filters.CharFilter(field_name="business_unit__code")
    purpose = django_filters.ChoiceFilter(choices=BudgetPurpose.choices)
    # A budget is in the period [active_from, active_until] when the two overlap.
    active_from = django_filters.DateFilter(field_name="ends_on", lookup_expr="gte")
    active_until = django_filters.DateFilter(field_name="starts_on", lookup_expr="lte")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Budget
        fields = ["status", "business_unit", "purpose", "active_from", "active_until", "search"]


class AdjustmentFilter(django_filters.FilterSet):
    """The API's adjustment list: by status."""

    status = django_filters.ChoiceFilter(choices=AdjustmentStatus.choices)

    class Meta:
        model = BudgetAdjustment
        fields = ["status"]


def _console_units(request):
    return business_unit_list(tenant=request.actor.tenant, actor=request.actor)


class BudgetConsoleFilter(SearchFilterSet):
    """The console's budget list: search by name, status, unit, purpose, a day inside the period."""

    search_fields = ("name",)
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=BudgetStatus.choices, empty_label=_("Any status")
    )
    business_unit = django_filters.ModelChoiceFilter(
        label=_("Business unit"), queryset=_console_units, empty_label=_("All units")
    )
    purpose = django_filters.ChoiceFilter(
        label=_("Purpose"), choices=BudgetPurpose.choices, empty_label=_("Any purpose")
    )
    active_on = django_filters.DateFilter(
        method="filter_active_on",
        label=_("Active on"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Budget
        fields = ["q", "status", "business_unit", "purpose", "active_on"]

    def filter_active_on(self, queryset, name, value):
        return queryset.filter(starts_on__lte=value, ends_on__gte=value)
