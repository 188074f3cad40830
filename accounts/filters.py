"""Filter bars of the console lists (django-filter). They narrow a selector's queryset, which is
already limited to the tenant and the actor's scope, so a filter can never widen what is seen."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import AuditEntry

from .models import ApiKey, BusinessUnit, Customer, Membership, Merchant, MerchantStaff, Region
from .roles import Role
from .selectors import business_unit_list, region_list


def _regions(request):
    return region_list(tenant=request.actor.tenant, actor=request.actor)


def _units(request):
    return business_unit_list(tenant=request.actor.tenant, actor=request.actor)


class SearchFilterSet(django_filters.FilterSet):
    """A free-text `q` over `search_fields`, plus Bootstrap classes on the filter widgets."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(label=_("Search"), method="search")

    def search(self, queryset, name, value):
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value.strip()})
        return queryset.filter(condition)

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


class MembershipFilter(SearchFilterSet):
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


class BusinessUnitFilter(SearchFilterSet):
    search_fields = ("code", "name")

    class Meta:
        model = BusinessUnit
        fields = ["q"]


class RegionFilter(SearchFilterSet):
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


class MerchantFilter(SearchFilterSet):
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


class StaffFilter(SearchFilterSet):
    search_fields = ("code", "name", "phone")
    is_active = django_filters.BooleanFilter(
        label=_("Status"),
        widget=forms.Select(choices=[("", _("Any status")), *ACTIVE_CHOICES]),
    )

    class Meta:
        model = MerchantStaff
        fields = ["q", "is_active"]


class CustomerFilter(SearchFilterSet):
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


class ApiKeyFilter(SearchFilterSet):
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


class AuditFilter(SearchFilterSet):
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
