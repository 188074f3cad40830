"""Prizes of a points program: created and changed, priced within the program's range of value
per point."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.checks import campaigns_kept_sound, live_campaigns
from core.errors import NotFoundError, ValidationFailed
from core.services import audit_record, snapshot
from coupons.models import CouponBatch
from points.models import PointsProgram

from ..errors import RedemptionErrorCode
from ..models import Prize, PrizeKind
from ._common import _lock_prize, _require_batch_usable

STOCK_MAX = 2**31 - 1  # Prize.stock is a PositiveIntegerField

PRIZE_FIELDS = [
    "name",
    "kind",
    "group",
    "points_cost",
    "value",
    "stock",
    "per_holder_limit",
    "available_from",
    "available_until",
    "coupon_batch",
    "is_active",
]


def _invalid(field_name: str, message: str):
    return ValidationFailed(
        message, code=RedemptionErrorCode.INVALID_PRIZE, fields={field_name: [message]}
    )


def _clean_prize(tenant: Tenant, program, data: dict) -> None:
    if data["points_cost"] < 1:
        raise _invalid("points_cost", _("At least 1 point."))
    if data["value"] < 0:
        raise _invalid("value", _("Not negative."))
    if data["stock"] < 0:
        raise _invalid("stock", _("Not negative."))
    batch = data.get("coupon_batch")
    if data["kind"] == PrizeKind.COUPON and batch is None:
        raise _invalid("coupon_batch", _("A coupon prize needs a coupon batch."))
    if batch is not None and (data["kind"] != PrizeKind.COUPON or batch.tenant_id != tenant.pk):
        raise _invalid("coupon_batch", _("Only a coupon prize names a batch of this tenant."))
    start, end = data.get("available_from"), data.get("available_until")
    if start and end and end <= start:
        raise _invalid("available_until", _("After available_from."))
    # A prize giving more or less money per point than the program allows gives points away or
    # overcharges them. Only the range is checked here: how the value per point moves across
    # the catalogue (dearer prizes may give more) is the campaign check's (SPEC §6).
    if data["value"] > 0:
        per_point = data["value"] / data["points_cost"]
        low, high = program.point_value_min, program.point_value_max
        if not low <= per_point <= high:
            raise _invalid(
                "value",
                _(
                    "%(value)s for %(points)d points gives %(per_point)s a point, outside the "
                    "program's range %(min)s to %(max)s."
                )
                % {
                    "value": f"{data['value']:.2f}",
                    "points": data["points_cost"],
                    "per_point": f"{per_point:.6f}",
                    "min": f"{low:.6f}",
                    "max": f"{high:.6f}",
                },
            )


@transaction.atomic
def prize_create(
    *,
    tenant: Tenant,
    actor: Actor,
    program: PointsProgram,
    name: str,
    kind: str,
    points_cost: int,
    group: str = "",
    value: Decimal = Decimal("0.00"),
    stock: int = 0,
    per_holder_limit: int | None = None,
    available_from: datetime | None = None,
    available_until: datetime | None = None,
    coupon_batch: CouponBatch | None = None,
    is_active: bool = True,
) -> Prize:
    actor.require(Action.CAMPAIGNS_MANAGE)
    data = {
        "name": name,
        "kind": kind,
        "group": group.strip(),
        "points_cost": points_cost,
        "value": value,
        "stock": stock,
        "per_holder_limit": per_holder_limit,
        "available_from": available_from,
        "available_until": available_until,
        "coupon_batch": coupon_batch,
        "is_active": is_active,
    }
    if program.tenant_id != tenant.pk:
        raise NotFoundError(_("Not found."))
    _clean_prize(tenant, program, data)
    _require_batch_usable(tenant, actor, coupon_batch)
    with campaigns_kept_sound(tenant, live_campaigns(tenant, program=program)):
        prize = Prize.objects.create(tenant=tenant, program=program, **data)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="prize.create",
        obj=prize,
        after=snapshot(prize, fields=["program", *PRIZE_FIELDS]),
    )
    return prize


@transaction.atomic
def prize_update(
    *,
    tenant: Tenant,
    actor: Actor,
    prize: Prize,
    **changes,  # a partial update: only the fields sent (of PRIZE_FIELDS) change
) -> Prize:
    """Only the fields sent change; the program and the redeemed count never do."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    unknown = set(changes) - set(PRIZE_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    if "group" in changes:
        changes["group"] = (changes["group"] or "").strip()
    prize = _lock_prize(tenant, prize.pk)
    before = snapshot(prize, fields=PRIZE_FIELDS)
    data = {name: getattr(prize, name) for name in PRIZE_FIELDS} | changes
    if set(changes) - {"is_active"}:  # taking a prize off the shelf is never refused
        _clean_prize(tenant, prize.program, data)
    _require_batch_usable(tenant, actor, changes.get("coupon_batch"))
    for name, value in changes.items():
        setattr(prize, name, value)
    live = [] if changes == {"is_active": False} else live_campaigns(tenant, program=prize.program)
    with campaigns_kept_sound(tenant, live):
        prize.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="prize.update",
        obj=prize,
        before=before,
        after=snapshot(prize, fields=PRIZE_FIELDS),
    )
    return prize


@transaction.atomic
def prize_stock_adjust(
    *, tenant: Tenant, actor: Actor, prize: Prize, delta: int, reason: str
) -> Prize:
    """Stock counted in or written off (a delivery arrived, a unit broke), with its reason in
    the audit log. Redemptions take stock themselves; this never touches `redeemed`. 400 when
    the stock would fall below zero."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    reason = reason.strip()
    if not reason:
        raise _invalid("reason", _("Say why the stock changes."))
    if delta == 0:
        raise _invalid("delta", _("Add or remove at least one."))
    prize = _lock_prize(tenant, prize.pk)
    if prize.stock + delta < 0:
        raise _invalid("delta", _("Only %(stock)d in stock to remove.") % {"stock": prize.stock})
    if prize.stock + delta > STOCK_MAX:  # the column's bound: a clear 400, not a 500
        raise _invalid("delta", _("At most %(max)d in stock.") % {"max": STOCK_MAX})
    before = prize.stock
    prize.stock += delta
    prize.save(update_fields=["stock", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="prize.stock_adjust",
        obj=prize,
        before={"stock": before},
        after={"stock": prize.stock, "delta": delta},
        note=reason,
    )
    return prize
