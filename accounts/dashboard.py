"""The accounts' panel of the console's home page: the latest audited changes."""

from . import selectors

SHOWN = 8


def recent_changes(request) -> dict:
    actor = request.actor
    entries = selectors.audit_entry_list(tenant=actor.tenant, actor=actor)
    return {"entries": list(entries.order_by("-created_at", "-id")[:SHOWN])}
