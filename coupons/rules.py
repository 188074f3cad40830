"""Whether a coupon applies to an order, and what it takes off: one pure function over rows the
caller loaded, shared by validate and redeem so both always give the same answer (SPEC §2.5)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import cast

from .errors import CouponReason as R
from .models import ZERO, BatchKind, BatchStatus, Coupon, CouponBatch, CouponStatus

CENT = Decimal("0.01")


class FraudLimit(StrEnum):
    """Which limit a `fraud_limit` refusal hit (the tenant's fraud settings, the campaign's
    limit, or for a printed code the batch's limits on binding it to the customer)."""

    CUSTOMER_DAILY = "customer_daily"
    DEVICE = "device"
    PHONE = "phone"
    CAMPAIGN = "campaign"
    BATCH_PER_CUSTOMER = "batch_per_customer"
    BATCH_FREQUENCY_CAP = "batch_frequency_cap"


@dataclass(frozen=True)
class OrderFacts:
    customer_id: int
    amount: Decimal
    merchant_id: int | None = None
    region_id: int | None = None
    categories: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class BatchScope:
    merchant_ids: frozenset[int]
    region_ids: frozenset[int]
    categories: frozenset[str]


@dataclass(frozen=True)
class Check:
    reasons: list[str]
    discount: Decimal
    fraud_limit: str | None = None  # which limit, when `fraud_limit` is among the reasons

    @property
    def valid(self) -> bool:
        return not self.reasons

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None


def discount_for(batch: CouponBatch, amount: Decimal) -> Decimal:
    """What the coupon takes off an order of `amount` (never more than one coupon reserved)."""
    if batch.kind == BatchKind.PERCENT_OFF:
        off = (amount * batch.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        return min(off, cast(Decimal, batch.max_discount))  # never null: batch_percent_capped
    if batch.kind in (BatchKind.AMOUNT_OFF, BatchKind.CASH):
        return min(batch.value, amount)
    return batch.value  # free shipping: what the shipping costs us


def coupon_check(
    *,
    coupon: Coupon | None,
    batch: CouponBatch | None,
    scope: BatchScope | None,
    facts: OrderFacts,
    now: datetime,
    campaign_paused: bool = False,
    campaign_ended: bool = False,
    others_on_order: Sequence[bool] = (),
    blocked: bool = False,
    fraud_limit: str | None = None,
) -> Check:
    """Every failing reason, in the order of SPEC §10. `others_on_order` is the stackable flag of
    each other coupon already redeemed on the order; `fraud_limit` the FraudLimit hit, if any."""
    if coupon is None or batch is None or scope is None:  # the scope comes with the batch
        return Check([R.NOT_FOUND], ZERO)
    reasons: list[str] = []
    if coupon.status == CouponStatus.VOIDED:
        reasons.append(R.VOIDED)
    if coupon.customer_id != facts.customer_id:
        reasons.append(R.NOT_YOURS)
    if batch.status == BatchStatus.PAUSED or campaign_paused:
        reasons.append(R.BATCH_PAUSED)
    if coupon.valid_from is not None and now < coupon.valid_from:
        reasons.append(R.NOT_STARTED)
    # A batch that doesn't extend past its campaign ends its coupons' validity with it.
    if (
        coupon.status == CouponStatus.EXPIRED
        or (coupon.valid_until is not None and now >= coupon.valid_until)
        or (campaign_ended and not batch.extend_past_campaign)
    ):
        reasons.append(R.EXPIRED)
    if coupon.status == CouponStatus.REDEEMED:
        reasons.append(R.ALREADY_REDEEMED)
    if scope.merchant_ids and facts.merchant_id not in scope.merchant_ids:
        reasons.append(R.OUT_OF_SCOPE_MERCHANT)
    if scope.region_ids and facts.region_id not in scope.region_ids:
        reasons.append(R.OUT_OF_SCOPE_REGION)
    if scope.categories and not (scope.categories & facts.categories):
        reasons.append(R.OUT_OF_SCOPE_CATEGORY)
    if batch.threshold is not None and facts.amount < batch.threshold:
        reasons.append(R.BELOW_THRESHOLD)
    if others_on_order and (not batch.stackable or not all(others_on_order)):
        reasons.append(R.NOT_STACKABLE)
    if fraud_limit:
        reasons.append(R.FRAUD_LIMIT)
    if blocked:
        reasons.append(R.BLOCKED)
    discount = ZERO if reasons else discount_for(batch, facts.amount)
    return Check(reasons, discount, fraud_limit or None)
