"""Every write of budgets: life cycle, adjustments, and the money service other apps call.

Money moves only through `budget_reserve/_release/_spend/_refund`: each checks the movement
fits under the budget's row lock, then inserts an entry (whose unique reference makes a retry a
no-op) and changes the budget's figures in the same statement, so reserved + spent can never pass
the amount, not even between two concurrent callers, and a refused movement writes nothing. The
CHECK constraints of `Budget` back that up. The entries are the movement log (who, when, what
for), append-only (the database refuses their UPDATE and DELETE); life-cycle changes and
approvals go to the audit log. Row locks: see `budgets.locks`.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from django.db import connection, transaction
from django.db.models import F, Field, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import BusinessUnit, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import ConflictError, ValidationFailed, invalid_transition
from core.services import audit_record, snapshot

from .errors import BudgetErrorCode, BudgetExceeded, MakerChecker
from .locks import lock_adjustment, lock_budget
from .models import (
    ZERO,
    AdjustmentStatus,
    Budget,
    BudgetAdjustment,
    BudgetEntry,
    BudgetStatus,
    EntryKind,
)

if TYPE_CHECKING:
    from campaigns.models import Campaign  # campaigns import budgets: for the types only

CENT = Decimal("0.01")
BUDGET_AUDIT_FIELDS = [
    "business_unit",
    "name",
    "purpose",
    "amount",
    "reserved",
    "spent",
    "starts_on",
    "ends_on",
    "status",
]
# Campaign statuses that may still move money; a budget under one of them cannot be closed.
LIVE_CAMPAIGN_STATUSES = ("scheduled", "running", "paused")
# Statuses of other apps' rows that still hold a reservation (budgets imports no app above it).
LIVE_COUPON_STATUS = "issued"
PENDING_LOT_STATUS = "pending"


def _budget_snapshot(budget: Budget) -> dict:
    return snapshot(budget, fields=BUDGET_AUDIT_FIELDS)


def _money(value, *, field: str = "amount", positive: bool = True) -> Decimal:
    value = Decimal(value)
    if value != value.quantize(CENT):
        raise ValidationFailed(
            _("Money has at most two decimal places."), fields={field: [_("Too many decimals.")]}
        )
    if positive and value <= 0:
        raise ValidationFailed(
            _("The amount must be positive."), fields={field: [_("Must be positive.")]}
        )
    return value


def _check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise ValidationFailed(
            _("The budget must end on or after its start."),
            fields={"ends_on": [_("Must not be before starts_on.")]},
        )


def _require_checker(actor: Actor, *made_by_ids) -> None:
    """Maker-checker: whoever made or submitted a request never decides it."""
    actor.require(Action.BUDGETS_APPROVE)
    if actor.user is not None and actor.user.pk in made_by_ids:
        raise MakerChecker()


def _audit_budget(tenant: Tenant, actor, budget: Budget, verb: str, *, before=None, note: str = ""):
    audit_record(
        tenant=tenant,
        actor=actor,
        action=f"budget.{verb}",
        obj=budget,
        before=before,
        after=_budget_snapshot(budget),
        note=note,
    )


# --- life cycle -------------------------------------------------------------------------------


@transaction.atomic
def budget_create(
    *,
    tenant: Tenant,
    actor: Actor,
    business_unit: BusinessUnit,
    name: str,
    purpose: str,
    amount: Decimal,
    starts_on: date,
    ends_on: date,
) -> Budget:
    actor.require(Action.BUDGETS_DRAFT)
    if business_unit.tenant_id != tenant.pk:
        raise ValidationFailed(_("Unknown business unit."), fields={"business_unit": ["unknown"]})
    _check_period(starts_on, ends_on)
    budget = Budget.objects.create(
        tenant=tenant,
        business_unit=business_unit,
        name=name,
        purpose=purpose,
        amount=_money(amount),
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=actor.user,
    )
    _audit_budget(tenant, actor, budget, "create")
    return budget


EDITABLE_FIELDS = ("business_unit", "name", "purpose", "amount", "starts_on", "ends_on")


@transaction.atomic
def budget_update(
    *, tenant: Tenant, actor: Actor, budget: Budget, note: str = "", **changes
) -> Budget:
    """Edit a draft; editing a rejected budget takes it back to draft (SPEC §10)."""
    actor.require(Action.BUDGETS_DRAFT)
    budget = lock_budget(tenant, budget)
    if budget.status not in (BudgetStatus.DRAFT, BudgetStatus.REJECTED):
        raise invalid_transition(_("budget"), budget.status, BudgetStatus.DRAFT)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be changed: %s.") % ", ".join(sorted(unknown))
        )
    before = _budget_snapshot(budget)
    for field, value in changes.items():
        if field == "amount":
            value = _money(value)
        setattr(budget, field, value)
    _check_period(budget.starts_on, budget.ends_on)
    budget.status = BudgetStatus.DRAFT
    budget.save()
    _audit_budget(tenant, actor, budget, "update", before=before, note=note)
    return budget


@transaction.atomic
def budget_reopen(*, tenant: Tenant, actor: Actor, budget: Budget, note: str = "") -> Budget:
    """rejected → draft, without changing anything, so it can be submitted again."""
    actor.require(Action.BUDGETS_DRAFT)
    budget = lock_budget(tenant, budget)
    return _move(tenant, actor, budget, BudgetStatus.REJECTED, BudgetStatus.DRAFT, "reopen", note)


def _move(
    tenant: Tenant, actor, budget: Budget, source: str, target: str, verb: str, note: str
) -> Budget:
    if budget.status != source:
        raise invalid_transition(_("budget"), budget.status, target)
    before = _budget_snapshot(budget)
    budget.status = target
    budget.save(update_fields=["status", "updated_at"])
    _audit_budget(tenant, actor, budget, verb, before=before, note=note)
    return budget


@transaction.atomic
def budget_submit(*, tenant: Tenant, actor: Actor, budget: Budget, note: str = "") -> Budget:
    actor.require(Action.BUDGETS_DRAFT)
    budget = lock_budget(tenant, budget)
    budget.submitted_by = actor.user
    budget.submitted_at = timezone.now()
    budget.submit_note = note
    budget.save(update_fields=["submitted_by", "submitted_at", "submit_note", "updated_at"])
    return _move(tenant, actor, budget, BudgetStatus.DRAFT, BudgetStatus.SUBMITTED, "submit", note)


@transaction.atomic
def budget_approve(*, tenant: Tenant, actor: Actor, budget: Budget, note: str = "") -> Budget:
    budget = lock_budget(tenant, budget)
    _require_checker(actor, budget.created_by_id, budget.submitted_by_id)
    if budget.status != BudgetStatus.SUBMITTED:
        raise invalid_transition(_("budget"), budget.status, BudgetStatus.APPROVED)
    budget.approved_by = actor.user
    budget.approved_at = timezone.now()
    budget.decision_note = note
    budget.save(update_fields=["approved_by", "approved_at", "decision_note", "updated_at"])
    # The approved amount is the first entry, so the amount too can be rebuilt from entries.
    BudgetEntry.objects.create(
        tenant=tenant,
        budget=budget,
        kind=EntryKind.APPROVE,
        amount=budget.amount,
        amount_delta=budget.amount,
        reference="approve",
        actor_user=actor.user,
        actor_label=actor.label,
        note=note,
    )
    return _move(
        tenant, actor, budget, BudgetStatus.SUBMITTED, BudgetStatus.APPROVED, "approve", note
    )


@transaction.atomic
def budget_reject(*, tenant: Tenant, actor: Actor, budget: Budget, note: str) -> Budget:
    budget = lock_budget(tenant, budget)
    _require_checker(actor, budget.created_by_id, budget.submitted_by_id)
    if budget.status != BudgetStatus.SUBMITTED:
        raise invalid_transition(_("budget"), budget.status, BudgetStatus.REJECTED)
    if not note.strip():
        raise ValidationFailed(
            _("Say why the budget is rejected."), fields={"note": [_("Required.")]}
        )
    budget.rejected_by = actor.user
    budget.rejected_at = timezone.now()
    budget.decision_note = note
    budget.save(update_fields=["rejected_by", "rejected_at", "decision_note", "updated_at"])
    return _move(
        tenant, actor, budget, BudgetStatus.SUBMITTED, BudgetStatus.REJECTED, "reject", note
    )


@transaction.atomic
def budget_close(*, tenant: Tenant, actor: Actor, budget: Budget, note: str = "") -> Budget:
    """approved → closed: what is still reserved is released and all unused money returns."""
    actor.require(Action.BUDGETS_APPROVE)
    budget = lock_budget(tenant, budget)
    if budget.status != BudgetStatus.APPROVED:
        raise invalid_transition(_("budget"), budget.status, BudgetStatus.CLOSED)
    if budget.campaigns.filter(status__in=LIVE_CAMPAIGN_STATUSES).exists():
        raise ConflictError(
            _("End the campaigns under this budget before closing it."),
            code=BudgetErrorCode.BUDGET_IN_USE,
        )
    # What is still owed must be paid from this budget: coupons that stay valid past their
    # ended campaign (extend_past_campaign) and points still pending. Closing would leave their
    # redemption, expiry or activation with no reservation to move, and refused.
    campaigns = budget.campaigns.all()
    if campaigns.filter(coupon_batches__coupons__status=LIVE_COUPON_STATUS).exists():
        raise ConflictError(
            _(
                "Coupons under this budget are still valid: close it after they expire or are "
                "voided."
            ),
            code=BudgetErrorCode.BUDGET_IN_USE,
        )
    if campaigns.filter(points_rules__awards__lot__status=PENDING_LOT_STATUS).exists():
        raise ConflictError(
            _(
                "Points paid from this budget are still pending: close it after their orders "
                "complete or close."
            ),
            code=BudgetErrorCode.BUDGET_IN_USE,
        )
    if budget.reserved > 0:
        BudgetEntry.objects.create(
            tenant=tenant,
            budget=budget,
            kind=EntryKind.CLOSE,
            amount=budget.reserved,
            reserved_delta=-budget.reserved,
            reference="close",
            actor_user=actor.user,
            actor_label=actor.label,
            note=note,
        )
        budget.reserved = ZERO
    budget.closed_by = actor.user
    budget.closed_at = timezone.now()
    budget.save(update_fields=["reserved", "closed_by", "closed_at", "updated_at"])
    return _move(tenant, actor, budget, BudgetStatus.APPROVED, BudgetStatus.CLOSED, "close", note)


# --- adjustments ------------------------------------------------------------------------------


def _adjustment_snapshot(adjustment: BudgetAdjustment) -> dict:
    return snapshot(adjustment, fields=["budget", "amount_delta", "reason", "status"])


@transaction.atomic
def budget_adjustment_create(
    *, tenant: Tenant, actor: Actor, budget: Budget, amount_delta: Decimal, reason: str
) -> BudgetAdjustment:
    """Ask to change an approved budget's amount; it applies when another finance user approves."""
    actor.require(Action.BUDGETS_DRAFT)
    amount_delta = _money(amount_delta, field="amount_delta", positive=False)
    if amount_delta == 0:
        raise ValidationFailed(
            _("An adjustment changes the amount."), fields={"amount_delta": [_("Must not be 0.")]}
        )
    if not reason.strip():
        raise ValidationFailed(_("Say why."), fields={"reason": [_("Required.")]})
    if budget.status != BudgetStatus.APPROVED:
        raise ConflictError(
            _("Only an approved budget is adjusted; edit a draft directly."),
            code=BudgetErrorCode.BUDGET_NOT_ACTIVE,
        )
    adjustment = BudgetAdjustment.objects.create(
        tenant=tenant,
        budget=budget,
        amount_delta=amount_delta,
        reason=reason,
        created_by=actor.user,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="budget_adjustment.create",
        obj=adjustment,
        after=_adjustment_snapshot(adjustment),
        note=reason,
    )
    return adjustment


def _pending_adjustment(
    tenant: Tenant, adjustment: BudgetAdjustment, target: str
) -> BudgetAdjustment:
    adjustment = lock_adjustment(tenant, adjustment)
    if adjustment.status != AdjustmentStatus.PENDING:
        raise invalid_transition(_("adjustment"), adjustment.status, target)
    return adjustment


@transaction.atomic
def budget_adjustment_approve(
    *, tenant: Tenant, actor: Actor, adjustment: BudgetAdjustment, note: str = ""
) -> BudgetAdjustment:
    adjustment = _pending_adjustment(tenant, adjustment, AdjustmentStatus.APPROVED)
    _require_checker(actor, adjustment.created_by_id)
    budget = lock_budget(tenant, adjustment.budget)
    before_budget = _budget_snapshot(budget)
    before = _adjustment_snapshot(adjustment)
    delta = adjustment.amount_delta
    # A decrease may not cut below what is already committed (the CHECK would refuse it too).
    if budget.status != BudgetStatus.APPROVED:
        raise ConflictError(
            _("The budget is no longer open."), code=BudgetErrorCode.BUDGET_NOT_ACTIVE
        )
    if budget.amount + delta < budget.reserved + budget.spent:
        raise BudgetExceeded(_("The budget has already committed more than this would leave."))
    BudgetEntry.objects.create(
        tenant=tenant,
        budget=budget,
        kind=EntryKind.ADJUST,
        amount=abs(delta),
        amount_delta=delta,
        reference=f"adjustment:{adjustment.pk}",
        actor_user=actor.user,
        actor_label=actor.label,
        note=adjustment.reason,
    )
    budget.amount += delta
    budget.save(update_fields=["amount", "updated_at"])
    adjustment.status = AdjustmentStatus.APPROVED
    adjustment.decided_by = actor.user
    adjustment.decided_at = timezone.now()
    adjustment.decision_note = note
    adjustment.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="budget_adjustment.approve",
        obj=adjustment,
        before=before,
        after=_adjustment_snapshot(adjustment),
        note=note,
    )
    _audit_budget(tenant, actor, budget, "adjust", before=before_budget, note=adjustment.reason)
    return adjustment


@transaction.atomic
def budget_adjustment_reject(
    *, tenant: Tenant, actor: Actor, adjustment: BudgetAdjustment, note: str
) -> BudgetAdjustment:
    adjustment = _pending_adjustment(tenant, adjustment, AdjustmentStatus.REJECTED)
    _require_checker(actor, adjustment.created_by_id)
    if not note.strip():
        raise ValidationFailed(_("Say why."), fields={"note": [_("Required.")]})
    before = _adjustment_snapshot(adjustment)
    adjustment.status = AdjustmentStatus.REJECTED
    adjustment.decided_by = actor.user
    adjustment.decided_at = timezone.now()
    adjustment.decision_note = note
    adjustment.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="budget_adjustment.reject",
        obj=adjustment,
        before=before,
        after=_adjustment_snapshot(adjustment),
        note=note,
    )
    return adjustment


# --- the money service ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Movement:
    kind: str
    reserved_delta: int  # -1, 0 or +1 times the amount
    spent_delta: int
    statuses: tuple[str, ...]  # budget statuses the movement is allowed in
    room: str  # what must hold before it: "available", "reserved" or "spent"


def _refusal(movement: _Movement):
    if movement.room == "available":
        return BudgetExceeded(_("Not enough budget available."))
    if movement.room == "reserved":
        return ConflictError(
            _("Less is reserved than this would take."),
            code=BudgetErrorCode.RESERVATION_EXCEEDED,
        )
    return ConflictError(
        _("Less was spent than this would refund."), code=BudgetErrorCode.REFUND_EXCEEDED
    )


def _condition(room: str, amount: Decimal) -> Q:
    if room == "available":
        return Q(amount__gte=F("reserved") + F("spent") + amount)
    return Q(**{f"{room}__gte": amount})


def _existing_entry(tenant: Tenant, budget, kind, reference) -> BudgetEntry | None:
    return (
        BudgetEntry.objects.for_tenant(tenant)
        .filter(budget=budget, kind=kind, reference=reference)
        .first()
    )


_CONDITION_SQL = {
    "available": "amount >= reserved + spent + %s",
    "reserved": "reserved >= %s",
    "spent": "spent >= %s",
}


def _insert_columns(entry: BudgetEntry) -> tuple[str, str, list]:
    """The column list, typed placeholders and values of the unsaved `entry`'s INSERT.

    Typed because the values come through a SELECT, where PostgreSQL would take them for text.
    """
    fields = [f for f in entry._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(f"CAST(%s AS {f.db_type(connection)})" for f in fields)
    values = [f.get_db_prep_save(f.pre_save(entry, True), connection) for f in fields]
    return columns, placeholders, values


def _saved(entry: BudgetEntry, pk: int) -> None:
    entry.pk = pk
    entry._state.adding = False
    entry._state.db = connection.alias


def _move_and_record(tenant: Tenant, budget: Budget, movement: _Movement, amount, entry) -> bool:
    """Move the money and insert its entry, or write nothing: False when the movement does not
    fit (or the budget's status forbids it) and when the entry's reference is taken (a retry).
    On success `budget` holds the figures the movement left.

    On PostgreSQL this is one statement: it locks the budget's row only if the movement fits
    (FOR NO KEY UPDATE, the lock of the UPDATE that follows; after waiting for a concurrent
    writer of the row PostgreSQL re-checks the condition against the committed figures), inserts
    the entry only then (its unique reference is the claim: the second of two concurrent calls
    waits for the first, then inserts nothing), and changes the figures only if the entry went
    in, the new ones coming back (RETURNING). The row stays locked from this statement to the
    commit, and every order's award takes it, so it is one round trip under the lock.
    """
    now = timezone.now()
    if connection.vendor != "postgresql":
        # SQLite: the transaction took the database's write lock at BEGIN (IMMEDIATE), so the
        # look-up, the UPDATE and the INSERT are not interleaved with any other writer.
        if _existing_entry(tenant, budget, movement.kind, entry.reference) is not None:
            return False
        updated = (
            Budget.objects.for_tenant(tenant)
            .filter(pk=budget.pk, status__in=movement.statuses)
            .filter(_condition(movement.room, amount))
            .update(
                reserved=F("reserved") + amount * movement.reserved_delta,
                spent=F("spent") + amount * movement.spent_delta,
                updated_at=now,
            )
        )
        if updated != 1:
            return False
        entry.save(force_insert=True)
        budget.refresh_from_db(fields=["amount", "reserved", "spent", "status"])
        return True
    quote = connection.ops.quote_name
    budgets, entries = quote(Budget._meta.db_table), quote(BudgetEntry._meta.db_table)
    columns, placeholders, values = _insert_columns(entry)
    unique = ", ".join(
        quote(cast(Field, BudgetEntry._meta.get_field(name)).column)  # concrete fields
        for name in ("tenant", "budget", "kind", "reference")
    )
    statuses = ", ".join(["%s"] * len(movement.statuses))
    with connection.cursor() as cursor:
        cursor.execute(
            # Table and column names from the models; every value is bound.
            f"WITH fits AS (SELECT id FROM {budgets}"
            f" WHERE id = %s AND tenant_id = %s AND status IN ({statuses})"
            f" AND {_CONDITION_SQL[movement.room]} FOR NO KEY UPDATE),"
            f" recorded AS (INSERT INTO {entries} ({columns}) SELECT {placeholders} FROM fits"
            f" ON CONFLICT ({unique}) DO NOTHING RETURNING id)"
            f" UPDATE {budgets} SET reserved = reserved + %s, spent = spent + %s, updated_at = %s"
            f" FROM recorded WHERE {budgets}.id = %s"
            f" RETURNING recorded.id, amount, reserved, spent, status",
            [
                budget.pk,
                tenant.pk,
                *movement.statuses,
                amount,
                *values,
                amount * movement.reserved_delta,
                amount * movement.spent_delta,
                now,
                budget.pk,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    entry_pk, budget.amount, budget.reserved, budget.spent, budget.status = row
    budget.updated_at = now
    _saved(entry, entry_pk)
    return True


def _refusal_of(tenant: Tenant, budget: Budget, movement: _Movement):
    status = (
        Budget.objects.for_tenant(tenant)
        .filter(pk=budget.pk)
        .values_list("status", flat=True)
        .first()
    )
    if status not in movement.statuses:
        return ConflictError(
            _("Money moves only on an approved budget."),
            code=BudgetErrorCode.BUDGET_NOT_ACTIVE,
        )
    return _refusal(movement)


def _money_move(
    *,
    tenant: Tenant,
    budget: Budget,
    movement: _Movement,
    amount,
    reference: str,
    actor: Actor | None,
    campaign: "Campaign | None" = None,
    source: str = "",
    note: str = "",
) -> BudgetEntry:
    amount = _money(amount)
    if not reference:
        raise ValidationFailed(_("A reference is required."), fields={"reference": ["required"]})
    actor = actor or Actor.for_system(tenant)
    entry = BudgetEntry(
        tenant=tenant,
        budget=budget,
        kind=movement.kind,
        amount=amount,
        reserved_delta=amount * movement.reserved_delta,
        spent_delta=amount * movement.spent_delta,
        reference=reference,
        campaign=campaign,
        source=source,
        actor_user=actor.user,
        actor_label=actor.label,
        note=note,
    )
    existing = refusal = None
    # One transaction (the caller's, if any) without a savepoint: a savepoint and its release
    # would be two more round trips, the release while the budget's row is locked. Errors are
    # raised only once out of the block, so the caller's transaction stays usable.
    with transaction.atomic(savepoint=False):
        # The check comes before the entry is written: a refused movement writes nothing, and
        # the entry table is append-only (no entry to take back).
        if not _move_and_record(tenant, budget, movement, amount, entry):
            existing = _existing_entry(tenant, budget, movement.kind, reference)
            if existing is None:
                refusal = _refusal_of(tenant, budget, movement)
    if refusal is not None:
        raise refusal
    if existing is not None:  # a retry: the money moved with the first call
        if existing.amount != amount:
            raise ConflictError(
                _("This reference was already used with another amount."),
                code=BudgetErrorCode.REFERENCE_REUSED,
            )
        return existing
    return entry


_OPEN = (BudgetStatus.APPROVED,)
_OPEN_OR_CLOSED = (BudgetStatus.APPROVED, BudgetStatus.CLOSED)
RESERVE = _Movement(EntryKind.RESERVE, +1, 0, _OPEN, "available")
RELEASE = _Movement(EntryKind.RELEASE, -1, 0, _OPEN_OR_CLOSED, "reserved")
SPEND_RESERVED = _Movement(EntryKind.SPEND, -1, +1, _OPEN, "reserved")
SPEND_AVAILABLE = _Movement(EntryKind.SPEND, 0, +1, _OPEN, "available")
REFUND = _Movement(EntryKind.REFUND, 0, -1, _OPEN_OR_CLOSED, "spent")
REFUND_TO_RESERVED = _Movement(EntryKind.REFUND, +1, -1, _OPEN, "spent")


def budget_reserve(
    *,
    tenant: Tenant,
    budget: Budget,
    amount,
    reference: str,
    actor: Actor | None = None,
    campaign: "Campaign | None" = None,
    source: str = "",
    note: str = "",
) -> BudgetEntry:
    """Commit money (a batch activated, points pending): 409 budget_exceeded if it won't fit."""
    return _money_move(
        tenant=tenant,
        budget=budget,
        movement=RESERVE,
        amount=amount,
        reference=reference,
        actor=actor,
        campaign=campaign,
        source=source,
        note=note,
    )


def budget_release(
    *,
    tenant: Tenant,
    budget: Budget,
    amount,
    reference: str,
    actor: Actor | None = None,
    campaign: "Campaign | None" = None,
    source: str = "",
    note: str = "",
) -> BudgetEntry:
    """Give back part of a reservation (coupons expired, batch ended, pending points cancelled)."""
    return _money_move(
        tenant=tenant,
        budget=budget,
        movement=RELEASE,
        amount=amount,
        reference=reference,
        actor=actor,
        campaign=campaign,
        source=source,
        note=note,
    )


def budget_spend(
    *,
    tenant: Tenant,
    budget: Budget,
    amount,
    reference: str,
    from_reserved: bool = True,
    actor: Actor | None = None,
    campaign: "Campaign | None" = None,
    source: str = "",
    note: str = "",
) -> BudgetEntry:
    """Pay: reserved → spent (a coupon redeemed), or straight from available when nothing was
    reserved for it (then 409 budget_exceeded if it won't fit)."""
    return _money_move(
        tenant=tenant,
        budget=budget,
        movement=SPEND_RESERVED if from_reserved else SPEND_AVAILABLE,
        amount=amount,
        reference=reference,
        actor=actor,
        campaign=campaign,
        source=source,
        note=note,
    )


def budget_refund(
    *,
    tenant: Tenant,
    budget: Budget,
    amount,
    reference: str,
    to_reserved: bool = False,
    actor: Actor | None = None,
    campaign: "Campaign | None" = None,
    source: str = "",
    note: str = "",
) -> BudgetEntry:
    """Undo a payment: spent → available (usable points reversed), or spent → reserved when the
    coupon that was redeemed is back in the customer's hands (a redemption rolled back)."""
    return _money_move(
        tenant=tenant,
        budget=budget,
        movement=REFUND_TO_RESERVED if to_reserved else REFUND,
        amount=amount,
        reference=reference,
        actor=actor,
        campaign=campaign,
        source=source,
        note=note,
    )


# --- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetMismatch:
    budget_id: int
    tenant_id: int
    field: str
    stored: Decimal
    rebuilt: Decimal


def budgets_verify(*, tenant: Tenant | None = None) -> list[BudgetMismatch]:
    """Rebuild amount, reserved and spent from the entries and list every budget that differs.

    The amount is rebuilt only once a budget is approved: before that it is a draft figure with
    no entry behind it. Runs over one tenant, or over all of them for the check command.
    """
    from django.db.models import Sum
    from django.db.models.functions import Coalesce

    budgets = Budget.objects.unscoped() if tenant is None else Budget.objects.for_tenant(tenant)
    rows = budgets.annotate(
        e_amount=Coalesce(Sum("entries__amount_delta"), ZERO),
        e_reserved=Coalesce(Sum("entries__reserved_delta"), ZERO),
        e_spent=Coalesce(Sum("entries__spent_delta"), ZERO),
    ).values(
        "pk",
        "tenant_id",
        "status",
        "amount",
        "reserved",
        "spent",
        "e_amount",
        "e_reserved",
        "e_spent",
    )
    mismatches = []
    for row in rows.order_by("pk"):
        checks = [
            ("reserved", row["reserved"], row["e_reserved"]),
            ("spent", row["spent"], row["e_spent"]),
        ]
        if row["status"] in _OPEN_OR_CLOSED:
            checks.append(("amount", row["amount"], row["e_amount"]))
        for field, stored, rebuilt in checks:
            if stored != rebuilt:
                mismatches.append(
                    BudgetMismatch(row["pk"], row["tenant_id"], field, stored, rebuilt)
                )
    return mismatches
