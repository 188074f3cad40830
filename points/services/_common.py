"""Helpers shared by the programs, rules and awards modules; not part of the services' API."""

from accounts.models import Tenant
from accounts.permissions import Actor
from core.errors import ValidationFailed, invalid_transition
from core.services import audit_record

from ..engine import keeps_region_counts  # noqa: F401  (the rules and awards modules use it)
from ..errors import PointsErrorCode


def invalid(field_name: str, message: str, code=PointsErrorCode.INVALID_PROGRAM):
    return ValidationFailed(message, code=code, fields={field_name: [message]})


def switch_active(
    tenant: Tenant, actor: Actor, row, is_active: bool, note: str, *, noun: str, label: str
):
    """Turn a locked program or rule on or off, audited. Turning on what is on is 409
    invalid_transition, as for every other life cycle (batches, issuance rules, campaigns)."""
    if row.is_active == is_active:
        states = {True: "active", False: "inactive"}
        raise invalid_transition(label, states[row.is_active], states[is_active])
    row.is_active = is_active
    row.save(update_fields=["is_active", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"{noun}." + ("activate" if is_active else "deactivate"),
        obj=row,
        before={"is_active": not is_active},
        after={"is_active": is_active},
        note=note,
    )
    return row
