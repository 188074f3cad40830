"""The money service other apps call, and the check that rebuilds the figures from the entries.

Money moves only through `budget_reserve/_release/_spend/_refund`: each checks the movement
fits under the budget's row lock, then inserts an entry (whose unique reference makes a retry a
no-op) and changes the budget's figures in the same statement, so reserved + spent can never pass
the amount, not even between two concurrent callers, and a refused movement writes nothing. The
CHECK constraints of `Budget` back that up. The entries are the movement log (who, when, what
for), append-only (the database refuses their UPDATE and DELETE). Row locks: see `budgets.locks`.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from django.db import connection, transaction
from django.db.models import F, Field, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from core.errors import ConflictError, ValidationFailed

from ..errors import BudgetErrorCode, BudgetExceeded
from ..models import ZERO, Budget, BudgetEntry, BudgetStatus, EntryKind
from ._common import _money

if TYPE_CHECKING:
    from campaigns.models import Campaign  # campaigns import budgets: for the types only


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
