"""Issuing, the one rule: every coupon given to a customer (claim, job, event, prize) goes
through `_issue`, where the per-customer limit, the frequency cap and the batch's stock are
enforced."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Customer, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.models import CampaignStatus
from core.errors import ConflictError, RuleRefusal, ValidationFailed

from .. import codes as code_gen
from .. import locks
from ..bulk import insert_rows, insert_values
from ..errors import BatchExhausted, CouponErrorCode, IssueRowReason, LimitReached
from ..models import (
    BatchStatus,
    CodeMode,
    Coupon,
    CouponBatch,
    CouponHolding,
    CouponStatus,
    IssuanceJob,
)
from ._common import _require_batch_visible, logger

CODE_RETRIES = 5  # a chunk whose random codes collide with existing ones draws new codes


@dataclass
class _Outcome:
    coupons: list[tuple[int, int]]  # (customer_id, seq) of each coupon written
    failures: list[tuple[int, str]]  # (index into the requests, IssueRowReason)


def _validity(batch: CouponBatch, now: datetime) -> tuple[datetime | None, datetime | None]:
    """When a coupon issued now may be used: the batch's window, or N days from now, never past
    the campaign's end unless the batch says so."""
    campaign = batch.campaign
    if batch.valid_days:
        until = now + timedelta(days=batch.valid_days)
        if not batch.extend_past_campaign:
            until = min(until, campaign.ends_at)
        return now, until
    return batch.valid_from or campaign.starts_at, batch.valid_until


def _take_stock(tenant: Tenant, batch: CouponBatch, wanted: int, *, claims: int = 0) -> int:
    """Draw up to `wanted` coupons from the batch's stock; returns how many were drawn.

    The common case is one conditional UPDATE (`issued + n <= quantity`); when fewer are left the
    row is locked and what remains is taken. A paused or ended batch draws nothing.
    """
    if wanted <= 0:
        return 0
    batches = CouponBatch.objects.for_tenant(tenant).filter(pk=batch.pk, status=BatchStatus.ACTIVE)
    moved = batches.filter(issued__lte=F("quantity") - wanted).update(
        issued=F("issued") + wanted, claimed=F("claimed") + claims, updated_at=timezone.now()
    )
    if moved:
        return wanted
    row = batches.select_for_update().values("quantity", "issued").first()
    if row is None:
        return 0
    taken = min(wanted, row["quantity"] - row["issued"])
    if taken > 0:
        batches.update(
            issued=F("issued") + taken,
            claimed=F("claimed") + min(claims, taken),
            updated_at=timezone.now(),
        )
    return taken


def _issue(
    *,
    tenant: Tenant,
    batch: CouponBatch,
    customer_ids: list[int],
    now: datetime,
    job: IssuanceJob | None = None,
    claim: bool = False,
) -> _Outcome:
    """Issue one coupon per entry of `customer_ids` (a customer may appear more than once).

    Runs inside the caller's transaction. Refusals come back per entry; nothing is raised.
    """
    failures: list[tuple[int, str]] = []
    holdings = locks.lock_holdings(tenant, batch, set(customer_ids))
    held_before = {c: h.count for c, h in holdings.items()}
    recent: dict[int, int] = {}
    if batch.frequency_cap_count:
        assert batch.frequency_cap_days is not None, "a batch's cap has a count and days"
        since = now - timedelta(days=batch.frequency_cap_days)
        recent = dict(
            Coupon.objects.for_tenant(tenant)
            .filter(batch=batch, customer_id__in=set(customer_ids), issued_at__gte=since)
            .values_list("customer_id")
            .annotate(n=Count("id"))
            .values_list("customer_id", "n")
        )
    allowed: list[tuple[int, int]] = []  # (index, customer_id)
    for index, customer_id in enumerate(customer_ids):
        holding = holdings[customer_id]
        if holding.count >= batch.per_customer_limit:
            failures.append((index, IssueRowReason.LIMIT_REACHED))
            continue
        if batch.frequency_cap_count and recent.get(customer_id, 0) >= batch.frequency_cap_count:
            failures.append((index, IssueRowReason.FREQUENCY_CAP))
            continue
        holding.count += 1
        recent[customer_id] = recent.get(customer_id, 0) + 1
        allowed.append((index, customer_id))

    taken = _take_stock(tenant, batch, len(allowed), claims=len(allowed) if claim else 0)
    if taken < len(allowed):
        status = (
            CouponBatch.objects.for_tenant(tenant)
            .filter(pk=batch.pk)
            .values_list("status", flat=True)
            .first()
        )
        reason = (
            IssueRowReason.BATCH_EXHAUSTED
            if status == BatchStatus.ACTIVE
            else IssueRowReason.BATCH_NOT_ACTIVE
        )
        for index, customer_id in allowed[taken:]:
            holdings[customer_id].count -= 1
            failures.append((index, reason))
        allowed = allowed[:taken]

    valid_from, valid_until = _validity(batch, now)
    holders = []  # (customer_id, seq): seq is the holder's n-th coupon of the batch
    seen: dict[int, int] = {}
    for _index, customer_id in allowed:
        seen[customer_id] = seen.get(customer_id, 0) + 1
        holders.append((customer_id, held_before[customer_id] + seen[customer_id]))
    shared = {
        "tenant_id": tenant.pk,
        "batch_id": batch.pk,
        "status": CouponStatus.ISSUED,
        "issued_at": now,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "job_id": job.pk if job else None,
        "created_at": now,
        "updated_at": now,
    }
    _insert_coupons(batch, holders=holders, count=len(holders), constants=shared)
    changed = [h for c, h in holdings.items() if h.count != held_before[c]]
    CouponHolding.objects.for_tenant(tenant).bulk_update(changed, ["count"], batch_size=5000)
    failures.sort()
    return _Outcome(coupons=holders, failures=failures)


def _insert_coupons(
    batch: CouponBatch, *, holders: list[tuple[int, int]] | None, count: int, constants: dict
) -> None:
    """Write `count` coupons set-based: one per (customer_id, seq) of `holders`, or unassigned
    ones when `holders` is None. Unique codes are drawn here, and drawn again on a collision."""
    if count == 0:
        return
    if holders is None:
        constants = {**constants, "customer_id": None, "seq": None}
    if batch.code_mode == CodeMode.SHARED:
        assert holders is not None, "a shared-code batch generates no unassigned codes"
        insert_rows(Coupon, ("customer_id", "seq"), holders, constants={**constants, "code": None})
        return
    for attempt in range(CODE_RETRIES):
        codes = code_gen.generate_codes(count, length=batch.code_length, prefix=batch.code_prefix)
        try:
            with transaction.atomic():  # a savepoint: a collision undoes this insert only
                if holders is None:
                    insert_values(Coupon, "code", codes, constants=constants)
                else:
                    rows = [(code, *holder) for code, holder in zip(codes, holders, strict=True)]
                    insert_rows(Coupon, ("code", "customer_id", "seq"), rows, constants=constants)
            return
        except IntegrityError:
            logger.warning("Coupon code collision in batch %s (attempt %d)", batch.pk, attempt + 1)
    raise ConflictError(_("Could not draw unique codes; use longer codes."))


@transaction.atomic
def coupon_claim(*, tenant: Tenant, actor: Actor, batch: CouponBatch, customer: Customer) -> Coupon:
    """A customer claims a coupon of a public batch (SPEC §2.4 Claim).

    The stock moves by a conditional UPDATE, so exactly `quantity` claims succeed however many
    race; the customer's holding row is locked first so their limit holds too.
    """
    actor.require(Action.COUPONS_ISSUE)
    if customer.tenant_id != tenant.pk:
        raise ValidationFailed(_("Unknown customer."), fields={"customer": [_("Unknown.")]})
    data_scope.require_customer(actor, customer)  # a user claims only for customers they see
    _require_batch_visible(tenant, actor, batch)
    if not batch.claimable:
        raise RuleRefusal(_("This batch cannot be claimed."), code=CouponErrorCode.NOT_CLAIMABLE)
    if batch.status != BatchStatus.ACTIVE or batch.campaign.status != CampaignStatus.RUNNING:
        ended = batch.status == BatchStatus.ENDED or batch.campaign.status == CampaignStatus.ENDED
        raise ConflictError(
            _("The batch has ended.") if ended else _("The batch is not open for claims."),
            code=CouponErrorCode.BATCH_NOT_ACTIVE,
        )
    return _issue_one(tenant, batch, customer, claim=True)


@transaction.atomic
def coupon_issue(*, tenant: Tenant, actor: Actor, batch: CouponBatch, customer: Customer) -> Coupon:
    """Give one coupon of an active batch to a customer (automatic rules, prizes, lotteries):
    the same limits as every other mode; 409 batch_exhausted, 422 limit_reached."""
    actor.require(Action.COUPONS_ISSUE)
    if customer.tenant_id != tenant.pk:
        raise ValidationFailed(_("Unknown customer."), fields={"customer": [_("Unknown.")]})
    data_scope.require_customer(actor, customer)
    _require_batch_visible(tenant, actor, batch)
    if batch.status != BatchStatus.ACTIVE:
        raise ConflictError(_("The batch is not active."), code=CouponErrorCode.BATCH_NOT_ACTIVE)
    return _issue_one(tenant, batch, customer, claim=False)


def coupon_issue_as_reward(*, tenant: Tenant, batch: CouponBatch, customer: Customer) -> Coupon:
    """One coupon for a prize redeemed or a lottery won (SPEC §4), inside the caller's
    transaction. No actor permission applies: the operator who designed the prize or the
    lottery chose the batch (and had to be able to issue from it); the holder earned it. The
    batch's limits and stock hold as for every other mode (409 batch_exhausted, 422
    limit_reached), and its budget pays when the coupon is redeemed."""
    if customer.tenant_id != tenant.pk or batch.tenant_id != tenant.pk:
        raise ValidationFailed(_("Unknown customer."), fields={"customer": [_("Unknown.")]})
    if batch.status != BatchStatus.ACTIVE:
        raise ConflictError(_("The batch is not active."), code=CouponErrorCode.BATCH_NOT_ACTIVE)
    return _issue_one(tenant, batch, customer, claim=False)


def coupon_void_reward(*, tenant: Tenant, coupon: Coupon) -> None:
    """Take back a prize's coupon that was never used (its redemption cancelled), inside the
    caller's transaction: 409 coupon_used once it was redeemed. It still counts against the
    customer's limit and the batch's stock, as an issued coupon does."""
    voided = (
        Coupon.objects.for_tenant(tenant)
        .filter(pk=coupon.pk, status=CouponStatus.ISSUED)
        .update(status=CouponStatus.VOIDED, updated_at=timezone.now())
    )
    if not voided:
        raise ConflictError(
            _("The coupon was used already; it cannot be taken back."),
            code=CouponErrorCode.COUPON_USED,
        )


def _issue_one(tenant: Tenant, batch: CouponBatch, customer: Customer, *, claim: bool) -> Coupon:
    outcome = _issue(
        tenant=tenant, batch=batch, customer_ids=[customer.pk], now=timezone.now(), claim=claim
    )
    if outcome.failures:
        reason = outcome.failures[0][1]
        if reason in (IssueRowReason.LIMIT_REACHED, IssueRowReason.FREQUENCY_CAP):
            raise LimitReached(
                _("You have reached the limit of this coupon.")
                if reason == IssueRowReason.LIMIT_REACHED
                else _("You have claimed this coupon too often lately.")
            )
        if reason == IssueRowReason.BATCH_EXHAUSTED:
            raise BatchExhausted(_("No coupons are left."))
        raise ConflictError(_("The batch is not active."), code=CouponErrorCode.BATCH_NOT_ACTIVE)
    _customer_id, seq = outcome.coupons[0]
    return (
        Coupon.objects.for_tenant(tenant)
        .filter(batch=batch, customer=customer, seq=seq)
        .select_related("batch", "customer")
        .get()
    )
