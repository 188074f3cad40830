"""Prizes redeemed for points, their fulfilment, and redemptions cancelled (SPEC §4).

Locks are taken in one order: redemption row → prize row (`_lock_prize`) → the coupon rows a
coupon prize issues or takes back (coupons' own order) → the holder's points account (inside
the points services) and its lots, always last. A prize row lock serialises every redemption
of that prize, so stock, per-holder limits and request keys are exact under concurrency.
"""

import uuid

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import ConflictError, RuleRefusal, ValidationFailed, invalid_transition
from core.services import audit_record
from coupons.services import coupon_issue_as_reward, coupon_void_reward
from points.errors import PointsErrorCode
from points.services import account_for_holder, points_refund, points_spend

from ..errors import RedemptionErrorCode
from ..models import FulfilmentStatus, Prize, PrizeKind, PrizeRedemption, RedemptionStatus
from ._common import (
    _linked_customer,
    _lock_prize,
    _one_row_per_request_key,
    _replayed,
    _require_redeemer,
    _require_staff_program,
    _throttle,
)


def _check_available(prize: Prize, now) -> None:
    """Inactive, not open yet (its window), or past its redemption deadline: 422 not_available."""
    if not prize.is_active:
        message = _("This prize is not offered any more.")
    elif prize.available_from and now < prize.available_from:
        when = date_format(timezone.localtime(prize.available_from), "DATETIME_FORMAT")
        message = _("This prize can be redeemed from %(when)s.") % {"when": when}
    elif prize.available_until and now >= prize.available_until:
        when = date_format(timezone.localtime(prize.available_until), "DATETIME_FORMAT")
        message = _("The deadline to redeem this prize passed on %(when)s.") % {"when": when}
    else:
        return
    raise RuleRefusal(message, code=RedemptionErrorCode.NOT_AVAILABLE)


def _check_holder_limit(tenant: Tenant, prize: Prize, account, quantity: int) -> None:
    if prize.per_holder_limit is None:
        return
    taken = (
        PrizeRedemption.objects.for_tenant(tenant)
        .filter(prize=prize, account=account, status=RedemptionStatus.REDEEMED)
        .aggregate(s=Sum("quantity"))["s"]
        or 0
    )
    if taken + quantity > prize.per_holder_limit:
        raise RuleRefusal(
            _("At most %(limit)d per person; you have %(taken)d.")
            % {"limit": prize.per_holder_limit, "taken": taken},
            code=RedemptionErrorCode.LIMIT_REACHED,
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
    request_key: str = "",
) -> PrizeRedemption:
    """Spend the holder's points on `quantity` of a prize and take the stock, in one transaction.

    409 out_of_stock; 422 limit_reached, not_available (inactive, not open yet, past its
    deadline), insufficient_points, no_linked_customer (a coupon prize for a holder whose
    merchant has no customer record); 429 throttled. A coupon prize (one at a time) issues a
    coupon from its batch to the customer record of the holder's merchant (SPEC §4). A retry with the
    same `request_key` returns the first redemption and spends nothing more.
    """
    _require_redeemer(actor, staff)
    if quantity < 1:
        raise ValidationFailed(_("Redeem at least one."), fields={"quantity": [_("At least 1.")]})
    prize = _lock_prize(tenant, prize.pk)
    account = account_for_holder(tenant=tenant, program=prize.program, holder=staff)
    replay = _replayed(PrizeRedemption, tenant, account, request_key, prize_id=prize.pk)
    if replay is not None:
        return replay
    _throttle(actor, "prize_redeem", staff)
    _check_available(prize, timezone.now())
    _require_staff_program(prize.program)
    if prize.kind == PrizeKind.PHYSICAL and not shipping_address.strip():
        raise ValidationFailed(
            _("Where to ship it?"), fields={"shipping_address": [_("Required.")]}
        )
    customer = None
    if prize.kind == PrizeKind.COUPON:
        if quantity != 1:  # one redemption shows one code; a second coupon is a second tap
            raise ValidationFailed(
                _("Coupons are redeemed one at a time."), fields={"quantity": [_("1.")]}
            )
        customer = _linked_customer(staff)
    if prize.stock < quantity:
        raise ConflictError(_("Out of stock."), code=RedemptionErrorCode.OUT_OF_STOCK)
    _check_holder_limit(tenant, prize, account, quantity)
    points = prize.points_cost * quantity
    if account.balance < points:  # before any coupon is issued; the spend checks again
        raise RuleRefusal(
            _("This needs %(points)d points; you have %(balance)d.")
            % {"points": points, "balance": account.balance},
            code=PointsErrorCode.INSUFFICIENT_POINTS,
        )
    coupon = None
    if customer is not None:
        assert prize.coupon_batch is not None, "a coupon prize names its batch (prize_coupon_batch)"
        coupon = coupon_issue_as_reward(tenant=tenant, batch=prize.coupon_batch, customer=customer)
    spend = points_spend(
        tenant=tenant,
        actor=actor,
        account=account,
        points=points,
        reference=f"prize:{prize.pk}:{request_key or uuid.uuid4().hex}:{account.pk}",
        source=f"prize:{prize.pk}",
        reason=f"{prize.name} x {quantity}" if quantity > 1 else prize.name,
    )
    # Under the row lock this cannot miss; the condition keeps stock from ever going negative.
    took = (
        Prize.objects.for_tenant(tenant)
        .filter(pk=prize.pk, stock__gte=quantity)
        .update(stock=F("stock") - quantity, redeemed=F("redeemed") + quantity)
    )
    if not took:
        raise ConflictError(_("Out of stock."), code=RedemptionErrorCode.OUT_OF_STOCK)
    with _one_row_per_request_key():
        redemption = PrizeRedemption.objects.create(
            tenant=tenant,
            prize=prize,
            account=account,
            staff=staff,
            quantity=quantity,
            points=points,
            spend_entry=spend,
            request_key=request_key,
            coupon=coupon,
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
        after={
            "prize": prize.pk,
            "account": account.pk,
            "quantity": quantity,
            "points": points,
            "coupon": coupon.pk if coupon else None,
        },
    )
    return redemption


def _lock_redemption(tenant: Tenant, redemption: PrizeRedemption) -> PrizeRedemption:
    return (
        PrizeRedemption.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("staff__merchant", "spend_entry", "prize", "coupon")
        .get(pk=redemption.pk)
    )


def _require_may_cancel(actor: Actor, redemption: PrizeRedemption) -> None:
    """The holder until a physical prize ships; an operator until it is delivered (409)."""
    if redemption.status != RedemptionStatus.REDEEMED:
        raise invalid_transition("the redemption", redemption.status, RedemptionStatus.CANCELLED)
    is_holder = actor.user is not None and redemption.staff.user_id == actor.user.pk
    allowed = redemption.holder_may_cancel if is_holder else redemption.operator_may_cancel
    if not allowed:
        raise ConflictError(
            _("This redemption can no longer be cancelled."),
            code=RedemptionErrorCode.NOT_CANCELLABLE,
        )


@transaction.atomic
def redemption_cancel(
    *, tenant: Tenant, actor: Actor, redemption: PrizeRedemption, note: str = ""
) -> PrizeRedemption:
    """Refund the points, return the stock and take back an unused prize coupon, once (409
    invalid_transition after; 409 not_cancellable once shipped for the holder, delivered for
    an operator; 409 coupon_used when the coupon was redeemed)."""
    redemption = _lock_redemption(tenant, redemption)
    _require_redeemer(actor, redemption.staff)
    _require_may_cancel(actor, redemption)
    prize = _lock_prize(tenant, redemption.prize_id)
    if redemption.coupon is not None:
        coupon_void_reward(tenant=tenant, coupon=redemption.coupon)
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
    redemption.cancelled_at = timezone.now()
    redemption.save(update_fields=["status", "refund_entry", "cancelled_at", "updated_at"])
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


def _fulfilment_move(
    tenant: Tenant,
    actor: Actor,
    redemption: PrizeRedemption,
    source: str,
    target: str,
    note: str,
    **fields,
) -> PrizeRedemption:
    actor.require(Action.CAMPAIGNS_MANAGE)
    redemption = _lock_redemption(tenant, redemption)
    data_scope.require_staff(actor, redemption.staff)  # a regional operator: their regions
    if redemption.status != RedemptionStatus.REDEEMED or redemption.fulfilment_status != source:
        current = redemption.fulfilment_status or redemption.status
        raise invalid_transition("the redemption", current, target)
    redemption.fulfilment_status = target
    for name, value in fields.items():
        setattr(redemption, name, value)
    redemption.save(update_fields=["fulfilment_status", *fields, "updated_at"])
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"prize.redemption_{target}",
        obj=redemption,
        before={"fulfilment_status": source},
        after={"fulfilment_status": target, **{k: str(v) for k, v in fields.items()}},
        note=note,
    )
    return redemption


@transaction.atomic
def redemption_ship(
    *,
    tenant: Tenant,
    actor: Actor,
    redemption: PrizeRedemption,
    carrier: str,
    tracking_number: str,
    note: str = "",
) -> PrizeRedemption:
    """A physical prize handed to the carrier: to ship → shipped (409 invalid_transition
    otherwise). The holder sees the carrier and the tracking number."""
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    missing = {
        name: [_("Required.")]
        for name, value in (("carrier", carrier), ("tracking_number", tracking_number))
        if not value
    }
    if missing:
        raise ValidationFailed(_("Name the carrier and the tracking number."), fields=missing)
    return _fulfilment_move(
        tenant, actor, redemption, FulfilmentStatus.PENDING, FulfilmentStatus.SHIPPED, note,
        carrier=carrier[:100], tracking_number=tracking_number[:100], shipped_at=timezone.now(),
    )  # fmt: skip


@transaction.atomic
def redemption_deliver(
    *, tenant: Tenant, actor: Actor, redemption: PrizeRedemption, note: str = ""
) -> PrizeRedemption:
    """The parcel arrived: shipped → delivered; no cancel after this."""
    return _fulfilment_move(
        tenant, actor, redemption, FulfilmentStatus.SHIPPED, FulfilmentStatus.DELIVERED, note,
        delivered_at=timezone.now(),
    )  # fmt: skip
