"""Roll a redemption back (an order cancelled), and the hooks an order's close calls."""

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from budgets.services import budget_refund, budget_reserve
from core.errors import ConflictError, CoreErrorCode, NotFoundError, ValidationFailed
from core.services import audit_record, snapshot

from .. import locks
from ..models import ZERO, Coupon, CouponBatch, CouponRedemption, CouponStatus
from ..selectors import coupon_get, redemption_list
from .redemption import normalise_code


def _rollback(tenant: Tenant, actor: Actor, redemption: CouponRedemption, now) -> Coupon:
    """Undo one live redemption whose coupon row the caller has locked."""
    coupon = redemption.coupon
    batch = redemption.batch
    budget = batch.campaign.budget
    still_valid = coupon.valid_until is None or now < coupon.valid_until
    before = snapshot(coupon, fields=["status"])
    coupon.status = CouponStatus.ISSUED if still_valid else CouponStatus.EXPIRED
    coupon.save(update_fields=["status", "updated_at"])
    redemption.rolled_back_at = now
    redemption.save(update_fields=["rolled_back_at", "updated_at"])
    CouponBatch.objects.for_tenant(tenant).filter(pk=batch.pk).update(
        redeemed=F("redeemed") - 1, updated_at=now
    )
    labels: dict[str, Any] = {
        "tenant": tenant,
        "budget": budget,
        "actor": actor,
        "campaign": batch.campaign,
        "source": "coupon_redemption",
        "note": f"{coupon} off {redemption.order_ref}",
    }
    ref = f"coupon-redemption:{redemption.pk}"
    if still_valid:
        # The coupon is back in the customer's hands: it reserves what it did before redeeming.
        if redemption.discount > ZERO:
            budget_refund(
                amount=redemption.discount,
                reference=f"{ref}:refund",
                to_reserved=True,
                **labels,
            )
        if redemption.reserved - redemption.discount > ZERO:
            budget_reserve(
                amount=redemption.reserved - redemption.discount,
                reference=f"{ref}:reserve",
                **labels,
            )
    elif redemption.discount > ZERO:
        # Expired meanwhile: the money goes back to what is available.
        budget_refund(amount=redemption.discount, reference=f"{ref}:refund", **labels)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="coupon.rollback",
        obj=coupon,
        before=before,
        after={"status": coupon.status, "order": redemption.order_ref},
    )
    return coupon


def _live_redemptions(tenant: Tenant):
    return (
        CouponRedemption.objects.for_tenant(tenant)
        .filter(rolled_back_at__isnull=True)
        .select_related("batch", "batch__campaign", "batch__campaign__budget")
    )


@transaction.atomic
def coupon_rollback(*, tenant: Tenant, actor: Actor, code: str, order: str | None = None) -> Coupon:
    """The redeemed coupon back (an order cancelled): issued while still valid, else expired;
    its spend goes back to the budget. A shared code needs the order to know which one."""
    actor.require(Action.COUPONS_SUPPORT)
    code, order = normalise_code(code), (order or "").strip() or None
    coupon = Coupon.objects.for_tenant(tenant).filter(code=code).first() if code else None
    live = _live_redemptions(tenant)
    if coupon is not None:
        live = live.filter(coupon=coupon)
    else:
        batch = CouponBatch.objects.for_tenant(tenant).filter(shared_code=code).first()
        if batch is None or not code:
            raise NotFoundError(_("No such coupon."))
        if order is None:
            raise ValidationFailed(
                _("A shared code needs the order."), fields={"order": [_("Required.")]}
            )
        live = live.filter(batch=batch)
    if order is not None:
        live = live.filter(order_ref=order)
    if actor.region_ids is not None or actor.business_unit_id is not None:
        # A coupon or a redemption the actor can't see (another region's customer, merchant or
        # order, another unit's campaign) is not found for them, as on GET (SPEC §7).
        if coupon is not None:
            coupon_get(tenant=tenant, actor=actor, id=coupon.pk)
        mine = live.filter(pk__in=redemption_list(tenant=tenant, actor=actor).values("pk"))
        if not mine.exists() and live.exists():
            raise NotFoundError(_("No such coupon."))
        live = mine
    redemption = live.order_by("pk").first()
    if redemption is not None:
        locks.lock_coupon(tenant, redemption)
        # Re-read under the lock: a concurrent rollback may have been first.
        redemption = live.filter(pk=redemption.pk).first()
    if redemption is None:
        raise ConflictError(
            _("The coupon is not redeemed on that order."),
            code=CoreErrorCode.INVALID_TRANSITION,
        )
    locks.lock_coupon(tenant, redemption)
    return _rollback(tenant, actor, redemption, timezone.now())


def coupons_lock_for_order_close(*, tenant: Tenant, order_ref: str) -> None:
    """Lock the coupon rows redeemed on an order, then their batches, as redeem and rollback
    do. An order close calls this before its points close takes budget rows, so a close never
    holds a budget while it waits for a coupon or a batch (that would deadlock with them)."""
    coupon_ids = sorted(
        _live_redemptions(tenant).filter(order_ref=order_ref).values_list("coupon_id", flat=True)
    )
    if not coupon_ids:
        return
    locks.lock_coupons_then_batches(tenant, coupon_ids)


def coupons_on_order_closed(*, tenant: Tenant, actor: Actor, order_ref: str) -> int:
    """An order closed: every coupon redeemed on it comes back (called by orders' service, in
    its transaction). Returns how many."""
    count = 0
    for redemption in _live_redemptions(tenant).filter(order_ref=order_ref).order_by("pk"):
        locks.lock_coupon(tenant, redemption)
        if not _live_redemptions(tenant).filter(pk=redemption.pk).exists():
            continue
        _rollback(tenant, actor, redemption, timezone.now())
        count += 1
    return count
