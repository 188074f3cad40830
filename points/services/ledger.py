"""The ledger: accounts, their entries and lots, spending, refunds, credits, activation, and the
check that the cached figures agree with the entries (SPEC §3.2, ARCHITECTURE §3).

Every entry changes its account's balance and pending in the same transaction, under the
account's row lock (`points.locks`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant, User
from accounts.permissions import Actor
from budgets import services as money
from campaigns.models import Campaign
from core.db import insert_unless_exists
from core.errors import RuleRefusal, ValidationFailed

from .. import locks
from ..engine import tier_for
from ..errors import PointsErrorCode
from ..models import (
    AwardStatus,
    Bucket,
    EntryKind,
    LedgerEntry,
    Lot,
    LotMovement,
    LotStatus,
    OrderAward,
    PointsAccount,
    PointsProgram,
    PointsRule,
)
from ..periods import lot_expires_at

if TYPE_CHECKING:
    from orders.models import Order  # points imports nothing of the orders app at run time

# --- accounts ---------------------------------------------------------------------------------


def account_for_holder(*, tenant: Tenant, program: PointsProgram, holder) -> PointsAccount:
    """The holder's account, created on first use; two first uses at once make one account."""
    return PointsAccount.objects.for_tenant(tenant).get_or_create(
        tenant=tenant, program=program, **{program.holder_field: holder}
    )[0]


def _account_key(account: PointsAccount) -> tuple[int, int]:
    return account.program_id, getattr(account, f"{account.program.holder_field}_id")


def _locked_holder_accounts(tenant: Tenant, holders: dict) -> dict:
    """{key: (program, holder)} → {key: the holder's account, locked}, in one query when the
    accounts exist (the usual case); the missing ones are created, then locked."""
    if not holders:
        return {}
    wanted = {(p.pk, h.pk): (p, h) for p, h in holders.values()}
    found = {_account_key(row): row for row in locks.lock_holder_accounts(tenant, wanted.values())}
    raced = []
    for key, (program, holder) in sorted(wanted.items()):  # one insert order for all
        if key in found:
            continue
        field = program.holder_field
        account = PointsAccount(tenant=tenant, program=program, **{field: holder})
        # First use: the new row is this transaction's alone (a concurrent first use waits on
        # its key) until the commit, as good as locked. Only one that lost that race locks.
        if insert_unless_exists(account, unique=("tenant", "program", field), partial=field):
            found[key] = account
        else:
            raced.append(account_for_holder(tenant=tenant, program=program, holder=holder))
    if raced:
        for row in locks.lock_accounts(tenant, [a.pk for a in raced]).values():
            found[_account_key(row)] = row
    return {key: found[p.pk, h.pk] for key, (p, h) in holders.items()}


def _recompute_tier(tenant: Tenant, account: PointsAccount, now: datetime) -> None:
    program = account.program
    if not program.tiers:
        return
    if program.tier_basis == "rolling_12m":
        value = (
            OrderAward.objects.for_tenant(tenant)
            .filter(account=account, status=AwardStatus.ACTIVE, placed_at__gte=now - timedelta(365))
            .aggregate(s=Sum("points"))["s"]
            or 0
        )
    else:
        value = account.lifetime_earned
    tier = tier_for(program, value)
    account.tier = tier["name"] if tier else ""


# --- the ledger -------------------------------------------------------------------------------


@dataclass
class Links:
    order: "Order | None" = None
    rule: PointsRule | None = None
    campaign: Campaign | None = None
    counterpart: PointsAccount | None = None
    source: str = ""
    operator: User | None = None
    operator_label: str = ""
    reason: str = ""


def _entry(
    tenant: Tenant,
    account: PointsAccount,
    *,
    kind: str,
    points: int,
    pending_delta: int = 0,
    usable_delta: int = 0,
    reference: str,
    links: Links | None = None,
    money_amount: Decimal = Decimal("0.00"),
) -> LedgerEntry:
    """Append an entry and move the locked account's figures by the same deltas."""
    links = links or Links()
    account.pending += pending_delta
    account.balance += usable_delta
    entry = LedgerEntry.objects.create(
        tenant=tenant,
        account=account,
        kind=kind,
        bucket=Bucket.PENDING if pending_delta and not usable_delta else Bucket.USABLE,
        points=points,
        pending_delta=pending_delta,
        usable_delta=usable_delta,
        balance_after=account.balance,
        pending_after=account.pending,
        money=money_amount,
        order=links.order,
        rule=links.rule,
        campaign=links.campaign,
        counterpart=links.counterpart,
        source=links.source,
        operator=links.operator,
        operator_label=links.operator_label,
        reason=links.reason,
        reference=reference,
    )
    account.save(
        update_fields=["balance", "pending", "lifetime_earned", "shortfall", "tier", "updated_at"]
    )
    return entry


def _entry_exists(tenant: Tenant, reference: str) -> bool:
    return LedgerEntry.objects.for_tenant(tenant).filter(reference=reference).exists()


def _take(lots: list[Lot], points: int) -> list[tuple[Lot, int]]:
    """First in, first out: which lots give how many of `points`."""
    taken = []
    for lot in lots:
        if points <= 0:
            break
        part = min(lot.remaining, points)
        if part:
            taken.append((lot, part))
            points -= part
    return taken


def _apply_takes(tenant: Tenant, entry: LedgerEntry, taken, *, empty_status=LotStatus.USED) -> None:
    for lot, part in taken:
        lot.remaining -= part
        if lot.remaining == 0:
            lot.status = empty_status
        lot.save(update_fields=["remaining", "status", "updated_at"])
    LotMovement.objects.bulk_create(
        [LotMovement(tenant=tenant, entry=entry, lot=lot, points=part) for lot, part in taken]
    )


def _new_lot(
    tenant: Tenant,
    account: PointsAccount,
    entry: LedgerEntry,
    points: int,
    *,
    status: str,
    now: datetime,
    order=None,
    expires_at=None,
    activates_at=None,
    money_amount=Decimal("0.00"),
) -> Lot:
    return Lot.objects.create(
        tenant=tenant,
        account=account,
        entry=entry,
        order=order,
        points=points,
        remaining=points,
        status=status,
        earned_at=now,
        activates_at=activates_at,
        expires_at=expires_at,
        money=money_amount,
    )


def _credit_usable(
    tenant: Tenant, account: PointsAccount, points: int, *, kind, reference, links, now, expires_at
) -> LedgerEntry:
    """Usable points in (adjust, transfer in, refund): a negative balance is repaid first."""
    repay = min(points, max(-account.balance, 0))
    entry = _entry(
        tenant, account, kind=kind, points=points, usable_delta=points, reference=reference,
        links=links,
    )  # fmt: skip
    lot = _new_lot(tenant, account, entry, points, status=LotStatus.OPEN, now=now,
                   expires_at=expires_at)  # fmt: skip
    if repay:
        _apply_takes(tenant, entry, [(lot, repay)])
    return entry


def points_spend(
    *,
    tenant: Tenant,
    actor: Actor,
    account: PointsAccount,
    points: int,
    reference: str,
    source: str = "",
    reason: str = "",
) -> LedgerEntry:
    """Spend usable points first-in, first-out (prizes, lottery draws). 422 insufficient_points.
    `reason`: what the holder's history says they spent it on (the prize's name)."""
    with transaction.atomic():
        account = locks.lock_account(tenant, account.pk)
        existing = LedgerEntry.objects.for_tenant(tenant).filter(reference=reference).first()
        if existing is not None:
            return existing
        if points <= 0:
            raise ValidationFailed(_("Spend a positive number of points."))
        if account.balance < points:
            raise RuleRefusal(
                _("Not enough usable points."), code=PointsErrorCode.INSUFFICIENT_POINTS
            )
        taken = _take(locks.lock_open_lots(tenant, account), points)
        entry = _entry(
            tenant, account, kind=EntryKind.SPEND, points=points, usable_delta=-points,
            reference=reference,
            links=Links(source=source, operator_label=actor.label, reason=reason),
        )  # fmt: skip
        _apply_takes(tenant, entry, taken)
        return entry


def points_refund(
    *, tenant: Tenant, actor: Actor, spend: LedgerEntry, points: int | None = None, reference: str
) -> LedgerEntry:
    """Give spent points back (a prize redemption undone). They keep the earliest expiry of the
    lots they came from, so a refund never extends a point's life."""
    with transaction.atomic():
        account = locks.lock_account(tenant, spend.account_id)
        existing = LedgerEntry.objects.for_tenant(tenant).filter(reference=reference).first()
        if existing is not None:
            return existing
        points = spend.points if points is None else points
        refunded = (
            LedgerEntry.objects.for_tenant(tenant)
            .filter(kind=EntryKind.REFUND, source=f"spend:{spend.pk}")
            .aggregate(s=Sum("points"))["s"]
            or 0
        )
        if spend.kind != EntryKind.SPEND or points <= 0 or refunded + points > spend.points:
            raise ValidationFailed(_("Refund at most what was spent."))
        expiries = [
            m.lot.expires_at for m in spend.movements.select_related("lot") if m.lot.expires_at
        ]
        return _credit_usable(
            tenant, account, points, kind=EntryKind.REFUND, reference=reference,
            links=Links(source=f"spend:{spend.pk}", operator_label=actor.label),
            now=timezone.now(), expires_at=min(expiries) if expiries else None,
        )  # fmt: skip


def points_credit(
    *,
    tenant: Tenant,
    actor: Actor,
    account: PointsAccount,
    points: int,
    reference: str,
    source: str,
) -> LedgerEntry:
    """Usable points a holder wins (a lottery's points outcome), idempotent by `reference`.

    No budget money moves (SPEC §2.1: a draw's points were paid for when they became usable);
    they expire as the program's earned points do."""
    with transaction.atomic():
        account = locks.lock_account(tenant, account.pk)
        existing = LedgerEntry.objects.for_tenant(tenant).filter(reference=reference).first()
        if existing is not None:
            return existing
        if points <= 0:
            raise ValidationFailed(_("Credit a positive number of points."))
        now = timezone.now()
        return _credit_usable(
            tenant, account, points, kind=EntryKind.ADJUST, reference=reference,
            links=Links(source=source, operator_label=actor.label),
            now=now, expires_at=lot_expires_at(account.program, now, tenant.zone),
        )  # fmt: skip


# --- activation: pending points become usable ------------------------------------------------


def _activate_lot(
    tenant: Tenant, account: PointsAccount, lot: Lot, **link_kwargs
) -> LedgerEntry | None:
    """pending → usable: the reservation becomes spending (SPEC §2.1)."""
    reference = f"activate:lot:{lot.pk}"
    if lot.status != LotStatus.PENDING or _entry_exists(tenant, reference):
        return None
    program = account.program
    points = lot.remaining
    repay = min(points, max(-account.balance, 0))  # a negative balance is repaid first
    links = Links(**link_kwargs)
    entry = _entry(
        tenant, account, kind=EntryKind.ACTIVATE, points=points, pending_delta=-points,
        usable_delta=points, reference=reference, money_amount=lot.money, links=links,
    )  # fmt: skip
    lot.status = LotStatus.OPEN
    lot.save(update_fields=["status", "updated_at"])
    if repay:
        _apply_takes(tenant, entry, [(lot, repay)])
    if lot.money:
        campaign = links.campaign
        assert campaign is not None, "a lot that carries money was earned under a campaign"
        money.budget_spend(
            tenant=tenant,
            budget=campaign.budget,
            amount=lot.money,
            reference=f"points:{reference}",
            campaign=campaign,
            source=f"points_program:{program.pk}",
        )
    return entry


# --- the ledger check -------------------------------------------------------------------------


def ledger_mismatches(*, account_ids=None) -> list[dict]:
    """Accounts whose cached figures disagree with their entries or lots (ARCHITECTURE §3)."""
    qs = PointsAccount.objects.unscoped().order_by("pk")
    if account_ids is not None:
        qs = qs.filter(pk__in=account_ids)
    entries = {
        row["account_id"]: row
        for row in LedgerEntry.objects.unscoped()
        .values("account_id")
        .annotate(usable=Sum("usable_delta"), pending=Sum("pending_delta"))
    }
    lots = {}
    for row in (
        Lot.objects.unscoped()
        .filter(status__in=[LotStatus.OPEN, LotStatus.PENDING])
        .values("account_id", "status")
        .annotate(s=Sum("remaining"))
    ):
        lots[(row["account_id"], row["status"])] = row["s"]
    problems = []
    for account_id, balance, pending in qs.values_list("pk", "balance", "pending").iterator():
        sums = entries.get(account_id, {"usable": 0, "pending": 0})
        open_lots = lots.get((account_id, LotStatus.OPEN), 0)
        pending_lots = lots.get((account_id, LotStatus.PENDING), 0)
        found = []
        if balance != (sums["usable"] or 0):
            found.append(f"balance {balance} != usable entries {sums['usable']}")
        if max(balance, 0) != open_lots:
            found.append(f"balance {balance} != open lots {open_lots}")
        if pending != (sums["pending"] or 0):
            found.append(f"pending {pending} != pending entries {sums['pending']}")
        if pending != pending_lots:
            found.append(f"pending {pending} != pending lots {pending_lots}")
        if found:
            problems.append({"account": account_id, "problems": found})
    return problems
