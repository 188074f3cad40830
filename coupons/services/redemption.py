"""Validate and redeem a code on an order (SPEC §2.5); printed codes are bound to their
holder when first redeemed."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Customer, Merchant, Region, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from budgets.services import budget_release, budget_spend
from campaigns.models import CampaignStatus
from core.errors import ValidationFailed
from core.services import audit_record, snapshot

from .. import locks
from ..errors import CouponRefused
from ..models import (
    ZERO,
    CodeMode,
    Coupon,
    CouponBatch,
    CouponHolding,
    CouponRedemption,
    CouponStatus,
)
from ..rules import FraudLimit
from ._common import CENT, _require_batch_visible
from .fraud import _fraud_limit_hit, customer_blocked, fraud_limit_text
from .issuing import _validity


def normalise_code(code: str) -> str:
    return (code or "").strip().upper()


def _coupon_candidates(tenant: Tenant, code: str, customer: Customer, *, lock: bool):
    """(batch, coupons) a code names for this customer: the one coupon of a unique code, or the
    customer's coupons of a shared-code batch. Locked (in pk order) when `lock`."""
    coupons = Coupon.objects.for_tenant(tenant)
    if lock:
        coupons = coupons.select_for_update(of=("self",))
    unique = list(coupons.filter(code=code).order_by("pk")) if code else []
    if unique:
        return unique[0].batch_id, unique
    batch_id = (
        CouponBatch.objects.for_tenant(tenant)
        .filter(shared_code=code)
        .values_list("pk", flat=True)
        .first()
        if code
        else None
    )
    if batch_id is None:
        return None, []
    return batch_id, list(coupons.filter(batch_id=batch_id, customer=customer).order_by("pk"))


def _batch_scope_ids(batch: CouponBatch) -> tuple[frozenset, frozenset]:
    """(merchant ids, region ids) the batch is limited to, in one query of the link tables
    (as SQL text: building a union in the ORM costs more than running it). A region named in
    the scope takes every region below it: orders are placed in zones, scopes name provinces."""
    merchants = CouponBatch.scope_merchants.through._meta.db_table
    regions = CouponBatch.scope_regions.through._meta.db_table
    tree = Region._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE t(id) AS (SELECT region_id FROM {regions} WHERE couponbatch_id = %s"
            f" UNION SELECT r.id FROM {tree} r JOIN t ON r.parent_id = t.id)"
            f" SELECT 'm', merchant_id FROM {merchants} WHERE couponbatch_id = %s"
            " UNION ALL SELECT 'r', id FROM t",
            [batch.pk, batch.pk],
        )
        rows = cursor.fetchall()
    return (
        frozenset(pk for kind, pk in rows if kind == "m"),
        frozenset(pk for kind, pk in rows if kind == "r"),
    )


_PREFERENCE = {
    CouponStatus.ISSUED: 0,
    CouponStatus.REDEEMED: 1,
    CouponStatus.EXPIRED: 2,
    CouponStatus.VOIDED: 3,
}


def coupon_evaluate(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    customer: Customer,
    amount,
    merchant: Merchant | None = None,
    region: Region | None = None,
    categories=(),
    order: str | None = None,
    device_fingerprint: str = "",
    phone_fingerprint: str = "",
    lock: bool = False,
):
    """Load what the rules need and run them: (coupon or None, batch or None, Check).

    For a shared code the customer's usable coupon is preferred (issued, then redeemed …), so
    the reason given is the one that matters to them. Read-only; `lock` is for redeem. The
    actor needs coupons.support_read (every role and key scope that redeems holds it too).
    """
    from ..rules import BatchScope, OrderFacts, coupon_check

    actor.require(Action.COUPONS_SUPPORT_READ)

    code = normalise_code(code)
    batch_id, coupons = _coupon_candidates(tenant, code, customer, lock=lock)
    coupon = min(coupons, key=lambda c: (_PREFERENCE.get(c.status, 9), c.pk)) if coupons else None
    if coupon is not None and coupon.customer_id == customer.pk:
        coupon.customer = customer  # the answer shows it: no second read
    facts = OrderFacts(
        customer_id=customer.pk,
        amount=Decimal(str(amount)),
        merchant_id=merchant.pk if merchant else None,
        region_id=region.pk if region else None,
        categories=frozenset(str(c).strip() for c in categories or ()),
    )
    batch = scope = None
    if batch_id is not None:
        batch = (
            CouponBatch.objects.for_tenant(tenant)
            .select_related("campaign", "campaign__budget")
            .get(pk=batch_id)
        )
        merchant_ids, region_ids = _batch_scope_ids(batch)
        scope = BatchScope(
            merchant_ids=merchant_ids,
            region_ids=region_ids,
            categories=frozenset(batch.scope_categories or ()),
        )
        if coupon is not None:
            coupon.batch = batch
    if coupon is None and batch is not None and batch.code_mode == CodeMode.SHARED:
        # A public code this customer never received: the code exists, it is not theirs.
        coupon = Coupon(tenant=tenant, batch=batch, customer=None, status=CouponStatus.ISSUED)
    checked, binding_limit = coupon, None
    if coupon is not None and batch is not None and coupon.status == CouponStatus.UNASSIGNED:
        checked, binding_limit = _printed_terms(tenant, coupon, batch, customer, lock=lock)
    others: list[bool] = []
    if order and coupon is not None:
        others = list(
            CouponRedemption.objects.for_tenant(tenant)
            .filter(order_ref=order, rolled_back_at__isnull=True)
            .exclude(coupon_id=coupon.pk)
            .values_list("batch__stackable", flat=True)
        )
    check = coupon_check(
        coupon=checked,
        batch=batch,
        scope=scope,
        facts=facts,
        now=timezone.now(),
        campaign_paused=batch is not None and batch.campaign.status == CampaignStatus.PAUSED,
        campaign_ended=batch is not None and batch.campaign.status == CampaignStatus.ENDED,
        others_on_order=others,
        blocked=customer_blocked(tenant=tenant, customer=customer),
        fraud_limit=binding_limit
        or _fraud_limit_hit(
            tenant,
            customer,
            device_fingerprint,
            phone_fingerprint,
            campaign_id=batch.campaign_id if batch is not None else None,
            lock=lock,
        ),
    )
    return (coupon if coupon is not None and coupon.pk else None), batch, check


def _refuse(check) -> None:
    detail = _("The coupon does not apply: %s.") % ", ".join(check.reasons)
    fields = {"reasons": list(check.reasons)}
    if check.fraud_limit:
        detail += " " + fraud_limit_text(check.fraud_limit)
        fields["fraud_limit"] = [check.fraud_limit]
    raise CouponRefused(detail, code=check.reason, fields=fields)


def _printed_validity(coupon: Coupon, batch: CouponBatch, now) -> tuple:
    """A printed code's validity once it has a holder: N days from now for a days-from-issue
    batch (generation left it open), else the window it was generated with."""
    if batch.valid_days:
        return _validity(batch, now)
    return coupon.valid_from, coupon.valid_until


def _printed_terms(
    tenant: Tenant, coupon: Coupon, batch: CouponBatch, customer: Customer, *, lock: bool
):
    """An unassigned (printed) code presented by a customer: (the coupon as it reads once issued
    to them now, the batch limit binding it to them would break or None). Under `lock` (redeem)
    the customer's holding row of the batch is locked, so the limit still holds at binding."""
    now = timezone.now()
    valid_from, valid_until = _printed_validity(coupon, batch, now)
    view = Coupon(
        tenant=tenant,
        batch=batch,
        customer=customer,
        status=CouponStatus.ISSUED,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    if lock:
        held = locks.lock_holdings(tenant, batch, {customer.pk})[customer.pk].count
    else:
        held = (
            CouponHolding.objects.for_tenant(tenant)
            .filter(batch=batch, customer=customer)
            .values_list("count", flat=True)
            .first()
            or 0
        )
    if held >= batch.per_customer_limit:
        return view, FraudLimit.BATCH_PER_CUSTOMER
    if batch.frequency_cap_count:
        assert batch.frequency_cap_days is not None, "a batch's cap has a count and days"
        since = now - timedelta(days=batch.frequency_cap_days)
        recent = (
            Coupon.objects.for_tenant(tenant)
            .filter(batch=batch, customer=customer, issued_at__gte=since)
            .count()
        )
        if recent >= batch.frequency_cap_count:
            return view, FraudLimit.BATCH_FREQUENCY_CAP
    return view, None


def _bind_printed(
    tenant: Tenant, actor: Actor, coupon: Coupon, batch: CouponBatch, customer: Customer
):
    """unassigned → issued to the customer redeeming a printed code, counted like an issue on
    their holding row (locked and checked by coupon_evaluate in this transaction). The batch's
    stock and budget were drawn when the code was generated."""
    now = timezone.now()
    holding = locks.lock_holdings(tenant, batch, {customer.pk})[customer.pk]
    holding.count += 1
    holding.save(update_fields=["count", "updated_at"])
    coupon.valid_from, coupon.valid_until = _printed_validity(coupon, batch, now)
    coupon.customer, coupon.seq = customer, holding.count
    coupon.status, coupon.issued_at = CouponStatus.ISSUED, now
    coupon.save(
        update_fields=[
            "customer",
            "seq",
            "status",
            "issued_at",
            "valid_from",
            "valid_until",
            "updated_at",
        ]
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="coupon.bind",
        obj=coupon,
        before={"status": CouponStatus.UNASSIGNED},
        after={"status": coupon.status, "customer": customer.code},
    )


@transaction.atomic
def coupon_redeem(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    customer: Customer,
    order: str,
    amount,
    merchant: Merchant | None = None,
    region: Region | None = None,
    categories=(),
    device_fingerprint: str = "",
    phone_fingerprint: str = "",
) -> CouponRedemption:
    """Redeem a coupon on an order, once: the coupon rows are locked, so of racing requests one
    redeems and the rest see it redeemed; the same (order, code) again returns the first
    redemption. The coupon's reservation becomes spend of the discount; the rest is released."""
    actor.require(Action.COUPONS_SUPPORT)
    order = (order or "").strip()
    if not order:
        raise ValidationFailed(_("The order is required."), fields={"order": [_("Required.")]})
    # Every party of the order lies in the actor's scope, as redemption_list shows them: the
    # customer, the merchant and the order's region (SPEC §7).
    data_scope.require_customer(actor, customer)
    if merchant is not None:
        data_scope.require_merchant(actor, merchant)
    if region is not None:
        data_scope.require_regions(actor, [region])
    coupon, batch, check = coupon_evaluate(
        tenant=tenant,
        actor=actor,
        code=code,
        customer=customer,
        amount=amount,
        merchant=merchant,
        region=region,
        categories=categories,
        order=order,
        device_fingerprint=device_fingerprint,
        phone_fingerprint=phone_fingerprint,
        lock=True,
    )
    if batch is not None:  # a code of a campaign the actor can't see: not found, not refused
        _require_batch_visible(tenant, actor, batch)
    # A unique code's coupon that is still issued (and locked) has no live redemption: only a
    # redemption makes it redeemed, only a rollback makes it issued again.
    fresh = batch is not None and batch.code_mode == CodeMode.UNIQUE and coupon is not None
    fresh = fresh and coupon.status == CouponStatus.ISSUED
    if batch is not None and not fresh:
        # A retry of a redemption that went through: the same answer, nothing moves again.
        live = CouponRedemption.objects.for_tenant(tenant).filter(
            batch=batch, customer=customer, order_ref=order, rolled_back_at__isnull=True
        )
        if batch.code_mode == CodeMode.UNIQUE:
            live = live.filter(coupon__code=normalise_code(code))
        existing = live.select_related("coupon", "batch", "customer", "merchant").first()
        if existing is not None:
            return existing
    if not check.valid:
        _refuse(check)
    if coupon.status == CouponStatus.UNASSIGNED:
        _bind_printed(tenant, actor, coupon, batch, customer)
    now = timezone.now()
    before = snapshot(coupon, fields=["status"])
    coupon.status = CouponStatus.REDEEMED
    coupon.save(update_fields=["status", "updated_at"])
    reserved = batch.unit_cost
    redemption = CouponRedemption.objects.create(
        tenant=tenant,
        coupon=coupon,
        batch=batch,
        customer=customer,
        merchant=merchant,
        region=region,
        order_ref=order,
        order_amount=Decimal(str(amount)).quantize(CENT),
        discount=check.discount,
        reserved=reserved,
        device_fingerprint=device_fingerprint,
        phone_fingerprint=phone_fingerprint,
        redeemed_at=now,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="coupon.redeem",
        obj=coupon,
        before=before,
        after={"status": coupon.status, "order": order, "discount": str(check.discount)},
    )
    # The rows every redemption shares last, batch then budget (the lock order of rollbacks
    # too): each stays locked from its UPDATE to the commit.
    CouponBatch.objects.for_tenant(tenant).filter(pk=batch.pk).update(
        redeemed=F("redeemed") + 1, updated_at=now
    )
    labels = {
        "tenant": tenant,
        "budget": batch.campaign.budget,
        "actor": actor,
        "campaign": batch.campaign,
        "source": "coupon_redemption",
    }
    if check.discount > ZERO:
        budget_spend(
            amount=check.discount,
            reference=f"coupon-redemption:{redemption.pk}:spend",
            from_reserved=True,
            note=f"{coupon} on {order}",
            **labels,
        )
    if reserved - check.discount > ZERO:
        budget_release(
            amount=reserved - check.discount,
            reference=f"coupon-redemption:{redemption.pk}:release",
            note=f"{coupon} on {order}: reserved beyond the discount",
            **labels,
        )
    return redemption
