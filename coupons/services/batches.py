"""Coupon batches: their design (SPEC §2.3) and their life cycle."""

import re
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Merchant, Region, Tenant
from accounts.permissions import Actor
from budgets.services import budget_release, budget_reserve
from campaigns.models import Campaign, CampaignStatus
from campaigns.scope import campaign_require_change
from core.errors import ConflictError, CoreErrorCode, ValidationFailed, invalid_transition
from core.services import audit_record, snapshot

from .. import codes as code_gen
from .. import locks
from ..errors import CouponErrorCode
from ..models import BATCH_MOVES, ZERO, BatchKind, BatchStatus, CodeMode, Coupon, CouponBatch
from ._common import CENT

PREFIX_RE = re.compile(r"^[A-Z0-9-]{0,16}$")
SHARED_CODE_RE = re.compile(r"^[A-Z0-9-]{4,32}$")
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


def _batch_snapshot(batch: CouponBatch) -> dict:
    data = snapshot(batch, fields=BATCH_AUDIT_FIELDS)
    if batch.pk:
        data["scope_merchants"] = sorted(m.code for m in batch.scope_merchants.all())
        data["scope_regions"] = sorted(r.code for r in batch.scope_regions.all())
    return data


def _money(value) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(CENT)


# Each check of a batch's design adds what fails to `fail(field, message)`; _validate_batch runs
# them all, so a form shows every problem at once.
_Fail = Callable[[str, str], None]


def _check_discount(campaign: Campaign, data: dict, fail: _Fail) -> None:
    """The kind, its value, and a percentage's cap."""
    kind, value, max_discount = data["kind"], data["value"], data.get("max_discount")
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


def _check_threshold(campaign: Campaign, data: dict, fail: _Fail) -> None:
    """The order amount a coupon needs: required above the amount off, none for cash."""
    kind, value, threshold = data["kind"], data["value"], data.get("threshold")
    if kind == BatchKind.AMOUNT_OFF:
        if threshold is None:
            fail("threshold", _("Required for amount_off."))
        elif value is not None and threshold <= value:
            fail("threshold", _("Must be above the amount off."))
    if kind == BatchKind.CASH and threshold is not None:
        fail("threshold", _("A cash voucher has no threshold."))
    if threshold is not None and threshold < 0:
        fail("threshold", _("Must not be negative."))


def _check_validity(campaign: Campaign, data: dict, fail: _Fail) -> None:
    """A fixed window or a number of days, within the campaign unless the batch extends it."""
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


def _check_limits(campaign: Campaign, data: dict, fail: _Fail) -> None:
    """The quantity, the per-customer limit and the frequency cap."""
    quantity, limit = data.get("quantity"), data.get("per_customer_limit", 1)
    if quantity is None or quantity < 1:
        fail("quantity", _("Must be at least 1."))
    if limit is None or limit < 1:
        fail("per_customer_limit", _("Must be at least 1."))
    cap_count, cap_days = data.get("frequency_cap_count"), data.get("frequency_cap_days")
    if (cap_count is None) != (cap_days is None):
        fail("frequency_cap", _("Give both count and days."))
    elif cap_count is not None and cap_days is not None and (cap_count < 1 or cap_days < 1):
        fail("frequency_cap", _("Count and days must be at least 1."))


def _check_codes(campaign: Campaign, data: dict, fail: _Fail) -> None:
    """Unique codes' length and prefix, or a shared code free in the tenant."""
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
        elif _shared_code_taken(campaign.tenant_id, shared, batch_pk=data.get("pk")):
            fail("code.shared_code", _("This code is taken in your tenant."))
    else:
        fail("code.mode", _("Unknown code mode."))


def _shared_code_taken(tenant_id: int, shared: str, *, batch_pk: int | None) -> bool:
    """Another batch's shared code, or a unique coupon code, of the tenant."""
    taken = CouponBatch.objects.for_tenant(tenant_id).filter(shared_code=shared)
    if batch_pk:
        taken = taken.exclude(pk=batch_pk)
    return taken.exists() or Coupon.objects.for_tenant(tenant_id).filter(code=shared).exists()


_BATCH_CHECKS = (_check_discount, _check_threshold, _check_validity, _check_limits, _check_codes)


def _validate_batch(campaign: Campaign, data: dict) -> None:
    """Every rule of SPEC §2.3 on a batch's design; all failures at once, by field."""
    errors: dict[str, list[str]] = {}

    def fail(field, message):
        errors.setdefault(field, []).append(message)

    for check in _BATCH_CHECKS:
        check(campaign, data, fail)
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


def _check_scope_rows(tenant: Tenant, actor: Actor, merchants, regions) -> None:
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
    tenant: Tenant,
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
    campaign_require_change(actor=actor, campaign=campaign)
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


@transaction.atomic
def batch_update(
    *,
    tenant: Tenant,
    actor: Actor,
    batch: CouponBatch,
    **changes,  # a partial update: only the fields sent change
) -> CouponBatch:
    """Change a draft batch's design; once active its terms are what customers were given."""
    campaign_require_change(actor=actor, campaign=batch.campaign)
    scope_merchants = changes.pop("scope_merchants", None)
    scope_regions = changes.pop("scope_regions", None)
    unknown = set(changes) - set(BATCH_FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown fields: %s.") % ", ".join(sorted(unknown)))
    batch = locks.lock_batch(tenant, batch)
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


def _move(batch: CouponBatch, target: str, *, source: str | None = None) -> dict:
    """Set the new status if the life cycle allows it (and the batch is in `source`, for the
    two moves into active: activate from draft, resume from paused); returns the audit's
    `before`."""
    if target not in BATCH_MOVES[batch.status] or (source and batch.status != source):
        raise invalid_transition(_("coupon batch"), batch.status, target)
    before = _batch_snapshot(batch)
    batch.status = target
    return before


def _save_move(tenant: Tenant, actor, batch: CouponBatch, before: dict, verb: str, note: str = ""):
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
def batch_activate(
    *, tenant: Tenant, actor: Actor, batch: CouponBatch, note: str = ""
) -> CouponBatch:
    """draft → active: reserve quantity x the most one coupon can cost (409 budget_exceeded)."""
    campaign_require_change(actor=actor, campaign=batch.campaign)
    batch = locks.lock_batch(tenant, batch)
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
def batch_pause(*, tenant: Tenant, actor: Actor, batch: CouponBatch, note: str = "") -> CouponBatch:
    campaign_require_change(actor=actor, campaign=batch.campaign)
    batch = locks.lock_batch(tenant, batch)
    before = _move(batch, BatchStatus.PAUSED)
    return _save_move(tenant, actor, batch, before, "pause", note)


@transaction.atomic
def batch_resume(
    *, tenant: Tenant, actor: Actor, batch: CouponBatch, note: str = ""
) -> CouponBatch:
    campaign_require_change(actor=actor, campaign=batch.campaign)
    batch = locks.lock_batch(tenant, batch)
    before = _move(batch, BatchStatus.ACTIVE, source=BatchStatus.PAUSED)
    _require_campaign_open(batch.campaign)
    return _save_move(tenant, actor, batch, before, "resume", note)


@transaction.atomic
def batch_end(*, tenant: Tenant, actor: Actor, batch: CouponBatch, note: str = "") -> CouponBatch:
    """active | paused → ended: the stock never issued gives its reservation back. Coupons already
    issued keep theirs until they are redeemed, expire or are voided (SPEC §2.1)."""
    campaign_require_change(actor=actor, campaign=batch.campaign)
    batch = locks.lock_batch(tenant, batch)
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
