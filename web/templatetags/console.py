"""Template helpers of the console: role checks, query strings, form fields, audit diffs."""

import json

from django import forms, template
from django.utils.translation import gettext as _

from accounts.roles import Action
from accounts.selectors import membership_regions

register = template.Library()


@register.filter
def can(actor, action: str) -> bool:
    """{% if actor|can:"users.manage" %} — the same check the services make."""
    return actor is not None and actor.can(Action(action))


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with some parameters replaced: {% query page=2 %}."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.inclusion_tag("partials/field.html")
def field(bound_field, **options):
    """One form field with its label, help text and its own error: {% field form.name %}."""
    widget = bound_field.field.widget
    if isinstance(widget, forms.CheckboxSelectMultiple):
        kind = "checks"
    elif isinstance(widget, forms.CheckboxInput):
        kind = "check"
    else:
        kind = "input"
    filterable = bool(widget.attrs.get("data-filterable"))
    return {"field": bound_field, "kind": kind, "filterable": filterable, **options}


@register.filter
def audit_rows(entry) -> list[dict]:
    """The fields of an audit entry, side by side: [{name, before, after, changed}]."""
    before = entry.before or {}
    after = entry.after or {}
    names = list(dict.fromkeys([*before.keys(), *after.keys()]))

    def show(data, name):
        if name not in data:
            return ""
        value = data[name]
        if value is None:
            return "—"
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        return str(value)

    return [
        {
            "name": name,
            "before": show(before, name),
            "after": show(after, name),
            "changed": entry.before is not None and before.get(name) != after.get(name),
        }
        for name in names
    ]


@register.simple_tag(takes_context=True)
def page_numbers(context, page) -> list:
    """Page numbers around the current one, with '…' gaps: 1 2 … 7 8 9 … 40."""
    context["ellipsis"] = page.paginator.ELLIPSIS
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


@register.filter
def granted_regions(membership) -> list:
    """A regional operator's granted regions (one query per regional operator on the page)."""
    return membership_regions(membership=membership)
