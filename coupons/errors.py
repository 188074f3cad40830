"""Error codes of coupon batches, claims and issuance jobs (SPEC §10)."""

from enum import StrEnum
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from core.errors import ConflictError, RuleRefusal

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


class CouponErrorCode(StrEnum):
    BATCH_EXHAUSTED = "batch_exhausted"  # no coupon left in the batch (409)
    LIMIT_REACHED = "limit_reached"  # per-customer limit or frequency cap (422)
    BATCH_NOT_ACTIVE = "batch_not_active"  # issuing from a draft, paused or ended batch (409)
    NOT_CLAIMABLE = "not_claimable"  # a claim on a batch that is not public (422)
    CAMPAIGN_ENDED = "campaign_ended"  # activating a batch of an ended campaign (409)
    COUPON_USED = "coupon_used"  # taking back a prize's coupon that was redeemed (409)


class IssueRowReason(StrEnum):
    """Why one row of an issuance job failed (the job's error report)."""

    UNKNOWN_CUSTOMER = "unknown_customer"
    LIMIT_REACHED = "limit_reached"
    FREQUENCY_CAP = "frequency_cap"
    BATCH_EXHAUSTED = "batch_exhausted"
    BATCH_NOT_ACTIVE = "batch_not_active"
    BLANK = "blank"


# What the console shows for a reason; the error report keeps the code beside these words.
ISSUE_ROW_REASON_TEXT: "dict[str, StrPromise]" = {
    IssueRowReason.UNKNOWN_CUSTOMER: _("No customer has this code."),
    IssueRowReason.LIMIT_REACHED: _(
        "The customer already holds as many coupons of the batch as one customer may."
    ),
    IssueRowReason.FREQUENCY_CAP: _(
        "The customer was given as many coupons of the batch lately as its frequency cap allows."
    ),
    IssueRowReason.BATCH_EXHAUSTED: _("No coupon was left in the batch."),
    IssueRowReason.BATCH_NOT_ACTIVE: _("The batch was not active."),
    IssueRowReason.BLANK: _("The row is empty."),
}


def issue_row_reason_text(reason: str) -> str:
    """The words for an error row's reason code (the code itself for one without words)."""
    return str(ISSUE_ROW_REASON_TEXT.get(reason, reason))


class BatchExhausted(ConflictError):
    default_code = CouponErrorCode.BATCH_EXHAUSTED


class LimitReached(RuleRefusal):
    default_code = CouponErrorCode.LIMIT_REACHED


class CouponReason(StrEnum):
    """Why a coupon does not apply to an order, in the order they are checked (SPEC §10).
    Also the `code` of a refused redeem (422)."""

    NOT_FOUND = "not_found"
    VOIDED = "voided"
    NOT_YOURS = "not_yours"
    BATCH_PAUSED = "batch_paused"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    ALREADY_REDEEMED = "already_redeemed"
    OUT_OF_SCOPE_MERCHANT = "out_of_scope_merchant"
    OUT_OF_SCOPE_REGION = "out_of_scope_region"
    OUT_OF_SCOPE_CATEGORY = "out_of_scope_category"
    BELOW_THRESHOLD = "below_threshold"
    NOT_STACKABLE = "not_stackable"
    FRAUD_LIMIT = "fraud_limit"
    BLOCKED = "blocked"


REASON_ORDER = list(CouponReason)


class CouponRefused(RuleRefusal):
    default_code = CouponReason.NOT_FOUND
