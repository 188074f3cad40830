"""The periodic jobs of points (beat): pending lots whose period passed become usable, lots
whose expiry passed expire."""

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .. import locks
from ..models import Bucket, EntryKind, LedgerEntry, Lot, LotStatus, OrderAward
from .ledger import _activate_lot, _apply_takes, _entry


def points_activate_due(*, now: datetime | None = None, chunk: int = 500) -> int:
    """Pending lots of `days` programs whose period passed become usable (beat)."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            due = list(
                Lot.objects.unscoped()
                .filter(status=LotStatus.PENDING, activates_at__lte=now)
                .order_by("account_id")
                .values_list("tenant_id", "account_id")
                .distinct()[:chunk]
            )
            if not due:
                return done
            for tenant_id, account_id in sorted(due, key=lambda d: d[1]):
                done += _activate_account_due(tenant_id, account_id, now)


def _activate_account_due(tenant_id: int, account_id: int, now: datetime) -> int:
    from accounts.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    account = locks.lock_account(tenant, account_id)
    lots = locks.lock_pending_lots_due(tenant, account, now)
    awards = {
        a.lot_id: a
        for a in OrderAward.objects.for_tenant(tenant)
        .filter(lot__in=lots)
        .select_related("rule__campaign__budget", "order")
    }
    for lot in lots:
        award = awards.get(lot.pk)
        _activate_lot(
            tenant, account, lot, order=award.order if award else None,
            rule=award.rule if award else None, campaign=award.rule.campaign if award else None,
        )  # fmt: skip
    return len(lots)


def points_expire_due(*, now: datetime | None = None, chunk_accounts: int = 2000) -> int:
    """Expire every due lot, a chunk of accounts per transaction, one entry per account.

    Accounts are locked before their lots (the lock order of every other ledger write). On
    PostgreSQL each chunk is a handful of set-based statements; elsewhere a plain loop.
    """
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            accounts = list(
                Lot.objects.unscoped()
                .filter(status=LotStatus.OPEN, expires_at__lte=now)
                .order_by("account_id")
                .values_list("account_id", flat=True)
                .distinct()[:chunk_accounts]
            )
            if not accounts:
                return expired
            if connection.vendor == "postgresql":
                expired += _expire_chunk_sql(accounts, now)
            else:
                expired += _expire_chunk_orm(accounts, now)


def _expire_chunk_orm(account_ids: list[int], now: datetime) -> int:
    expired = 0
    for account in locks.lock_expiring_accounts(account_ids):
        tenant = account.tenant
        lots = locks.lock_expired_lots(tenant, account, now)
        points = sum(lot.remaining for lot in lots)
        if not points:
            continue
        entry = _entry(
            tenant, account, kind=EntryKind.EXPIRE, points=points, usable_delta=-points,
            reference=f"expire:{account.pk}:{now.isoformat()}",
        )  # fmt: skip
        _apply_takes(tenant, entry, [(lot, lot.remaining) for lot in lots],
                     empty_status=LotStatus.EXPIRED)  # fmt: skip
        expired += points
    return expired


_EXPIRE_SUMS = """
SELECT a.id, a.tenant_id, a.balance, a.pending, SUM(l.remaining)
FROM points_pointsaccount a JOIN points_lot l ON l.account_id = a.id
WHERE a.id = ANY(%(ids)s) AND l.status = 'open' AND l.expires_at <= %(now)s
GROUP BY a.id ORDER BY a.id
"""

# The lots and their movements in one statement: the UPDATE returns what each lot gave.
_EXPIRE_LOTS = """
WITH entries(account_id, entry_id) AS (SELECT * FROM unnest(%(accounts)s, %(entries)s)),
taken AS (
    UPDATE points_lot l
    SET status = 'expired', remaining = 0, updated_at = %(now)s
    FROM (
        SELECT l2.id, l2.remaining, e.entry_id FROM points_lot l2
        JOIN entries e ON e.account_id = l2.account_id
        WHERE l2.status = 'open' AND l2.expires_at <= %(now)s
    ) due
    WHERE l.id = due.id
    RETURNING l.id, l.tenant_id, due.remaining, due.entry_id
)
INSERT INTO points_lotmovement (tenant_id, entry_id, lot_id, points, created_at, updated_at)
SELECT tenant_id, entry_id, id, remaining, %(now)s, %(now)s FROM taken WHERE remaining > 0
"""

_EXPIRE_ACCOUNTS = """
UPDATE points_pointsaccount a SET balance = a.balance - v.points, updated_at = %(now)s
FROM unnest(%(accounts)s, %(points)s) AS v(id, points) WHERE a.id = v.id
"""


def _expire_chunk_sql(account_ids: list[int], now: datetime) -> int:
    # Lock the accounts first, in pk order, as every other ledger write does.
    locks.lock_account_ids(account_ids)
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_SUMS, {"ids": account_ids, "now": now})
        rows = [r for r in cursor.fetchall() if r[4]]
    if not rows:
        return 0
    stamp = now.isoformat()
    entries = LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                tenant_id=tenant_id,
                account_id=account_id,
                kind=EntryKind.EXPIRE,
                bucket=Bucket.USABLE,
                points=points,
                usable_delta=-points,
                balance_after=balance - points,
                pending_after=pending,
                reference=f"expire:{account_id}:{stamp}",
            )
            for account_id, tenant_id, balance, pending, points in rows
        ],
        batch_size=2000,
    )
    accounts = [r[0] for r in rows]
    params: dict[str, Any] = {"accounts": accounts, "now": now}
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_LOTS, {**params, "entries": [e.pk for e in entries]})
        cursor.execute(_EXPIRE_ACCOUNTS, {**params, "points": [r[4] for r in rows]})
    return sum(r[4] for r in rows)
