"""Reads every app's selectors share."""

from collections.abc import Mapping

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .errors import NotFoundError, ValidationFailed


def get_visible(queryset: QuerySet, **lookup):
    """The one row of an already scoped queryset the lookup names.

    Missing and out of the actor's scope answer alike, "not found" (the Zulip rule): a client
    learns nothing about rows it may not see.
    """
    row = queryset.filter(**lookup).first()
    if row is None:
        raise NotFoundError(_("Not found."))
    return row


def filtered(filterset_class, filters: Mapping | None, queryset: QuerySet, **options) -> QuerySet:
    """The scoped queryset narrowed by a django-filter FilterSet: the one way list selectors
    read the API's query string and the console's filter form. A value the FilterSet can't
    read (a date that isn't one, an unknown status) is a 400 naming the parameter, never
    silently ignored. `options` go to the FilterSet (e.g. the tenant a region filter walks)."""
    if not filters:
        return queryset
    filterset = filterset_class(filters, queryset=queryset, **options)
    if not filterset.is_valid():
        raise ValidationFailed(
            _("Check the filters."),
            fields={
                name: [str(m) for m in messages] for name, messages in filterset.errors.items()
            },
        )
    return filterset.qs
