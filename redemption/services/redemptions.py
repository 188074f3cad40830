"""Prizes redeemed for points, and redemptions cancelled (SPEC §4).

Locks are taken in one order: redemption row → prize row (`_lock_prize`); the holder's points
account (inside the points services) and its lots always come last. A prize row lock serialises
every redemption of that prize, so stock and per-holder limits are exact under concurrency.
"""

import uuid

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from core.errors import ConflictError, RuleRefusal, ValidationFailed, invalid_transition
from core.services import audit_record
from points.services import account_for_holder, points_refund, points_spend

from ..errors import RedemptionErrorCode
from ..models import FulfilmentStatus, Prize, PrizeKind, PrizeRedemption, RedemptionStatus
from ._common import _lock_prize, _require_redeemer, _require_staff_program


def _check_available(prize: Prize, now) -> None:
    closed = (
        not prize.is_active
        or (prize.available_from and now < prize.available_from)
        or (prize.available_until and now >= prize.available_until)
    )
    if closed:
        raise RuleRefusal(
            _("This prize is not available now."), code=RedemptionErrorCode.NOT_AVAILABLE
        )


@transaction.atomic
def prize_redeem(
    *,
    tenant: Tenant,
    actor: Actor,
    staff,
    prize: Prize,
    quantity: int = 1,
    shipping_address: str = "",
) -> PrizeRedemption:
    """Spend the holder's points on `quantity` of a prize and take the stock, in one transaction.

    409 out_of_stock, 422 limit_reached / not_available / insufficient_points. A coupon prize
    records the redemption only: coupons belong to customers while a redemption names a staff
    member, so the coupon is handed over outside the platform (SPEC §4 leaves who receives it).
    """
    _require_redeemer(actor, staff)
    if quantity < 1:
        raise ValidationFailed(_("Redeem at least one."), fields={"quantity": [_("At least 1.")]})
    prize = _lock_prize(tenant, prize.pk)
    _check_available(prize, timezone.now())
    _require_staff_program(prize.program)
    if prize.kind == PrizeKind.PHYSICAL and not shipping_address.strip():
        raise ValidationFailed(
            _("Where to ship it?"), fields={"shipping_address": [_("Required.")]}
        )
    if prize.stock < quantity:
        raise ConflictError(_("Out of stock."), code=RedemptionErrorCode.OUT_OF_STOCK)
    account = account_for_holder(tenant=tenant, program=prize.program, holder=staff)
    if prize.per_holder_limit is not None:
        taken = (
            PrizeRedemption.objects.for_tenant(tenant)
            .filter(prize=prize, account=account, status=RedemptionStatus.REDEEMED)
            .aggregate(s=Sum("quantity"))["s"]
            or 0
        )
        if taken + quantity > prize.per_holder_limit:
            raise RuleRefusal(
                _("At most %d per holder.") % prize.per_holder_limit,
                code=RedemptionErrorCode.LIMIT_REACHED,
            )
    points = prize.points_cost * quantity
    spend = points_spend(
        tenant=tenant,
        actor=actor,
        account=account,
        points=points,
        reference=f"prize:{prize.pk}:{uuid.uuid4().hex}",
        source=f"prize:{prize.pk}",
    )
    # Under the row lock this cannot miss; the condition keeps stock from ever going negative.
    took = (
        Prize.objects.for_tenant(tenant)
        .filter(pk=prize.pk, stock__gte=quantity)
        .update(stock=F("stock") - quantity, redeemed=F("redeemed") + quantity)
    )
    if not took:
        raise ConflictError(_("Out of stock."), code=RedemptionErrorCode.OUT_OF_STOCK)
    redemption = PrizeRedemption.objects.create(
        tenant=tenant,
        prize=prize,
        account=account,
        staff=staff,
        quantity=quantity,
        points=points,
        spend_entry=spend,
        shipping_address=shipping_address.strip(),
        fulfilment_status=FulfilmentStatus.PENDING
        if prize.kind == PrizeKind.PHYSICAL
        else FulfilmentStatus.NOT_NEEDED,
        operator_label=actor.label,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="prize.redeem",
        obj=redemption,
        after={"prize": prize.pk, "account": account.pk, "quantity": quantity, "points": points},
    )
    return redemption


@transaction.atomic
def redemption_cancel(
    *, tenant: Tenant, actor: Actor, redemption: PrizeRedemption, note: str = ""
) -> PrizeRedemption:
    """Refund the points and return the stock, once (409 invalid_transition after)."""
    redemption = (
        PrizeRedemption.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("staff", "spend_entry")
        .get(pk=redemption.pk)
    )
    _require_redeemer(actor, redemption.staff)
    if redemption.status != RedemptionStatus.REDEEMED:
        raise invalid_transition("the redemption", redemption.status, RedemptionStatus.CANCELLED)
    prize = _lock_prize(tenant, redemption.prize_id)
    refund = points_refund(
        tenant=tenant,
        actor=actor,
        spend=redemption.spend_entry,
        reference=f"prize_redemption:{redemption.pk}:cancel",
    )
    Prize.objects.for_tenant(tenant).filter(pk=prize.pk).update(
        stock=F("stock") + redemption.quantity, redeemed=F("redeemed") - redemption.quantity
    )
    redemption.status = RedemptionStatus.CANCELLED
    redemption.refund_entry = refund
    redemption.save(update_fields=["status", "refund_entry", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action="prize.redemption_cancel",
        obj=redemption,
        before={"status": RedemptionStatus.REDEEMED},
        after={"status": RedemptionStatus.CANCELLED, "points_refunded": refund.points},
        note=note,
    )
    return redemption
