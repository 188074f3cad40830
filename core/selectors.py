"""Reads every app's selectors share."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .errors import NotFoundError


def get_visible(queryset: QuerySet, **lookup):
    """The one row of an already scoped queryset the lookup names.

    Missing and out of the actor's scope answer alike, "not found" (the Zulip rule): a client
    learns nothing about rows it may not see.
    """
    row = queryset.filter(**lookup).first()
    if row is None:
        raise NotFoundError(_("Not found."))
    return row
