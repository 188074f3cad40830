"""Filter pieces every app's FilterSets share."""

import django_filters
from django import forms


class WholeNumberFilter(django_filters.NumberFilter):
    """A row id or a count: a whole number (`1.5` is refused, not read as 1)."""

    field_class = forms.IntegerField
