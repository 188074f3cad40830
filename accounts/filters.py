"""List filters (django-filter): the API's query string and the console's filter bars. They narrow
a selector's queryset, which is already limited to the tenant and the actor's scope, so a filter
can never widen what is seen."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from core.models import AuditEntry

from .models import ApiKey, BusinessUnit, Customer, Membership, Merchant, MerchantStaff, Region
from .regions import region_subtree_ids
from .roles import Role


def _containing(queryset: QuerySet, fields, value: str) -> QuerySet:
    """Rows where any of the fields contains the value, case-insensitive."""
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": value})
    return queryset.filter(condition)


# --- the API's list filters ---------------------------------------------------------------------
# `core.selectors.filtered` applies them to the query string. Text values are read as sent
# (`strip=False`), as these lists always read them; a missing or empty value filters nothing.


class TenantFilterSet(django_filters.FilterSet):
    """An API FilterSet that looks the tenant's rows up by code (a region and its subtree)."""

    def __init__(self, data=None, *, tenant, **kwargs):
        super().__init__(data, **kwargs)
        self.tenant = tenant

    def filter_region_subtree(self, queryset, name, value):
        # Naming a region means it and everything below it: merchants, customers and orders
        # sit on the zones. An unknown code names nothing.
        subtree = region_subtree_ids(tenant=self.tenant, codes=[value])
        return queryset.filter(region_id__in=subtree)


class ApiSearchFilterSet(django_filters.FilterSet):
    """`search`: part of any of `search_fields`, case-insensitive."""

    search_fields: tuple[str, ...] = ()
    search = django_filters.CharFilter(method="filter_search", strip=False)

    def filter_search(self, queryset, name, value):
        return _containing(queryset, self.search_fields, value)


class MembershipFilter(ApiSearchFilterSet):
    search_fields = ("user__username", "user__email", "user__first_name")
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["search", "role"]


class RegionFilter(ApiSearchFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = Region
        fields = ["search"]


class MerchantFilter(ApiSearchFilterSet, TenantFilterSet):
    search_fields = ("code", "name")
    region = django_filters.CharFilter(method="filter_region_subtree", strip=False)

    class Meta:
        model = Merchant
        fields = ["search", "region"]


class StaffFilter(ApiSearchFilterSet):
    search_fields = ("code", "name", "phone")
    merchant = django_filters.CharFilter(field_name="merchant__code", strip=False)

    class Meta:
        model = MerchantStaff
        fields = ["search", "merchant"]


class CustomerFilter(ApiSearchFilterSet, TenantFilterSet):
    search_fields = ("code", "name")
    region = django_filters.CharFilter(method="filter_region_subtree", strip=False)

    class Meta:
        model = Customer
        fields = ["search", "region"]


class AuditFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(lookup_expr="startswith", strip=False)
    actor = django_filters.CharFilter(
        field_name="actor_label", lookup_expr="icontains", strip=False
    )
    object_type = django_filters.CharFilter(strip=False)

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "object_type"]


# --- the console's filter bars --------------------------------------------------------------------


def _regions(request):
    from .selectors import region_list  # the selectors import the API's filters above

    return region_list(tenant=request.actor.tenant, actor=request.actor)


def _units(request):
    from .selectors import business_unit_list  # the selectors import the API's filters above

    return business_unit_list(tenant=request.actor.tenant, actor=request.actor)


class SearchFilterSet(django_filters.FilterSet):
    """A free-text `q` over `search_fields`, plus Bootstrap classes on the filter widgets."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(label=_("Search"), method="search")

    def search(self, queryset, name, value):
        return _containing(queryset, self.search_fields, value.strip())

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_styled", False):
            for field in form.fields.values():
                widget = field.widget
                css = (
                    "form-select form-select-sm"
                    if isinstance(widget, forms.Select)
                    else "form-control form-control-sm"
                )
                widget.attrs.setdefault("class", css)
            form.fields["q"].widget.attrs.setdefault("placeholder", _("Search…"))
            form._styled = True
        return form

    @property
    def is_filtered(self) -> bool:
        return any(v not in (None, "", []) for v in self.form.cleaned_data.values())


ACTIVE_CHOICES = [("true", _("Active")), ("false", _("Inactive"))]


class MembershipConsoleFilter(SearchFilterSet):
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name")
    role = django_filters.ChoiceFilter(
        label=_("Role"), choices=Role.choices, empty_label=_("All roles")
    )
    business_unit = django_filters.ModelChoiceFilter(
        label=_("Business unit"), queryset=_units, empty_label=_("All units")
    )
    is_active = django_filters.BooleanFilter(
        label=_("Status"),
        widget=forms.Select(choices=[("", _("Any status")), *ACTIVE_CHOICES]),
    )

    class Meta:
        model = Membership
        fields = ["q", "role", "business_unit", "is_active"]


class BusinessUnitConsoleFilter(SearchFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = BusinessUnit
        fields = ["q"]


class RegionConsoleFilter(SearchFilterSet):
    search_fields = ("code", "name")
    top_level = django_filters.BooleanFilter(
        label=_("Level"),
        field_name="parent",
        lookup_expr="isnull",
        widget=forms.Select(choices=[("", _("All levels")), ("true", _("Top level only"))]),
    )

    class Meta:
        model = Region
        fields = ["q", "top_level"]


class MerchantConsoleFilter(SearchFilterSet):
    search_fields = ("code", "name")
    region = django_filters.ModelChoiceFilter(
        label=_("Region"), queryset=_regions, to_field_name="code", empty_label=_("All regions")
    )
    is_active = django_filters.BooleanFilter(
        label=_("Status"),
        widget=forms.Select(choices=[("", _("Any status")), *ACTIVE_CHOICES]),
    )

    class Meta:
        model = Merchant
        fields = ["q", "region", "is_active"]


class StaffConsoleFilter(SearchFilterSet):
    search_fields = ("code", "name", "phone")
    is_active = django_filters.BooleanFilter(
        label=_("Status"),
        widget=forms.Select(choices=[("", _("Any status")), *ACTIVE_CHOICES]),
    )

    class Meta:
        model = MerchantStaff
        fields = ["q", "is_active"]


class CustomerConsoleFilter(SearchFilterSet):
    search_fields = ("code", "name")
    region = django_filters.ModelChoiceFilter(
        label=_("Region"), queryset=_regions, to_field_name="code", empty_label=_("All regions")
    )
    registered = django_filters.DateFromToRangeFilter(
        label=_("Registered"),
        field_name="registered_on",
        widget=django_filters.widgets.RangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = Customer
        fields = ["q", "region", "registered"]


class ApiKeyConsoleFilter(SearchFilterSet):
    search_fields = ("name", "prefix")
    revoked = django_filters.BooleanFilter(
        label=_("Status"),
        field_name="revoked_at",
        lookup_expr="isnull",
        exclude=True,
        widget=forms.Select(
            choices=[("", _("Any status")), ("false", _("Active")), ("true", _("Revoked"))]
        ),
    )

    class Meta:
        model = ApiKey
        fields = ["q", "revoked"]


class AuditConsoleFilter(SearchFilterSet):
    search_fields = ("object_repr", "object_id", "note")
    action = django_filters.CharFilter(
        label=_("Action"),
        lookup_expr="startswith",
        widget=forms.TextInput(attrs={"placeholder": "user.create"}),
    )
    actor = django_filters.CharFilter(
        label=_("Actor"), field_name="actor_label", lookup_expr="icontains"
    )
    object_type = django_filters.CharFilter(
        label=_("Object type"), widget=forms.TextInput(attrs={"placeholder": "accounts.membership"})
    )
    created = django_filters.DateFromToRangeFilter(
        label=_("Date"),
        field_name="created_at",
        widget=django_filters.widgets.RangeWidget(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEntry
        fields = ["q", "action", "actor", "object_type", "created"]
