import django_filters

from .models import Budget, BudgetPurpose, BudgetStatus


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
