"""Points programs: create, change, switch on and off (SPEC §3.1)."""

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.checks import campaigns_kept_sound, live_campaigns
from core.errors import ConflictError, PermissionDeniedError, ValidationFailed
from core.services import audit_record, snapshot

from .. import locks
from ..errors import PointsErrorCode
from ..models import (
    ExpiryPolicy,
    Holder,
    LedgerEntry,
    PendingPolicy,
    PointsProgram,
    PointsRule,
    TierBasis,
    default_point_value_range,
)
from ._common import invalid, switch_active

PROGRAM_FIELDS = [
    "name",
    "holder",
    "point_value",
    "point_value_min",
    "point_value_max",
    "expiry_policy",
    "expiry_days",
    "expiry_period",
    "pending_policy",
    "pending_days",
    "weekly_cap",
    "monthly_cap",
    "allow_negative",
    "transferable",
    "transfer_per_transfer",
    "transfer_per_month",
    "tiers",
    "tier_basis",
    "is_active",
]


def _clean_range(data: dict) -> None:
    """The range of value per point holds the point value itself, above zero (the field is the
    API's `point_value_range`)."""
    value = Decimal(data["point_value"])
    low, high = Decimal(data["point_value_min"]), Decimal(data["point_value_max"])
    figures = {"min": f"{low:.6f}", "max": f"{high:.6f}", "value": f"{value:.6f}"}
    if low <= 0:
        raise invalid("point_value_range", _("The lowest value per point must be above zero."))
    if low > value:
        raise invalid(
            "point_value_range",
            _("The lowest value per point (%(min)s) is above the value of a point (%(value)s).")
            % figures,
        )
    if high < value:
        raise invalid(
            "point_value_range",
            _("The highest value per point (%(max)s) is below the value of a point (%(value)s).")
            % figures,
        )


def _clean_program(data: dict) -> None:
    if Decimal(data["point_value"]) <= 0:
        raise invalid("point_value", _("A point must be worth something."))
    _clean_range(data)
    if data.get("expiry_policy") == ExpiryPolicy.DAYS and not data.get("expiry_days"):
        raise invalid("expiry", _("Say after how many days points expire."))
    if data.get("expiry_policy") == ExpiryPolicy.PERIOD_END and not data.get("expiry_period"):
        raise invalid("expiry", _("Say at the end of which period points expire."))
    if data.get("pending_policy") == PendingPolicy.DAYS and data.get("pending_days") is None:
        raise invalid("pending_days", _("Say for how many days points stay pending."))
    tiers = data.get("tiers") or []
    thresholds = [t["threshold"] for t in tiers]
    if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
        raise invalid("tiers", _("Tier thresholds must rise."))
    if any(Decimal(str(t["multiplier"])) <= 0 for t in tiers):
        raise invalid("tiers", _("A multiplier must be positive."))


@transaction.atomic
def program_create(
    *,
    tenant: Tenant,
    actor: Actor,
    name: str,
    point_value: Decimal,
    holder: str = Holder.STAFF,
    point_value_min: Decimal | None = None,
    point_value_max: Decimal | None = None,
    expiry_policy: str = ExpiryPolicy.NONE,
    expiry_days: int | None = None,
    expiry_period: str = "",
    pending_policy: str = PendingPolicy.UNTIL_COMPLETED,
    pending_days: int | None = None,
    weekly_cap: int | None = None,
    monthly_cap: int | None = None,
    allow_negative: bool = False,
    transferable: bool = False,
    transfer_per_transfer: int | None = None,
    transfer_per_month: int | None = None,
    tiers: Iterable[dict] = (),
    tier_basis: str = TierBasis.LIFETIME,
    is_active: bool = True,
) -> PointsProgram:
    """A new program; the defaults are the model's. An end of the range of value per point not
    given is the point value's ± 20 % (`default_point_value_range`)."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    if Decimal(point_value) > 0:
        low, high = default_point_value_range(point_value)
        point_value_min = low if point_value_min is None else point_value_min
        point_value_max = high if point_value_max is None else point_value_max
    data = {
        "name": name,
        "holder": holder,
        "point_value": point_value,
        "point_value_min": point_value_min,
        "point_value_max": point_value_max,
        "expiry_policy": expiry_policy,
        "expiry_days": expiry_days,
        "expiry_period": expiry_period,
        "pending_policy": pending_policy,
        "pending_days": pending_days,
        "weekly_cap": weekly_cap,
        "monthly_cap": monthly_cap,
        "allow_negative": allow_negative,
        "transferable": transferable,
        "transfer_per_transfer": transfer_per_transfer,
        "transfer_per_month": transfer_per_month,
        "tiers": list(tiers),
        "tier_basis": tier_basis,
        "is_active": is_active,
    }
    _clean_program(data)
    if PointsProgram.objects.for_tenant(tenant).filter(name=name).exists():
        raise invalid("name", _("A program of this name exists."))
    program = PointsProgram.objects.create(tenant=tenant, **data)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_program.create",
        obj=program,
        after=snapshot(program, fields=PROGRAM_FIELDS),
    )
    return program


# A program's point value and pending policy are part of the meaning of points already earned:
# lots carry the money they reserved and a reversal refunds at the point value, and pending lots
# wait either for their order's completion or for a date, by the policy they were earned under.
# Once the program has a ledger entry these two are refused (409 program_in_use); make a new
# program instead. Every other field (expiry, pending days, caps, transfers, tiers, negative
# balances) is read when points are earned, spent or closed, so a change applies from then on
# (lots keep the expiry and activation dates they were given).
# Earning reads the program without a lock, so an order placed in the very instant of the change
# may still earn under the old values; deactivate the program first to rule that out.
LOCKED_ONCE_EARNED = ("point_value", "pending_policy")


def _require_program_in_scope(tenant: Tenant, actor: Actor, program: PointsProgram) -> None:
    """A program serves every rule naming it, so a regional operator or a business-unit admin
    changes it only when every such rule is wholly theirs (SPEC §7: changeable only when all
    are): each rule's regions and its campaign's unit, by `Actor.owns_wholly`."""
    if actor.region_ids is None and actor.business_unit_id is None:
        return
    rules = dict(
        PointsRule.objects.for_tenant(tenant)
        .filter(program=program)
        .values_list("pk", "campaign__business_unit_id")
    )
    if not rules:  # nothing ties it to a scope: a tenant-wide role changes it
        raise PermissionDeniedError(
            _("No rule uses this program yet; a tenant-wide role changes it."),
            code=PointsErrorCode.OUT_OF_SCOPE,
        )
    regions: dict[int, set[int]] = {pk: set() for pk in rules}
    links = PointsRule.regions.through.objects.filter(pointsrule_id__in=list(rules))
    for rule_id, region_id in links.values_list("pointsrule_id", "region_id"):
        regions[rule_id].add(region_id)
    for pk, business_unit_id in rules.items():
        actor.require_owns_wholly(
            region_ids=regions[pk],
            business_unit_id=business_unit_id,
            message=_("Rules outside your scope use this program."),
        )


def _clean_moved_value(program: PointsProgram, changes: dict) -> None:
    """A new point value keeps the range the caller gives with it; given alone, it must still
    fall inside the program's range, which is never moved silently (prizes were priced by it)."""
    if "point_value" not in changes or {"point_value_min", "point_value_max"} & set(changes):
        return
    value = Decimal(changes["point_value"])
    low, high = Decimal(program.point_value_min), Decimal(program.point_value_max)
    if value > 0 and not low <= value <= high:
        raise invalid(
            "point_value_range",
            _(
                "The program's range of value per point, %(min)s to %(max)s, does not hold the new "
                "value of a point (%(value)s); give a new range with it."
            )
            % {"min": f"{low:.6f}", "max": f"{high:.6f}", "value": f"{value:.6f}"},
        )


@transaction.atomic
def program_update(
    *,
    tenant: Tenant,
    actor: Actor,
    program: PointsProgram,
    **changes,  # a partial update: only the fields sent (of PROGRAM_FIELDS) change
) -> PointsProgram:
    actor.require(Action.CAMPAIGNS_MANAGE)
    _require_program_in_scope(tenant, actor, program)
    program = locks.lock_program(tenant, program)
    unknown = set(changes) - set(PROGRAM_FIELDS) | ({"holder"} & set(changes))
    if unknown:
        message = _("These fields cannot be changed: %s.") % ", ".join(sorted(unknown))
        raise ValidationFailed(message, fields={name: [message] for name in unknown})
    before = snapshot(program, fields=PROGRAM_FIELDS)
    changed = {name for name, value in changes.items() if before[name] != value}
    locked = sorted(changed & set(LOCKED_ONCE_EARNED))
    if locked and LedgerEntry.objects.for_tenant(tenant).filter(account__program=program).exists():
        message = _("Points were earned in this program; this would change what they mean.")
        raise ConflictError(
            message, code=PointsErrorCode.PROGRAM_IN_USE, fields={n: [message] for n in locked}
        )
    for name, value in changes.items():
        setattr(program, name, value)
    _clean_moved_value(program, changes)
    _clean_program(snapshot(program, fields=PROGRAM_FIELDS))
    if (
        "name" in changed
        and PointsProgram.objects.for_tenant(tenant)
        .filter(name=program.name)
        .exclude(pk=program.pk)
        .exists()
    ):
        raise invalid("name", _("A program of this name exists."))
    with campaigns_kept_sound(tenant, live_campaigns(tenant, program=program)):
        program.save()
    program.refresh_from_db()  # decimals as stored, for the answer and the audit
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_program.update",
        obj=program,
        before=before,
        after=snapshot(program, fields=PROGRAM_FIELDS),
    )
    return program


def _program_set_active(tenant: Tenant, actor: Actor, program, is_active: bool, note: str):
    actor.require(Action.CAMPAIGNS_MANAGE)
    _require_program_in_scope(tenant, actor, program)
    program = locks.lock_program(tenant, program)
    return switch_active(
        tenant, actor, program, is_active, note, noun="points_program", label=_("points program")
    )


@transaction.atomic
def program_deactivate(*, tenant: Tenant, actor: Actor, program: PointsProgram, note: str = ""):
    """No rule of the program earns any more; points already earned stay and keep their life
    cycle (pending points still activate, usable ones can be spent, transferred, expire)."""
    return _program_set_active(tenant, actor, program, False, note)


@transaction.atomic
def program_activate(*, tenant: Tenant, actor: Actor, program: PointsProgram, note: str = ""):
    return _program_set_active(tenant, actor, program, True, note)
