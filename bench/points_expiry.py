"""Benchmark: expiring 100,000 due lots among 1,000,000, against one raw SQL statement.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pointsops_bench_expiry \
    .venv/bin/python bench/points_expiry.py [--lots 1000000] [--due 100000] [--accounts 10000]

Both run in the same process on the same data:
1. raw: one set-based `UPDATE points_lot SET status='expired', remaining=0 WHERE due`, rolled
   back (then VACUUM ANALYZE, so the service meets the same table);
2. service: `points.services.points_expire_due` — the whole job: accounts locked in chunks, one
   ledger entry per account, every lot expired with a movement saying what it gave, balances
   moved — followed by check_ledger.

Prints both times and raw/service (target >= 0.3) and writes them to docs/benchmarks.md
(section "Points expiry"). Not a test: the figures depend on the machine.
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from http_load import ensure_database  # noqa: E402  (after the path set-up above)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pointsops_bench_expiry")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("LOG_LEVEL", "WARNING")

NOW = datetime(2026, 12, 1, tzinfo=UTC)


# Lots n = 0 … lots-1 belong to account n % accounts; every (lots/due)-th lot is due (expired
# a day before NOW), the others expire later. Each lot came in with one adjust entry, so every
# account adds up before the run (check_ledger proves it after).
GENERATE = """
INSERT INTO points_ledgerentry (tenant_id, account_id, kind, bucket, points, pending_delta,
    usable_delta, balance_after, pending_after, money, source, operator_label, reason,
    reference, created_at, updated_at)
SELECT %(t)s, %(first)s + n %% %(accounts)s, 'adjust', 'usable', 10, 0, 10, 0, 0, 0, '', 'bench',
    'bench', 'bench:' || n, %(earned)s, %(earned)s
FROM generate_series(0, %(lots)s - 1) AS n;

INSERT INTO points_lot (tenant_id, account_id, entry_id, points, remaining, status, earned_at,
    expires_at, money, created_at, updated_at)
SELECT e.tenant_id, e.account_id, e.id, 10, 10, 'open', %(earned)s,
    CASE WHEN substr(e.reference, 7)::bigint %% %(step)s = 0 THEN %(due_at)s ELSE %(later)s END,
    0, %(earned)s, %(earned)s
FROM points_ledgerentry e;

UPDATE points_pointsaccount a SET balance = s.total
FROM (SELECT account_id, SUM(remaining) AS total FROM points_lot GROUP BY account_id) s
WHERE a.id = s.account_id;
"""

RAW = "UPDATE points_lot SET status = 'expired', remaining = 0 WHERE status = 'open' AND expires_at <= %s"


def setup(lots: int, due: int, accounts: int) -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from accounts.models import Merchant, MerchantStaff, Region, Tenant
    from points.models import PointsAccount, PointsProgram

    tenant = Tenant.objects.create(slug="bench", name="Bench")
    region = Region.objects.create(tenant=tenant, code="R", name="R")
    merchant = Merchant.objects.create(tenant=tenant, code="M", name="M", region=region)
    staff = MerchantStaff.objects.bulk_create(
        [
            MerchantStaff(tenant=tenant, code=f"S{n:06d}", name=f"S{n}", merchant=merchant)
            for n in range(accounts)
        ],
        batch_size=5000,
    )
    program = PointsProgram.objects.create(
        tenant=tenant, name="Staff points", point_value="0.01", expiry_policy="days", expiry_days=30
    )
    created = PointsAccount.objects.bulk_create(
        [PointsAccount(tenant=tenant, program=program, staff=s) for s in staff], batch_size=5000
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            GENERATE,
            {
                "t": tenant.pk,
                "first": created[0].pk,
                "accounts": accounts,
                "lots": lots,
                "step": lots // due,
                "earned": NOW - timedelta(days=31),
                "due_at": NOW - timedelta(days=1),
                "later": NOW + timedelta(days=30),
            },
        )
    print(f"generated {lots:,} lots ({due:,} due) on {accounts:,} accounts "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE points_lot")
        cursor.execute("VACUUM ANALYZE points_pointsaccount")
        cursor.execute("VACUUM ANALYZE points_ledgerentry")


def bench_raw() -> tuple[float, int]:
    from django.db import connection, transaction

    _vacuum()
    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(RAW, [NOW])
            rows = cursor.rowcount
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    _vacuum()
    return elapsed, rows


def bench_service() -> tuple[float, int]:
    from points.services import points_expire_due

    started = time.perf_counter()
    points = points_expire_due(now=NOW)
    return time.perf_counter() - started, points


def write_results(args, raw: float, service: float, lots_expired: int, ledger_ok: bool) -> str:
    ratio = raw / service
    section = "\n".join(
        [
            "## Points expiry (bench/points_expiry.py)",
            "",
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs, PostgreSQL: "
            f"{args.lots:,} lots on {args.accounts:,} accounts, {args.due:,} of them due.",
            "",
            "| what | seconds |",
            "|---|---|",
            f"| raw: one `UPDATE points_lot … WHERE due` | {raw:.2f} |",
            f"| points_expire_due (entries per account, lot movements, balances) | {service:.2f} |",
            "",
            f"- raw / service: **{ratio:.2f}** (target >= 0.3); {lots_expired:,} lots expired",
            f"- check_ledger after the run: {'clean' if ledger_ok else 'MISMATCH'}",
            "",
        ]
    )
    path = ROOT / "docs" / "benchmarks.md"
    current = path.read_text() if path.exists() else "# Benchmarks\n\n"
    title = "## Points expiry"
    start = current.find(title)
    if start == -1:
        updated = current.rstrip("\n") + "\n\n" + section
    else:
        end = current.find("\n## ", start + len(title))
        updated = current[:start] + section + (current[end:] if end != -1 else "")
    path.write_text(updated)
    return str(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()
    setup(args.lots, args.due, args.accounts)
    raw, raw_rows = bench_raw()
    service, points = bench_service()
    from points.models import Lot
    from points.services import ledger_mismatches

    expired = Lot.objects.unscoped().filter(status="expired").count()
    mismatches = ledger_mismatches()
    print(f"raw UPDATE:        {raw:7.2f} s ({raw_rows:,} lots)")
    print(f"points_expire_due: {service:7.2f} s ({expired:,} lots, {points:,} points)")
    print(f"raw / service: {raw / service:.2f} (target >= 0.3)")
    print(f"check_ledger: {'clean' if not mismatches else f'{len(mismatches)} mismatches'}")
    print("written to", write_results(args, raw, service, expired, not mismatches))


if __name__ == "__main__":
    main()
