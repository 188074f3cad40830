"""Every write of coupons: batches and their life cycle, claims, segments, issuance jobs.

Issuing one coupon or a chunk of ten thousand goes through `_issue`, the one place where the
per-customer limit, the frequency cap and the batch's stock are enforced. Locks are taken in one
order everywhere — the customers' holding rows (by primary key), then the batch row — so claims,
jobs and rules never deadlock each other.
"""

import csv
import io
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Customer, Merchant, Region
from accounts.permissions import Actor
from accounts.roles import Action
from budgets.services import budget_refund, budget_release, budget_reserve, budget_spend
from campaigns.errors import CampaignErrorCode
from campaigns.models import Campaign, CampaignStatus
from campaigns.selectors import campaign_list
from core.errors import (
    ConflictError,
    CoreErrorCode,
    NotFoundError,
    PermissionDeniedError,
    RuleRefusal,
    ValidationFailed,
    invalid_transition,
)
from core.services import audit_record, snapshot

from . import codes as code_gen
from .bulk import insert_rows, insert_values
from .errors import (
    BatchExhausted,
    CouponErrorCode,
    CouponReason,
    CouponRefused,
    IssueRowReason,
    LimitReached,
)
from .models import (
    BATCH_MOVES,
    ZERO,
    BatchKind,
    BatchStatus,
    BlockedCustomer,
    CampaignRedemptionLimit,
    CodeMode,
    Coupon,
    CouponBatch,
    CouponHolding,
    CouponRedemption,
    CouponStatus,
    Event,
    EventIssue,
    EventType,
    FraudSettings,
    IssuanceChunk,
    IssuanceError,
    IssuanceJob,
    IssuanceRule,
    JobKind,
    JobSource,
    JobStatus,
    Segment,
)
from .rules import FraudLimit
from .selectors import coupon_get, redemption_list, tenant_fraud_settings

logger = logging.getLogger("pointsops.coupons")

CENT = Decimal("0.01")
PREFIX_RE = re.compile(r"^[A-Z0-9-]{0,16}$")
SHARED_CODE_RE = re.compile(r"^[A-Z0-9-]{4,32}$")
CODE_RETRIES = 5  # a chunk whose random codes collide with existing ones draws new codes
# What a user sets on a batch; the audit snapshot adds what the system changes.
BATCH_FIELDS = (
    "name",
    "kind",
    "value",
    "threshold",
    "max_discount",
    "valid_from",
    "valid_until",
    "valid_days",
    "extend_past_campaign",
    "scope_categories",
    "quantity",
    "per_customer_limit",
    "frequency_cap_count",
    "frequency_cap_days",
    "stackable",
    "claimable",
    "code_mode",
    "code_length",
    "code_prefix",
    "shared_code",
)
BATCH_AUDIT_FIELDS = [
    "campaign",
    *BATCH_FIELDS,
    "status",
    "issued",
    "reserved_amount",
    "released_amount",
]


def chunk_size() -> int:
    return int(getattr(settings, "COUPONS_CHUNK_SIZE", 10_000))


def _pause_after_chunk() -> float:
    """Test-only: seconds to sleep after each chunk, so a crash test can kill the worker mid-job."""
    return float(os.environ.get("COUPONS_PAUSE_AFTER_CHUNK") or 0)


def _batch_snapshot(batch: CouponBatch) -> dict:
    data = snapshot(batch, fields=BATCH_AUDIT_FIELDS)
    if batch.pk:
        data["scope_merchants"] = sorted(m.code for m in batch.scope_merchants.all())
        data["scope_regions"] = sorted(r.code for r in batch.scope_regions.all())
    return data


def _require_batch_visible(tenant, actor: Actor, batch: CouponBatch) -> None:
    """A batch whose campaign the actor can't see is not found for them, like on GET: a
    regional operator or a business-unit admin redeems and claims only their own (SPEC §7)."""
    if actor.region_ids is None and actor.business_unit_id is None:
        return
    if not campaign_list(tenant=tenant, actor=actor).filter(pk=batch.campaign_id).exists():
        raise NotFoundError(_("Not found."))


def _require_campaign_change(actor: Actor, campaign: Campaign, action: Action) -> None:
    """The action, and for a regional operator every region of the campaign (SPEC §7)."""
    actor.require(action)
    if actor.business_unit_id is not None and campaign.business_unit_id != actor.business_unit_id:
        raise NotFoundError(_("Not found."))  # another unit's campaign: hidden, as on GET
    if actor.region_ids is not None:
        regions = set(campaign.regions.values_list("pk", flat=True))
        if not regions <= actor.region_ids:
            raise PermissionDeniedError(
                _("Some of the campaign's regions are not yours."),
                code=CampaignErrorCode.OUT_OF_SCOPE,
            )


# --- batches: design --------------------------------------------------------------------------


def _money(value) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(CENT)


def _validate_batch(campaign: Campaign, data: dict) -> None:
    """Every rule of SPEC §2.3 on a batch's design; all failures at once, by field."""
    errors: dict[str, list[str]] = {}

    def fail(field, message):
        errors.setdefault(field, []).append(message)

    kind, value = data["kind"], data["value"]
    threshold, max_discount = data.get("threshold"), data.get("max_discount")
    if kind not in BatchKind.values:
        fail("kind", _("Unknown kind."))
    if value is None or value <= 0:
        fail("value", _("Must be more than 0."))
    if kind == BatchKind.PERCENT_OFF:
        if value is not None and value > 100:
            fail("value", _("A percentage is at most 100."))
        if max_discount is None:
            fail("max_discount", _("Required for percent_off."))
        elif max_discount <= 0:
            fail("max_discount", _("Must be more than 0."))
    elif max_discount is not None:
        fail("max_discount", _("Only percent_off has a cap."))
    if kind == BatchKind.AMOUNT_OFF:
        if threshold is None:
            fail("threshold", _("Required for amount_off."))
        elif value is not None and threshold <= value:
            fail("threshold", _("Must be above the amount off."))
    if kind == BatchKind.CASH and threshold is not None:
        fail("threshold", _("A cash voucher has no threshold."))
    if threshold is not None and threshold < 0:
        fail("threshold", _("Must not be negative."))

    valid_from, valid_until, valid_days = (
        data.get("valid_from"),
        data.get("valid_until"),
        data.get("valid_days"),
    )
    if valid_days is not None:
        if valid_from is not None or valid_until is not None:
            fail("valid_days", _("Give either a fixed window or a number of days, not both."))
        if valid_days < 1:
            fail("valid_days", _("Must be at least 1."))
    elif valid_until is None:
        fail("valid_until", _("Give valid_until (a fixed window) or valid_days."))
    if valid_until is not None:
        start = valid_from or campaign.starts_at
        if valid_until <= start:
            fail("valid_until", _("Must be after the start of validity."))
        if not data.get("extend_past_campaign") and valid_until > campaign.ends_at:
            fail(
                "valid_until",
                _("Past the campaign's end; set extend_past_campaign to allow it."),
            )
    if valid_from is not None and valid_from >= campaign.ends_at:
        fail("valid_from", _("Must be before the campaign's end."))

    quantity, limit = data.get("quantity"), data.get("per_customer_limit", 1)
    if quantity is None or quantity < 1:
        fail("quantity", _("Must be at least 1."))
    if limit is None or limit < 1:
        fail("per_customer_limit", _("Must be at least 1."))
    cap_count, cap_days = data.get("frequency_cap_count"), data.get("frequency_cap_days")
    if (cap_count is None) != (cap_days is None):
        fail("frequency_cap", _("Give both count and days."))
    elif cap_count is not None and (cap_count < 1 or cap_days < 1):
        fail("frequency_cap", _("Count and days must be at least 1."))

    mode = data.get("code_mode", CodeMode.UNIQUE)
    if mode == CodeMode.UNIQUE:
        length = data.get("code_length")
        if length is not None and not code_gen.MIN_LENGTH <= length <= code_gen.MAX_LENGTH:
            fail(
                "code.length",
                _("Between %(min)d (40 bits of randomness) and %(max)d.")
                % {"min": code_gen.MIN_LENGTH, "max": code_gen.MAX_LENGTH},
            )
        if not PREFIX_RE.match(data.get("code_prefix") or ""):
            fail("code.prefix", _("Up to 16 capital letters, digits or dashes."))
        if data.get("shared_code"):
            fail("code.shared_code", _("Only a shared-code batch has a shared code."))
    elif mode == CodeMode.SHARED:
        shared = data.get("shared_code") or ""
        if not SHARED_CODE_RE.match(shared):
            fail("code.shared_code", _("4 to 32 capital letters, digits or dashes."))
        else:
            taken = CouponBatch.objects.for_tenant(campaign.tenant_id).filter(shared_code=shared)
            if data.get("pk"):
                taken = taken.exclude(pk=data["pk"])
            if taken.exists() or (
                Coupon.objects.for_tenant(campaign.tenant_id).filter(code=shared).exists()
            ):
                fail("code.shared_code", _("This code is taken in your tenant."))
    else:
        fail("code.mode", _("Unknown code mode."))
    if errors:
        raise ValidationFailed(_("Check the batch's fields."), fields=errors)


def _normalise(data: dict) -> dict:
    data = dict(data)
    for field in ("value", "threshold", "max_discount"):
        if field in data:
            data[field] = _money(data[field])
    if data.get("code_mode") == CodeMode.SHARED:
        data["shared_code"] = (data.get("shared_code") or "").strip().upper() or None
        data["code_prefix"] = ""
    else:
        data["shared_code"] = None
        data["code_prefix"] = (data.get("code_prefix") or "").strip().upper()
    # A length left out (or null, or an emptied form box) is the default, in either mode: a
    # shared code has no use for it, but the column is NOT NULL and a later switch to unique
    # codes must find a length there.
    if data.get("code_length") is None:
        data["code_length"] = code_gen.DEFAULT_LENGTH
    if "scope_categories" in data:
        data["scope_categories"] = sorted({str(c).strip() for c in data["scope_categories"] or []})
    return data


def _check_scope_rows(tenant, actor: Actor, merchants, regions) -> None:
    wrong = [m for m in merchants if m.tenant_id != tenant.pk] + [
        r for r in regions if r.tenant_id != tenant.pk
    ]
    if wrong:
        raise ValidationFailed(_("Unknown scope entries."), fields={"scope": [_("Unknown.")]})
    # A regional operator's batch is limited to merchants and regions they can see: one outside
    # them is not found, as on GET (SPEC §7).
    for merchant in merchants:
        data_scope.require_merchant(actor, merchant)
    data_scope.require_regions(actor, regions)


@transaction.atomic
def batch_create(
    *,
    tenant,
    actor: Actor,
    campaign: Campaign,
    name: str,
    kind: str,
    value,
    quantity: int,
    scope_merchants: list[Merchant] | tuple = (),
    scope_regions: list[Region] | tuple = (),
    **fields,
) -> CouponBatch:
    """A draft batch in a campaign (SPEC §8 POST /coupon-batches)."""
    _require_campaign_change(actor, campaign, Action.CAMPAIGNS_MANAGE)
    unknown = set(fields) - set(BATCH_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %s.") % ", ".join(sorted(unknown)))
    if campaign.status == CampaignStatus.ENDED:
        raise ConflictError(_("The campaign has ended."), code=CouponErrorCode.CAMPAIGN_ENDED)
    data = _normalise({"name": name, "kind": kind, "value": value, "quantity": quantity, **fields})
    _validate_batch(campaign, data)
    scope_merchants, scope_regions = list(scope_merchants), list(scope_regions)
    _check_scope_rows(tenant, actor, scope_merchants, scope_regions)
    batch = CouponBatch.objects.create(
        tenant=tenant, campaign=campaign, created_by=actor.user, **data
    )
    batch.scope_merchants.set(scope_merchants)
    batch.scope_regions.set(scope_regions)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="coupon_batch.create",
        obj=batch,
        after=_batch_snapshot(batch),
    )
    return batch


def _lock_batch(tenant, batch: CouponBatch) -> CouponBatch:
    return (
        CouponBatch.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("campaign", "campaign__budget")
        .get(pk=batch.pk)
    )


@transaction.atomic
def batch_update(*, tenant, actor: Actor, batch: CouponBatch, **changes) -> CouponBatch:
    """Change a draft batch's design; once active its terms are what customers were given."""
    _require_campaign_change(actor, batch.campaign, Action.CAMPAIGNS_MANAGE)
    scope_merchants = changes.pop("scope_merchants", None)
    scope_regions = changes.pop("scope_regions", None)
    unknown = set(changes) - set(BATCH_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %s.") % ", ".join(sorted(unknown)))
    batch = _lock_batch(tenant, batch)
    if batch.status != BatchStatus.DRAFT:
        raise ConflictError(
            _("Only a draft batch can be changed."), code=CoreErrorCode.INVALID_TRANSITION
        )
    before = _batch_snapshot(batch)
    current = {field: getattr(batch, field) for field in BATCH_FIELDS}
    data = _normalise({**current, **changes})
    _validate_batch(batch.campaign, {**data, "pk": batch.pk})
    for field, value in data.items():
        setattr(batch, field, value)
    batch.save()
    if scope_merchants is not None:
        _check_scope_rows(tenant, actor, scope_merchants, [])
        batch.scope_merchants.set(scope_merchants)
    if scope_regions is not None:
        _check_scope_rows(tenant, actor, [], scope_regions)
        batch.scope_regions.set(scope_regions)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="coupon_batch.update",
        obj=batch,
        before=before,
        after=_batch_snapshot(batch),
    )
    return batch


# --- batches: life cycle ----------------------------------------------------------------------


def _move(batch: CouponBatch, target: str, *, source: str | None = None) -> dict:
    """Set the new status if the life cycle allows it (and the batch is in `source`, for the
    two moves into active: activate from draft, resume from paused); returns the audit's
    `before`."""
    if target not in BATCH_MOVES[batch.status] or (source and batch.status != source):
        raise invalid_transition(_("coupon batch"), batch.status, target)
    before = _batch_snapshot(batch)
    batch.status = target
    return before


def _save_move(tenant, actor, batch: CouponBatch, before: dict, verb: str, note: str = ""):
    batch.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"coupon_batch.{verb}",
        obj=batch,
        before=before,
        after=_batch_snapshot(batch),
        note=note,
    )
    return batch


def _require_campaign_open(campaign: Campaign) -> None:
    if campaign.status == CampaignStatus.ENDED:
        raise ConflictError(_("The campaign has ended."), code=CouponErrorCode.CAMPAIGN_ENDED)


@transaction.atomic
def batch_activate(*, tenant, actor: Actor, batch: CouponBatch, note: str = "") -> CouponBatch:
    """draft → active: reserve quantity x the most one coupon can cost (409 budget_exceeded)."""
    _require_campaign_change(actor, batch.campaign, Action.CAMPAIGNS_MANAGE)
    batch = _lock_batch(tenant, batch)
    before = _move(batch, BatchStatus.ACTIVE, source=BatchStatus.DRAFT)
    _require_campaign_open(batch.campaign)
    amount = (batch.unit_cost * batch.quantity).quantize(CENT)
    budget_reserve(
        tenant=tenant,
        budget=batch.campaign.budget,
        amount=amount,
        reference=f"coupon-batch:{batch.pk}:activate",
        actor=actor,
        campaign=batch.campaign,
        source="coupon_batch",
        note=f"{batch.name}: {batch.quantity} x {batch.unit_cost}",
    )
    batch.reserved_amount = amount
    batch.activated_at = timezone.now()
    return _save_move(tenant, actor, batch, before, "activate", note)


@transaction.atomic
def batch_pause(*, tenant, actor: Actor, batch: CouponBatch, note: str = "") -> CouponBatch:
    _require_campaign_change(actor, batch.campaign, Action.CAMPAIGNS_MANAGE)
    batch = _lock_batch(tenant, batch)
    before = _move(batch, BatchStatus.PAUSED)
    return _save_move(tenant, actor, batch, before, "pause", note)


@transaction.atomic
def batch_resume(*, tenant, actor: Actor, batch: CouponBatch, note: str = "") -> CouponBatch:
    _require_campaign_change(actor, batch.campaign, Action.CAMPAIGNS_MANAGE)
    batch = _lock_batch(tenant, batch)
    before = _move(batch, BatchStatus.ACTIVE, source=BatchStatus.PAUSED)
    _require_campaign_open(batch.campaign)
    return _save_move(tenant, actor, batch, before, "resume", note)


@transaction.atomic
def batch_end(*, tenant, actor: Actor, batch: CouponBatch, note: str = "") -> CouponBatch:
    """active | paused → ended: the stock never issued gives its reservation back. Coupons already
    issued keep theirs until they are redeemed, expire or are voided (SPEC §2.1)."""
    _require_campaign_change(actor, batch.campaign, Action.CAMPAIGNS_MANAGE)
    batch = _lock_batch(tenant, batch)
    before = _move(batch, BatchStatus.ENDED)
    unused = (batch.unit_cost * batch.stock).quantize(CENT)
    if unused > ZERO:
        budget_release(
            tenant=tenant,
            budget=batch.campaign.budget,
            amount=unused,
            reference=f"coupon-batch:{batch.pk}:end",
            actor=actor,
            campaign=batch.campaign,
            source="coupon_batch",
            note=f"{batch.name}: {batch.stock} never issued",
        )
    batch.released_amount = unused
    batch.ended_at = timezone.now()
    return _save_move(tenant, actor, batch, before, "end", note)


CAMPAIGN_END_CHUNK = 5000


def _expire_with_campaign(tenant, batch_ids: list[int], now, *, late: bool) -> dict[int, list[int]]:
    """The coupons of batches that don't extend past their campaign lose their validity now
    (`valid_until` becomes the end): issued ones expire; printed codes never bound stay
    `unassigned` (only a holder's coupon can be expired) but can no longer be used; redeemed
    ones keep their status, and a rollback later finds them expired. Returns by batch the ids of
    those whose reservation is to be released (issued and printed).

    Rows are locked in primary-key order, a chunk at a time, as every coupon writer does. The
    `late` pass runs after the batches are locked: it skips rows someone holds (they take the
    coupon before the batch) and takes only what the first pass left valid, so nothing is
    released twice."""
    coupons = Coupon.objects.for_tenant(tenant).filter(batch_id__in=batch_ids)
    valid = Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    holding = [CouponStatus.ISSUED] if late else [CouponStatus.ISSUED, CouponStatus.UNASSIGNED]
    live = coupons.filter(
        Q(status__in=holding)
        | (Q(status__in=[CouponStatus.UNASSIGNED, CouponStatus.REDEEMED]) & valid)
    )
    released: dict[int, list[int]] = {}
    last = 0
    while True:
        rows = list(
            live.filter(pk__gt=last)
            .order_by("pk")
            .select_for_update(no_key=True, skip_locked=late)
            .values_list("pk", "batch_id", "status")[:CAMPAIGN_END_CHUNK]
        )
        if not rows:
            return released
        last = rows[-1][0]
        coupons.filter(valid, pk__in=[pk for pk, _b, _s in rows]).update(
            valid_until=now, updated_at=now
        )
        coupons.filter(
            pk__in=[pk for pk, _b, status in rows if status == CouponStatus.ISSUED]
        ).update(status=CouponStatus.EXPIRED, updated_at=now)
        for pk, batch_id, status in rows:
            if status != CouponStatus.REDEEMED:
                released.setdefault(batch_id, []).append(pk)


def coupons_on_campaign_ended(*, tenant, actor: Actor, campaign: Campaign) -> int:
    """A campaign ended (by hand or on time): its active and paused batches end as `batch_end`
    ends one (the stock never issued is released), and the coupons of batches without
    `extend_past_campaign` end with it (see _expire_with_campaign), their reservation released.
    Coupons of batches that extend past the campaign stay usable, and reserved, until their own
    validity ends (the expiry task then releases them). Called by campaigns' services in their transaction, with
    the campaign's row locked; returns how many coupons gave their reservation back.

    Lock order: coupon rows (pk order), then the batch rows (pk order), then the budget, as
    redeem, rollback and order close take them. A coupon issued while this waited for a batch
    is caught by a second pass that skips rows someone holds (it would be the coupon before
    the batch for them); such a coupon is refused anyway: the rules treat it as expired.
    """
    now = timezone.now()
    batches = CouponBatch.objects.for_tenant(tenant).filter(campaign=campaign)
    # Every batch that had coupons, ended by hand before or ending now (drafts have none).
    closing = list(
        batches.filter(extend_past_campaign=False)
        .exclude(status=BatchStatus.DRAFT)
        .values_list("pk", flat=True)
    )
    released = _expire_with_campaign(tenant, closing, now, late=False)
    ending = batches.filter(status__in=[BatchStatus.ACTIVE, BatchStatus.PAUSED])
    note = _("The campaign ended.")
    for batch in ending.order_by("pk").select_for_update(of=("self",)):
        batch_end(tenant=tenant, actor=actor, batch=batch, note=note)
    for batch_id, ids in _expire_with_campaign(tenant, closing, now, late=True).items():
        released.setdefault(batch_id, []).extend(ids)
    for batch in batches.filter(pk__in=released).order_by("pk"):
        ids = released[batch.pk]
        budget_release(
            tenant=tenant,
            budget=campaign.budget,
            amount=(batch.unit_cost * len(ids)).quantize(CENT),
            reference=f"coupon-batch:{batch.pk}:campaign-end:{min(ids)}",
            actor=actor,
            campaign=campaign,
            source="coupon_expiry",
            note=f"{batch.name}: {len(ids)} coupons ended with the campaign",
        )
        audit_record(
            tenant=tenant,
            actor=actor,
            action="coupon_batch.expire_coupons",
            obj=batch,
            after={"released_coupons": len(ids)},
            note=note,
        )
    return sum(len(ids) for ids in released.values())


# --- issuing: the one rule ----------------------------------------------------------------------


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


def _lock_holdings(tenant, batch: CouponBatch, customer_ids: set[int]) -> dict[int, CouponHolding]:
    """Each customer's holding row of the batch, created if missing, locked in pk order."""
    CouponHolding.objects.bulk_create(
        [CouponHolding(tenant=tenant, batch=batch, customer_id=c) for c in sorted(customer_ids)],
        ignore_conflicts=True,
    )
    rows = (
        CouponHolding.objects.for_tenant(tenant)
        .filter(batch=batch, customer_id__in=customer_ids)
        .order_by("pk")
        .select_for_update()
    )
    return {h.customer_id: h for h in rows}


def _take_stock(tenant, batch: CouponBatch, wanted: int, *, claims: int = 0) -> int:
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
    tenant,
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
    holdings = _lock_holdings(tenant, batch, set(customer_ids))
    held_before = {c: h.count for c, h in holdings.items()}
    recent: dict[int, int] = {}
    if batch.frequency_cap_count:
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


# --- claim ------------------------------------------------------------------------------------


@transaction.atomic
def coupon_claim(*, tenant, actor: Actor, batch: CouponBatch, customer: Customer) -> Coupon:
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
def coupon_issue(*, tenant, actor: Actor, batch: CouponBatch, customer: Customer) -> Coupon:
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


def _issue_one(tenant, batch: CouponBatch, customer: Customer, *, claim: bool) -> Coupon:
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


# --- segments ---------------------------------------------------------------------------------

SEGMENT_FILTERS = (
    "regions",
    "tags_any",
    "registered_after",
    "registered_before",
    "last_order_after",
    "last_order_before",
)


@transaction.atomic
def segment_create(*, tenant, actor: Actor, name: str, filters: dict) -> Segment:
    """A saved customer filter. Regions are stored by code, dates as ISO strings."""
    actor.require(Action.COUPONS_ISSUE)
    unknown = set(filters) - set(SEGMENT_FILTERS)
    if unknown:
        raise ValidationFailed(
            _("Unknown filters: %s.") % ", ".join(sorted(unknown)),
            fields={"filters": [_("Unknown: %s.") % ", ".join(sorted(unknown))]},
        )
    codes = filters.get("regions") or []
    known = set(
        Region.objects.for_tenant(tenant).filter(code__in=codes).values_list("code", flat=True)
    )
    if set(codes) - known:
        raise ValidationFailed(
            _("Unknown regions."),
            fields={"filters.regions": [_("Unknown: %s.") % ", ".join(sorted(set(codes) - known))]},
        )
    # A regional operator's segment filters on their regions only (SPEC §7).
    data_scope.require_regions(
        actor, Region.objects.for_tenant(tenant).filter(code__in=codes).values_list("pk", flat=True)
    )
    for low, high in (
        ("registered_after", "registered_before"),
        ("last_order_after", "last_order_before"),
    ):
        if filters.get(low) and filters.get(high) and filters[low] > filters[high]:
            raise ValidationFailed(
                _("Check the filters."), fields={f"filters.{high}": [_("Before %s.") % low]}
            )
    stored = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()}
    segment = Segment.objects.create(
        tenant=tenant, name=name, filters=stored, created_by=actor.user
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="segment.create",
        obj=segment,
        after={"name": name, "filters": stored},
    )
    return segment


# --- issuance jobs ------------------------------------------------------------------------------


def parse_customer_file(*, name: str, content: bytes) -> list[str]:
    """Customer codes from a CSV or XLSX upload: the first column of each row; a header row
    (customer, code, customer_code) and blank rows are skipped."""
    values: list = []
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise ValidationFailed(
                _("Not a readable XLSX file."), fields={"file": [str(exc)[:200]]}
            ) from exc
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(max_col=1, values_only=True):
            cell = row[0] if row else None
            if isinstance(cell, float) and cell.is_integer():
                cell = int(cell)
            values.append("" if cell is None else str(cell))
        book.close()
    elif name.lower().endswith((".csv", ".txt")):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                _("The CSV must be UTF-8."), fields={"file": [_("Not UTF-8.")]}
            ) from exc
        values = [row[0] if row else "" for row in csv.reader(io.StringIO(text))]
    else:
        raise ValidationFailed(
            _("Upload a .csv or .xlsx file."), fields={"file": [_("Unsupported type.")]}
        )
    codes = [v.strip() for v in values]
    if codes and codes[0].lower() in ("customer", "code", "customer_code", "customers"):
        codes = codes[1:]
    codes = [c for c in codes if c]
    if not codes:
        raise ValidationFailed(_("The file lists no customers."), fields={"file": [_("Empty.")]})
    return codes


def _require_issuable(actor: Actor, batch: CouponBatch) -> None:
    _require_campaign_change(actor, batch.campaign, Action.COUPONS_ISSUE)
    if batch.status != BatchStatus.ACTIVE:
        raise ConflictError(
            _("Activate the batch before issuing."), code=CouponErrorCode.BATCH_NOT_ACTIVE
        )


def _enqueue(job: IssuanceJob) -> None:
    from . import tasks  # tasks import this module

    # After commit: the worker must find the job row it is told about.
    transaction.on_commit(lambda: tasks.issuance_job_run.delay(job.tenant_id, job.pk))


@transaction.atomic
def issuance_job_create(
    *,
    tenant,
    actor: Actor,
    batch: CouponBatch,
    customers: list[str] | None = None,
    segment: Segment | None = None,
    file_name: str = "",
    file_content: bytes | None = None,
) -> IssuanceJob:
    """Issue the batch to a list, an uploaded file or a segment, as a background job (202).

    The input is fixed here: a segment is resolved to its customers now, so the count the
    operator previewed is what the job works through, also after a restart.
    """
    _require_issuable(actor, batch)
    given = [customers is not None, segment is not None, file_content is not None]
    if sum(given) != 1:
        raise ValidationFailed(
            _("Give exactly one of customers, segment or file."),
            fields={"customers": [_("One of customers, segment, file.")]},
        )
    if customers is not None:
        source, codes = JobSource.LIST, [str(c).strip() for c in customers]
        if not codes:
            raise ValidationFailed(_("No customers."), fields={"customers": [_("Empty.")]})
    elif segment is not None:
        from .selectors import segment_customers

        source = JobSource.SEGMENT
        codes = list(
            segment_customers(tenant=tenant, actor=actor, segment=segment)
            .order_by("pk")
            .values_list("code", flat=True)
        )
        if not codes:
            raise ValidationFailed(
                _("The segment has no customers."), fields={"segment": [_("Empty.")]}
            )
    else:
        source = JobSource.FILE
        codes = parse_customer_file(name=file_name, content=file_content)
    job = IssuanceJob.objects.create(
        tenant=tenant,
        batch=batch,
        kind=JobKind.ISSUE,
        source=source,
        segment=segment,
        file_name=file_name[:255],
        customer_codes=codes,
        customer_region_ids=sorted(actor.region_ids) if actor.region_ids is not None else None,
        chunk_size=chunk_size(),
        total=len(codes),
        created_by=actor.user,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="issuance_job.create",
        obj=job,
        after={"batch": batch.pk, "kind": job.kind, "source": source, "total": job.total},
    )
    _enqueue(job)
    return job


MAX_GENERATE = 10_000_000


@transaction.atomic
def generation_job_create(*, tenant, actor: Actor, batch: CouponBatch, count: int) -> IssuanceJob:
    """Generate `count` unassigned codes (for print or a partner) as a background job (202)."""
    _require_issuable(actor, batch)
    if batch.code_mode != CodeMode.UNIQUE:
        raise ValidationFailed(
            _("A shared-code batch has one code; there is nothing to generate."),
            fields={"count": [_("Shared-code batch.")]},
        )
    if not 1 <= count <= MAX_GENERATE:
        raise ValidationFailed(
            _("Between 1 and %d.") % MAX_GENERATE, fields={"count": [_("Out of range.")]}
        )
    if count > batch.stock:
        raise BatchExhausted(
            _("Only %(stock)d coupons are left in the batch.") % {"stock": batch.stock},
            fields={"count": [_("More than the stock.")]},
        )
    job = IssuanceJob.objects.create(
        tenant=tenant,
        batch=batch,
        kind=JobKind.GENERATE,
        source=JobSource.GENERATE,
        chunk_size=chunk_size(),
        total=count,
        created_by=actor.user,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="issuance_job.create",
        obj=job,
        after={"batch": batch.pk, "kind": job.kind, "total": count},
    )
    _enqueue(job)
    return job


def _chunk_issue(tenant, job: IssuanceJob, batch: CouponBatch, start: int, now) -> tuple[int, list]:
    """One chunk of an issue job: (coupons issued, error rows)."""
    rows = job.customer_codes[start : start + job.chunk_size]
    customers = Customer.objects.for_tenant(tenant).filter(code__in=set(rows))
    if job.customer_region_ids is not None:
        customers = customers.filter(region_id__in=job.customer_region_ids)
    ids = dict(customers.values_list("code", "pk"))
    errors: list[IssuanceError] = []

    def error(offset, reason, detail=""):
        errors.append(
            IssuanceError(
                tenant=tenant,
                job=job,
                row_no=start + offset + 1,
                value=rows[offset][:255],
                reason=reason,
                detail=detail,
            )
        )

    known: list[int] = []  # offsets of rows naming a known customer
    for offset, code in enumerate(rows):
        if code in ids:
            known.append(offset)
        else:
            error(offset, IssueRowReason.UNKNOWN_CUSTOMER)
    outcome = _issue(
        tenant=tenant,
        batch=batch,
        customer_ids=[ids[rows[o]] for o in known],
        now=now,
        job=job,
    )
    for index, reason in outcome.failures:
        error(known[index], reason)
    errors.sort(key=lambda e: e.row_no)
    return len(outcome.coupons), errors


def _chunk_generate(
    tenant, job: IssuanceJob, batch: CouponBatch, start: int, now
) -> tuple[int, list]:
    wanted = min(job.chunk_size, job.total - start)
    taken = _take_stock(tenant, batch, wanted)
    # Days-from-issue validity starts when a code is given to a holder, not now.
    valid_from, valid_until = (None, None) if batch.valid_days else _validity(batch, now)
    shared = {
        "tenant_id": tenant.pk,
        "batch_id": batch.pk,
        "status": CouponStatus.UNASSIGNED,
        "issued_at": None,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "job_id": job.pk,
        "created_at": now,
        "updated_at": now,
    }
    _insert_coupons(batch, holders=None, count=taken, constants=shared)
    errors = []
    if taken < wanted:
        errors.append(
            IssuanceError(
                tenant=tenant,
                job=job,
                row_no=start + taken + 1,
                reason=IssueRowReason.BATCH_EXHAUSTED,
                detail=f"rows {start + taken + 1}-{start + wanted} not generated",
            )
        )
    return taken, errors


def _run_chunk(tenant, job: IssuanceJob, chunk_no: int) -> bool:
    """One chunk in its own transaction with its marker; False when another run did it."""
    start = chunk_no * job.chunk_size
    rows = min(job.chunk_size, job.total - start)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A chunk is safe to lose in a database crash: its coupons, marker and progress commit
            # together or not at all, and a re-run redoes it. Not waiting for the WAL flush on
            # each of a million-coupon job's commits is worth that.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        try:
            # The marker first: a second runner of the same job waits here, then skips.
            with transaction.atomic():
                marker = IssuanceChunk.objects.create(tenant=tenant, job=job, chunk_no=chunk_no)
        except IntegrityError:
            return False
        batch = (
            CouponBatch.objects.for_tenant(tenant).select_related("campaign").get(pk=job.batch_id)
        )
        now = timezone.now()
        work = _chunk_generate if job.kind == JobKind.GENERATE else _chunk_issue
        issued, errors = work(tenant, job, batch, start, now)
        failed = rows - issued
        IssuanceError.objects.bulk_create(errors, batch_size=5000)
        marker.issued, marker.failed = issued, failed
        marker.save(update_fields=["issued", "failed"])
        IssuanceJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
            done=F("done") + rows,
            failed=F("failed") + failed,
            heartbeat_at=now,
            updated_at=now,
        )
    return True


def issuance_job_run(*, tenant, job_id: int) -> IssuanceJob:
    """Work through a job chunk by chunk, skipping chunks already done (a re-run after a crash,
    or a second delivery of the task): never a duplicate, never a gap."""
    jobs = IssuanceJob.objects.for_tenant(tenant)
    job = jobs.get(pk=job_id)
    if job.status in (JobStatus.DONE, JobStatus.FAILED):
        return job
    now = timezone.now()
    jobs.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        started_at=job.started_at or now,
        heartbeat_at=now,
        updated_at=now,
    )
    finished = set(
        IssuanceChunk.objects.for_tenant(tenant).filter(job=job).values_list("chunk_no", flat=True)
    )
    pause = _pause_after_chunk()
    try:
        for chunk_no in range(job.chunk_count):
            if chunk_no in finished:
                continue
            _run_chunk(tenant, job, chunk_no)
            if pause:
                time.sleep(pause)
    except Exception as exc:
        logger.exception("Issuance job %s failed", job.pk)
        jobs.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        raise
    jobs.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=JobStatus.DONE, finished_at=timezone.now(), updated_at=timezone.now()
    )
    job.refresh_from_db()
    return job


STALE_AFTER = timedelta(minutes=5)


def issuance_jobs_resume(*, stale_after: timedelta = STALE_AFTER, now=None) -> int:
    """Enqueue again every job that was queued or running but shows no progress for a while
    (its worker was killed). Platform-wide: the beat runs it for every tenant."""
    from . import tasks

    cutoff = (now or timezone.now()) - stale_after
    stale = (
        IssuanceJob.objects.unscoped()
        .filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING))
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
        .values_list("tenant_id", "pk")
    )
    count = 0
    for tenant_id, job_id in stale:
        tasks.issuance_job_run.delay(tenant_id, job_id)
        count += 1
    return count


# --- redemption (SPEC §2.5) -----------------------------------------------------------------------


def normalise_code(code: str) -> str:
    return (code or "").strip().upper()


def _coupon_candidates(tenant, code: str, customer: Customer, *, lock: bool):
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
    tenant,
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
    the reason given is the one that matters to them. Read-only; `lock` is for redeem.
    """
    from .rules import BatchScope, OrderFacts, coupon_check

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
    if coupon is not None and coupon.status == CouponStatus.UNASSIGNED:
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


def _printed_terms(tenant, coupon: Coupon, batch: CouponBatch, customer: Customer, *, lock: bool):
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
        held = _lock_holdings(tenant, batch, {customer.pk})[customer.pk].count
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
        since = now - timedelta(days=batch.frequency_cap_days)
        recent = (
            Coupon.objects.for_tenant(tenant)
            .filter(batch=batch, customer=customer, issued_at__gte=since)
            .count()
        )
        if recent >= batch.frequency_cap_count:
            return view, FraudLimit.BATCH_FREQUENCY_CAP
    return view, None


def _bind_printed(tenant, actor: Actor, coupon: Coupon, batch: CouponBatch, customer: Customer):
    """unassigned → issued to the customer redeeming a printed code, counted like an issue on
    their holding row (locked and checked by coupon_evaluate in this transaction). The batch's
    stock and budget were drawn when the code was generated."""
    now = timezone.now()
    holding = _lock_holdings(tenant, batch, {customer.pk})[customer.pk]
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
    tenant,
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


def _rollback(tenant, actor: Actor, redemption: CouponRedemption, now) -> Coupon:
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
    labels = {
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


def _live_redemptions(tenant):
    return (
        CouponRedemption.objects.for_tenant(tenant)
        .filter(rolled_back_at__isnull=True)
        .select_related("batch", "batch__campaign", "batch__campaign__budget")
    )


def _lock_coupon(tenant, redemption: CouponRedemption) -> None:
    redemption.coupon = (
        Coupon.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("batch", "customer")
        .get(pk=redemption.coupon_id)
    )


@transaction.atomic
def coupon_rollback(*, tenant, actor: Actor, code: str, order: str | None = None) -> Coupon:
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
        _lock_coupon(tenant, redemption)
        # Re-read under the lock: a concurrent rollback may have been first.
        redemption = live.filter(pk=redemption.pk).first()
    if redemption is None:
        raise ConflictError(
            _("The coupon is not redeemed on that order."),
            code=CoreErrorCode.INVALID_TRANSITION,
        )
    _lock_coupon(tenant, redemption)
    return _rollback(tenant, actor, redemption, timezone.now())


def coupons_lock_for_order_close(*, tenant, order_ref: str) -> None:
    """Lock the coupon rows redeemed on an order, then their batches, as redeem and rollback
    do. An order close calls this before its points close takes budget rows, so a close never
    holds a budget while it waits for a coupon or a batch (that would deadlock with them)."""
    coupon_ids = sorted(
        _live_redemptions(tenant).filter(order_ref=order_ref).values_list("coupon_id", flat=True)
    )
    if not coupon_ids:
        return
    coupons = Coupon.objects.for_tenant(tenant).filter(pk__in=coupon_ids).order_by("pk")
    batch_ids = sorted(set(coupons.select_for_update().values_list("batch_id", flat=True)))
    list(
        CouponBatch.objects.for_tenant(tenant)
        .filter(pk__in=batch_ids)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def coupons_on_order_closed(*, tenant, actor: Actor, order_ref: str) -> int:
    """An order closed: every coupon redeemed on it comes back (called by orders' service, in
    its transaction). Returns how many."""
    count = 0
    for redemption in _live_redemptions(tenant).filter(order_ref=order_ref).order_by("pk"):
        _lock_coupon(tenant, redemption)
        if not _live_redemptions(tenant).filter(pk=redemption.pk).exists():
            continue
        _rollback(tenant, actor, redemption, timezone.now())
        count += 1
    return count


# --- expiry -------------------------------------------------------------------------------------

EXPIRE_CHUNK = 5000


def _expire_rows_postgres(table: str, now, size: int) -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH due AS (
                SELECT id FROM {table}
                WHERE status = %s AND valid_until <= %s
                ORDER BY valid_until, id LIMIT %s
                FOR UPDATE SKIP LOCKED
            )
            UPDATE {table} c SET status = %s, updated_at = %s
            FROM due WHERE c.id = due.id
            RETURNING c.batch_id, c.id
            """,
            [CouponStatus.ISSUED, now, size, CouponStatus.EXPIRED, now],
        )
        rows = cursor.fetchall()
    return rows


def _expire_rows_portable(now, size: int) -> list[tuple[int, int]]:
    """The embedded SQLite default (one writer at a time): select, then update what is still
    issued."""
    due = Coupon.objects.unscoped().filter(status=CouponStatus.ISSUED, valid_until__lte=now)
    rows = list(due.order_by("valid_until", "id").values_list("batch_id", "id")[:size])
    Coupon.objects.unscoped().filter(pk__in=[r[1] for r in rows]).update(
        status=CouponStatus.EXPIRED, updated_at=now
    )
    return rows


def _expire_chunk(now, size: int) -> int:
    """Expire up to `size` due coupons in one transaction and release what they reserved: one
    release per batch, named by the chunk's first coupon (a coupon expires once, so the name is
    unique). SKIP LOCKED lets two runs share the work instead of waiting on each other."""
    table = Coupon._meta.db_table
    with transaction.atomic():
        if connection.vendor != "postgresql":
            rows = _expire_rows_portable(now, size)
        else:
            rows = _expire_rows_postgres(table, now, size)
        per_batch: dict[int, list[int]] = {}
        for batch_id, coupon_id in rows:
            per_batch.setdefault(batch_id, []).append(coupon_id)
        batches = (
            CouponBatch.objects.unscoped()
            .filter(pk__in=per_batch)
            .select_related("tenant", "campaign", "campaign__budget")
        )
        for batch in batches:
            ids = per_batch[batch.pk]
            amount = (batch.unit_cost * len(ids)).quantize(CENT)
            budget_release(
                tenant=batch.tenant,
                budget=batch.campaign.budget,
                amount=amount,
                reference=f"coupon-batch:{batch.pk}:expire:{min(ids)}",
                campaign=batch.campaign,
                source="coupon_expiry",
                note=f"{batch.name}: {len(ids)} coupons expired",
            )
    return len(rows)


def coupons_expire_due(*, now=None, chunk: int = EXPIRE_CHUNK) -> int:
    """Expire every issued coupon past its validity, chunk by chunk (platform-wide: the beat
    runs it). Safe to run twice or at once: a coupon leaves `issued` in exactly one chunk."""
    now = now or timezone.now()
    total = 0
    while True:
        done = _expire_chunk(now, chunk)
        total += done
        if done < chunk:
            return total


# --- fraud limits ("wool party": many accounts, one device) ------------------------------------


def fraud_limit_text(limit: str) -> str:
    """What an operator or integrator reads for a `fraud_limit` refusal."""
    return {
        FraudLimit.CUSTOMER_DAILY: _("Limit reached: the customer's redemptions per day."),
        FraudLimit.DEVICE: _("Limit reached: customers served by this device today."),
        FraudLimit.PHONE: _("Limit reached: customers served by this phone today."),
        FraudLimit.CAMPAIGN: _("Limit reached: the customer's redemptions in this campaign."),
        FraudLimit.BATCH_PER_CUSTOMER: _("Limit reached: the batch's coupons per customer."),
        FraudLimit.BATCH_FREQUENCY_CAP: _("Limit reached: the batch's frequency cap."),
    }[limit]


def customer_blocked(*, tenant, customer: Customer) -> bool:
    return BlockedCustomer.objects.for_tenant(tenant).filter(customer=customer).exists()


def _fingerprint_customers(model, tenant, field: str, value: str, since) -> set[int]:
    return set(
        model.objects.for_tenant(tenant)
        .filter(**{field: value, "created_at__gte": since})
        .values_list("customer_id", flat=True)
        .distinct()
    )


def _lock_customer(tenant, customer: Customer) -> None:
    """Serialise one customer's redemptions. NO KEY: rows that merely reference the customer
    (coupons issued to them, orders) are not held up."""
    list(
        Customer.objects.for_tenant(tenant)
        .filter(pk=customer.pk)
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def _lock_fingerprints(tenant, *fingerprints: str) -> None:
    """Serialise the redemptions that carry one device or phone (different customers, so no row
    to lock): a transaction-scoped advisory lock per fingerprint, in a fixed order."""
    if connection.vendor != "postgresql":
        return  # SQLite runs one writer at a time anyway
    keys = sorted({f"fingerprint:{tenant.pk}:{value}" for value in fingerprints if value})
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _fraud_limit_hit(
    tenant,
    customer: Customer,
    device: str,
    phone: str,
    *,
    campaign_id: int | None = None,
    lock: bool = False,
) -> str | None:
    """The first of the tenant's fraud limits the customer's next redemption (or event issue)
    would break, or None: their redemptions today; other customers the order's device or phone
    served today; their live redemptions of the campaign, when it has a limit. Under `lock`
    (redeem) the customer's row and the fingerprints are locked before counting, so redemptions
    racing for the last place under a limit are counted one after the other."""
    limits = tenant_fraud_settings(tenant)
    if lock:
        _lock_customer(tenant, customer)
        _lock_fingerprints(tenant, device, phone)
    since = timezone.now() - timedelta(days=1)
    live = CouponRedemption.objects.for_tenant(tenant).filter(
        customer=customer, rolled_back_at__isnull=True
    )
    if live.filter(redeemed_at__gte=since).count() >= limits.customer_daily:
        return FraudLimit.CUSTOMER_DAILY
    for limit, field, value in (
        (FraudLimit.DEVICE, "device_fingerprint", device),
        (FraudLimit.PHONE, "phone_fingerprint", phone),
    ):
        if value:
            others = _fingerprint_customers(CouponRedemption, tenant, field, value, since)
            others |= _fingerprint_customers(Event, tenant, field, value, since)
            others.discard(customer.pk)
            if len(others) >= limits.fingerprint_customers:
                return limit
    if campaign_id is not None:
        cap = (
            CampaignRedemptionLimit.objects.for_tenant(tenant)
            .filter(campaign_id=campaign_id)
            .values_list("max_per_customer", flat=True)
            .first()
        )
        if cap is not None and live.filter(batch__campaign_id=campaign_id).count() >= cap:
            return FraudLimit.CAMPAIGN
    return None


FRAUD_FIELDS = ("customer_daily", "fingerprint_customers")


def _fraud_snapshot(tenant) -> dict:
    row = tenant_fraud_settings(tenant)
    limits = CampaignRedemptionLimit.objects.for_tenant(tenant).order_by("campaign_id")
    return {
        **{field: getattr(row, field) for field in FRAUD_FIELDS},
        "campaign_limits": {str(lim.campaign_id): lim.max_per_customer for lim in limits},
    }


def fraud_settings_changeable(actor: Actor) -> bool:
    """Campaign managers without a region or business-unit scope (SPEC §7): the limits bind
    every campaign of the tenant."""
    return (
        actor.can(Action.CAMPAIGNS_MANAGE)
        and actor.region_ids is None
        and actor.business_unit_id is None
    )


@transaction.atomic
def fraud_settings_update(
    *,
    tenant,
    actor: Actor,
    customer_daily: int,
    fingerprint_customers: int,
    campaign_limits: dict[Campaign, int],
) -> FraudSettings:
    """Replace the tenant's fraud limits, per-campaign limits included (a campaign left out has
    none). Tenant-wide settings: changed by campaign managers whose scope is the whole tenant."""
    actor.require(Action.CAMPAIGNS_MANAGE)
    if not fraud_settings_changeable(actor):
        raise PermissionDeniedError(_("Fraud limits are tenant-wide; your role is not."))
    errors: dict[str, list[str]] = {}
    for field, value in (
        ("customer_daily", customer_daily),
        ("fingerprint_customers", fingerprint_customers),
    ):
        if not isinstance(value, int) or value < 1:
            errors[field] = [_("A whole number, at least 1.")]
    for campaign, cap in campaign_limits.items():
        if campaign.tenant_id != tenant.pk:
            errors.setdefault("campaign_limits", []).append(_("Unknown campaign."))
        elif not isinstance(cap, int) or cap < 1:
            errors.setdefault("campaign_limits", []).append(
                _("%(campaign)s: a whole number, at least 1.") % {"campaign": campaign.name}
            )
    if errors:
        raise ValidationFailed(_("Check the fraud limits."), fields=errors)
    row, _created = (
        FraudSettings.objects.for_tenant(tenant).select_for_update().get_or_create(tenant=tenant)
    )
    before = _fraud_snapshot(tenant)
    row.customer_daily, row.fingerprint_customers = customer_daily, fingerprint_customers
    row.save()
    CampaignRedemptionLimit.objects.for_tenant(tenant).delete()
    CampaignRedemptionLimit.objects.bulk_create(
        CampaignRedemptionLimit(tenant=tenant, campaign=campaign, max_per_customer=cap)
        for campaign, cap in campaign_limits.items()
    )
    after = _fraud_snapshot(tenant)
    if after != before:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="fraud_settings.update",
            obj=row,
            before=before,
            after=after,
        )
    return row


@transaction.atomic
def customer_block(*, tenant, actor: Actor, customer: Customer, reason: str = "") -> None:
    actor.require(Action.COUPONS_SUPPORT)
    data_scope.require_customer(actor, customer)
    _, created = BlockedCustomer.objects.get_or_create(
        tenant=tenant, customer=customer, defaults={"reason": reason, "created_by": actor.user}
    )
    if created:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="customer.block",
            obj=customer,
            after={"blocked": True, "reason": reason},
        )


@transaction.atomic
def customer_unblock(*, tenant, actor: Actor, customer: Customer) -> bool:
    """Take the customer off the blocklist; False when they were not on it."""
    actor.require(Action.COUPONS_SUPPORT)
    data_scope.require_customer(actor, customer)
    deleted, _rows = BlockedCustomer.objects.for_tenant(tenant).filter(customer=customer).delete()
    if deleted:
        audit_record(tenant=tenant, actor=actor, action="customer.unblock", obj=customer, after={})
    return bool(deleted)


# --- issuance rules and events (SPEC §2.4 Automatic) ----------------------------------------------


RULE_AUDIT_FIELDS = ["batch", "event", "frequency_cap_count", "frequency_cap_days", "active"]


def _rule_cap_errors(count: int | None, days: int | None) -> dict:
    if (count is None) != (days is None) or (count is not None and (count < 1 or days < 1)):
        return {"frequency_cap": [_("Give count and days, each at least 1.")]}
    return {}


@transaction.atomic
def issuance_rule_create(
    *,
    tenant,
    actor: Actor,
    batch: CouponBatch,
    event: str,
    frequency_cap_count: int | None = None,
    frequency_cap_days: int | None = None,
) -> IssuanceRule:
    _require_campaign_change(actor, batch.campaign, Action.CAMPAIGNS_MANAGE)
    errors = _rule_cap_errors(frequency_cap_count, frequency_cap_days)
    if event not in EventType.values:
        errors["event"] = [_("Unknown event type.")]
    if errors:
        raise ValidationFailed(_("Check the rule."), fields=errors)
    rule = IssuanceRule.objects.create(
        tenant=tenant,
        batch=batch,
        event=event,
        frequency_cap_count=frequency_cap_count,
        frequency_cap_days=frequency_cap_days,
        created_by=actor.user,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="issuance_rule.create",
        obj=rule,
        after=snapshot(rule, fields=RULE_AUDIT_FIELDS),
    )
    return rule


def _lock_rule(tenant, actor: Actor, rule: IssuanceRule) -> IssuanceRule:
    _require_campaign_change(actor, rule.batch.campaign, Action.CAMPAIGNS_MANAGE)
    return (
        IssuanceRule.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("batch", "batch__campaign")
        .get(pk=rule.pk)
    )


def _save_rule(tenant, actor: Actor, rule: IssuanceRule, before: dict, verb: str, note: str = ""):
    rule.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"issuance_rule.{verb}",
        obj=rule,
        before=before,
        after=snapshot(rule, fields=RULE_AUDIT_FIELDS),
        note=note,
    )
    return rule


@transaction.atomic
def issuance_rule_update(
    *,
    tenant,
    actor: Actor,
    rule: IssuanceRule,
    frequency_cap_count: int | None,
    frequency_cap_days: int | None,
) -> IssuanceRule:
    """Change the rule's frequency cap (None and None: no cap); it counts from the next event."""
    rule = _lock_rule(tenant, actor, rule)
    errors = _rule_cap_errors(frequency_cap_count, frequency_cap_days)
    if errors:
        raise ValidationFailed(_("Check the rule."), fields=errors)
    before = snapshot(rule, fields=RULE_AUDIT_FIELDS)
    rule.frequency_cap_count, rule.frequency_cap_days = frequency_cap_count, frequency_cap_days
    return _save_rule(tenant, actor, rule, before, "update")


def _set_rule_active(tenant, actor: Actor, rule: IssuanceRule, active: bool, note: str):
    rule = _lock_rule(tenant, actor, rule)
    if rule.active == active:
        states = {True: "active", False: "inactive"}
        raise invalid_transition(_("issuance rule"), states[rule.active], states[active])
    before = snapshot(rule, fields=RULE_AUDIT_FIELDS)
    rule.active = active
    return _save_rule(tenant, actor, rule, before, "activate" if active else "deactivate", note)


@transaction.atomic
def issuance_rule_activate(*, tenant, actor: Actor, rule: IssuanceRule, note: str = ""):
    """inactive → active: events issue the rule's batch again."""
    return _set_rule_active(tenant, actor, rule, True, note)


@transaction.atomic
def issuance_rule_deactivate(*, tenant, actor: Actor, rule: IssuanceRule, note: str = ""):
    """active → inactive: events no longer issue the rule's batch."""
    return _set_rule_active(tenant, actor, rule, False, note)


def _rule_issue(tenant, actor: Actor, event: Event, rule: IssuanceRule, customer: Customer):
    """One rule for one customer of an event: the coupon, or the reason there is none."""
    if customer_blocked(tenant=tenant, customer=customer):
        return None, CouponReason.BLOCKED
    if _fraud_limit_hit(tenant, customer, event.device_fingerprint, event.phone_fingerprint):
        return None, CouponReason.FRAUD_LIMIT
    # The holding row serialises this customer's issuance of the batch, so the rule's cap holds
    # against a concurrent event for the same customer.
    _lock_holdings(tenant, rule.batch, {customer.pk})
    if rule.frequency_cap_count:
        since = timezone.now() - timedelta(days=rule.frequency_cap_days)
        recent = (
            EventIssue.objects.for_tenant(tenant)
            .filter(rule=rule, customer=customer, coupon__isnull=False, created_at__gte=since)
            .count()
        )
        if recent >= rule.frequency_cap_count:
            return None, CouponErrorCode.LIMIT_REACHED
    try:
        with transaction.atomic():
            coupon = coupon_issue(tenant=tenant, actor=actor, batch=rule.batch, customer=customer)
    except (ConflictError, RuleRefusal) as exc:
        return None, exc.code
    return coupon, "issued"


def _may_issue(actor: Actor, campaign: Campaign) -> bool:
    """The scope half of _require_campaign_change: the actor's unit, all regions theirs."""
    if actor.business_unit_id is not None and campaign.business_unit_id != actor.business_unit_id:
        return False
    if actor.region_ids is None:
        return True
    return set(campaign.regions.values_list("pk", flat=True)) <= actor.region_ids


def _lock_event_parties(tenant, event: Event, rules, targets) -> None:
    """Before any check, in the lock order of a printed-code redemption: the targets' holding
    rows of each batch the rules issue, the targets' rows, then the event's fingerprints. Racing
    events then count caps and fraud limits one after the other."""
    ids = {target.pk for target in targets}
    for batch in sorted({rule.batch for rule in rules}, key=lambda batch: batch.pk):
        _lock_holdings(tenant, batch, ids)
    for target in sorted(targets, key=lambda target: target.pk):
        _lock_customer(tenant, target)
    _lock_fingerprints(tenant, event.device_fingerprint, event.phone_fingerprint)


@transaction.atomic
def event_receive(
    *,
    tenant,
    actor: Actor,
    event_id: str,
    type: str,
    customer: Customer,
    inviter: Customer | None = None,
    device_fingerprint: str = "",
    phone_fingerprint: str = "",
) -> tuple[Event, bool]:
    """An event from an integrator: every active rule for its type issues its batch (a referral
    to the invitee and the inviter). The same event id again returns the first event and does
    nothing: (event, created)."""
    actor.require(Action.COUPONS_ISSUE)
    if type == EventType.REFERRAL and inviter is None:
        raise ValidationFailed(
            _("A referral names the inviter."), fields={"inviter": [_("Required.")]}
        )
    data_scope.require_customer(actor, customer)  # a user's event names customers they see
    if inviter is not None:
        data_scope.require_customer(actor, inviter)
    try:
        with transaction.atomic():
            event = Event.objects.create(
                tenant=tenant,
                event_id=event_id,
                type=type,
                customer=customer,
                inviter=inviter if type == EventType.REFERRAL else None,
                device_fingerprint=device_fingerprint,
                phone_fingerprint=phone_fingerprint,
            )
    except IntegrityError:
        # A resend (or the same event racing itself): the first one did the work.
        return Event.objects.for_tenant(tenant).get(event_id=event_id), False
    targets = [customer] + ([event.inviter] if event.inviter else [])
    rules = list(
        IssuanceRule.objects.for_tenant(tenant)
        .filter(event=type, active=True, batch__status=BatchStatus.ACTIVE)
        .select_related("batch", "batch__campaign")
        .order_by("pk")
    )
    if actor.region_ids is not None or actor.business_unit_id is not None:
        # A scoped user's event fires only the rules of campaigns they may issue from: it must
        # not hand out another unit's or region's coupons (SPEC §7). Keys fire every rule.
        rules = [rule for rule in rules if _may_issue(actor, rule.batch.campaign)]
    if rules:
        _lock_event_parties(tenant, event, rules, targets)
    issues = []
    for rule in rules:
        for target in targets:
            coupon, outcome = _rule_issue(tenant, actor, event, rule, target)
            issues.append(
                EventIssue(
                    tenant=tenant,
                    event=event,
                    rule=rule,
                    customer=target,
                    coupon=coupon,
                    outcome=outcome,
                )
            )
    EventIssue.objects.bulk_create(issues)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="event.receive",
        obj=event,
        after={"type": type, "issued": sum(1 for i in issues if i.coupon is not None)},
    )
    return event, True
