"""Filters of the reports' pages. They narrow a selector's queryset, which is already limited to
the tenant and the actor's scope, so a filter can never widen what is seen."""

import django_filters
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from accounts.filters import StaffConsoleFilter

# The sorts a merchant admin may ask for, by the value in `?sort=`: only these reach
# `order_by` (a whitelist), each ending on name and id so paging is stable. Staff with no
# activity yet sort last either way.
STAFF_SORTS = {
    "name": (F("name").asc(), F("code").asc()),
    "-earned": (F("earned").desc(),),
    "earned": (F("earned").asc(),),
    "-balance": (F("balance").desc(),),
    "balance": (F("balance").asc(),),
    "-last_activity": (F("last_activity").desc(nulls_last=True),),
    "last_activity": (F("last_activity").asc(nulls_last=True),),
}
STAFF_SORT_CHOICES = [
    ("name", _("Name")),
    ("-earned", _("Most earned")),
    ("earned", _("Least earned")),
    ("-balance", _("Highest balance")),
    ("balance", _("Lowest balance")),
    ("-last_activity", _("Latest activity")),
    ("last_activity", _("Earliest activity")),
]


def staff_sorted(queryset, sort: str):
    """The overview in the whitelisted order `sort` names (name for anything else)."""
    return queryset.order_by(*STAFF_SORTS.get(sort, STAFF_SORTS["name"]), "name", "pk")


class StaffOverviewFilter(StaffConsoleFilter):
    """The merchant's staff overview: search by name, code or phone, status, and a sort."""

    sort = django_filters.ChoiceFilter(
        label=_("Sort by"), choices=STAFF_SORT_CHOICES, empty_label=None, method="sort_by"
    )

    class Meta(StaffConsoleFilter.Meta):
        fields = ["q", "is_active", "sort"]

    @property
    def form(self):
        form = super().form
        # The portal's fields are thumb-sized, not the console's small ones.
        for field in form.fields.values():
            classes = field.widget.attrs.get("class", "").split()
            field.widget.attrs["class"] = " ".join(c for c in classes if not c.endswith("-sm"))
        return form

    def sort_by(self, queryset, name, value):
        return staff_sorted(queryset, value)

    @property
    def is_filtered(self) -> bool:
        # A sort reorders and hides nothing: it does not make an empty list "no match".
        data = self.form.cleaned_data
        return any(data.get(name) not in (None, "", []) for name in ("q", "is_active"))

    @property
    def sort_value(self) -> str:
        """The sort in effect (the page marks its column)."""
        value = self.form.cleaned_data.get("sort") if self.form.is_valid() else None
        return value if value in STAFF_SORTS else "name"
