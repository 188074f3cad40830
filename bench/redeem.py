"""Benchmark: coupon validate, redeem and claim over HTTP, against two baselines of the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pointsops_bench_redeem \
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/redeem.py [--seconds 20]

The database named in DATABASE_URL is dropped, created and migrated. Then, with 32 concurrent
clients (threads with keep-alive connections, 127.0.0.1 only) against gunicorn (gthread workers,
persistent database connections via CONN_MAX_AGE):

1. trivial: GET /api/v1/orders/{external_id}/status — one primary-key-like lookup behind the
   same server, API-key authentication, throttling and middleware;
2. POST /api/v1/coupons/validate, POST /api/v1/coupons/redeem (each request a different
   customer's coupon on a new order), POST /api/v1/coupon-batches/{id}/claim;
3. raw SQL: the statements each of the three runs, hand-written, from 32 psycopg2 threads in
   one transaction each, no HTTP, no Django.

Each measurement runs --seconds (bounded: a client stops at the deadline or when its share of
coupons/customers is used up). Prints requests/s, p50 and p99 and the ratios, and writes them to
docs/benchmarks.md (section "Coupon validate, redeem, claim"). Not a test: the figures depend on
the machine. The server listens on 127.0.0.1:8766, or on BENCH_PORT.
"""

import argparse
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from http_load import (
    CLIENTS,
    SWITCH_INTERVAL,
    THREADS,
    WORKERS,
    Client,
    django_env,
    ensure_database,
    load_note,
    port,
    print_rows,
    replace_section,
    run_clients,
    start_server,
    summary,
)

django_env("pointsops_bench_redeem")
PORT = port(8766)
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "40000"))
ORDERS = 2000
TITLE = "## Coupon validate, redeem, claim (bench/redeem.py)"


def setup() -> dict:
    """A fresh database: tenant, an API key (orders, coupons), an approved budget, a running
    campaign, an active batch with one coupon issued to each of CUSTOMERS customers (validate,
    redeem), a claimable batch with a large stock (claim), and ORDERS orders (trivial GET)."""
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)

    from accounts.models import BusinessUnit, Customer, Merchant, MerchantStaff, Region, Tenant
    from accounts.permissions import Actor
    from accounts.services import api_key_create
    from budgets.models import Budget, BudgetEntry, BudgetStatus, EntryKind
    from campaigns.models import Campaign, CampaignStatus
    from coupons import services
    from coupons.models import Coupon
    from orders.models import Order

    now = timezone.now()
    tenant = Tenant.objects.create(slug="bench", name="Bench")
    system = Actor.for_system(tenant)
    unit = BusinessUnit.objects.create(tenant=tenant, code="bu", name="BU")
    region = Region.objects.create(tenant=tenant, code="R0001", name="Region 1")
    merchant = Merchant.objects.create(tenant=tenant, code="M0001", name="M 1", region=region)
    staff = MerchantStaff.objects.create(tenant=tenant, code="S0001", name="S 1", merchant=merchant)
    # Data generator: an approved budget without the maker-checker ceremony tested elsewhere,
    # with the entry approval writes so the budget checks can rebuild the amount.
    budget = Budget.objects.create(
        tenant=tenant,
        business_unit=unit,
        name="Bench",
        purpose="coupons",
        amount=Decimal("100000000.00"),
        starts_on=(now - timedelta(days=2)).date(),
        ends_on=(now + timedelta(days=30)).date(),
        status=BudgetStatus.APPROVED,
    )
    BudgetEntry.objects.create(
        tenant=tenant,
        budget=budget,
        kind=EntryKind.APPROVE,
        amount=budget.amount,
        amount_delta=budget.amount,
        reference="approve",
        actor_label="bench",
    )
    campaign = Campaign.objects.create(
        tenant=tenant,
        name="Double Eleven",
        business_unit=unit,
        budget=budget,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=10),
        status=CampaignStatus.RUNNING,
    )
    customers = Customer.objects.bulk_create(
        [Customer(tenant=tenant, code=f"C{n:06d}", region=region) for n in range(CUSTOMERS)]
    )
    redeem_batch = services.batch_create(
        tenant=tenant,
        actor=system,
        campaign=campaign,
        name="Ten off",
        kind="amount_off",
        value=Decimal("10.00"),
        threshold=Decimal("50.00"),
        valid_days=7,
        quantity=CUSTOMERS,
        per_customer_limit=1,
    )
    redeem_batch = services.batch_activate(tenant=tenant, actor=system, batch=redeem_batch)
    job = services.issuance_job_create(
        tenant=tenant, actor=system, batch=redeem_batch, customers=[c.code for c in customers]
    )
    done = services.issuance_job_run(tenant=tenant, job_id=job.pk).done
    assert done == CUSTOMERS, f"issued {done} of {CUSTOMERS}"
    claim_batch = services.batch_create(
        tenant=tenant,
        actor=system,
        campaign=campaign,
        name="Claim me",
        kind="amount_off",
        value=Decimal("5.00"),
        threshold=Decimal("20.00"),
        valid_days=7,
        quantity=1_000_000,
        per_customer_limit=20,
        claimable=True,
    )
    claim_batch = services.batch_activate(tenant=tenant, actor=system, batch=claim_batch)
    codes = dict(
        Coupon.objects.for_tenant(tenant)
        .filter(batch=redeem_batch)
        .values_list("customer__code", "code")
    )
    Order.objects.bulk_create(
        [
            Order(
                tenant=tenant,
                external_id=f"O-{n}",
                merchant=merchant,
                staff=staff,
                region=region,
                amount=Decimal("128.00"),
                placed_at=now,
                payload_hash="x",
            )
            for n in range(ORDERS)
        ]
    )
    _key, secret = api_key_create(
        tenant=tenant, actor=system, name="bench", scopes=["orders", "coupons"]
    )
    return {
        "key": secret,
        "prefix": _key.prefix,
        "tenant_id": tenant.pk,
        "budget_id": budget.pk,
        "campaign_id": campaign.pk,
        "merchant": (merchant.pk, merchant.code),
        "redeem_batch": redeem_batch.pk,
        "claim_batch": claim_batch.pk,
        # (customer pk, customer code, coupon code), one coupon each
        "holders": [(c.pk, c.code, codes[c.code]) for c in customers],
    }


def _slices(holders: list, part: int = 0, parts: int = 1) -> list[list]:
    """Each client's own customers: a `part`-th of them, dealt round robin, split by client."""
    share = holders[part::parts]
    return [share[i::CLIENTS] for i in range(CLIENTS)]


def bench_http(data: dict, seconds: float) -> dict[str, dict]:
    call = Client(PORT, data["key"]).call

    # Validate and redeem use the coupons of separate halves of the customers, so a validate
    # always sees an issued coupon and a redeem never meets one validated... nothing shared.
    validate_slices = _slices(data["holders"], 0, 2)
    redeem_slices = _slices(data["holders"], 1, 2)
    merchant = data["merchant"][1]

    def get_status(i, n):
        return call("GET", f"/api/v1/orders/O-{(i * 7919 + n) % ORDERS}/status")

    def validate(i, n):
        _pk, customer, code = validate_slices[i][n % len(validate_slices[i])]
        body = {"code": code, "customer": customer, "amount": "128.00", "merchant": merchant}
        ok, detail = call("POST", "/api/v1/coupons/validate", body)
        return ok and b'"valid":true' in detail[1], detail

    def redeem(i, n):
        if n >= len(redeem_slices[i]):
            raise StopIteration
        _pk, customer, code = redeem_slices[i][n]
        body = {
            "code": code,
            "customer": customer,
            "amount": "128.00",
            "merchant": merchant,
            "order": f"R-{i}-{n}",
        }
        return call("POST", "/api/v1/coupons/redeem", body)

    def claim(i, n):
        # Each client claims for its own customers in turn, up to the batch's limit of 20 each.
        mine = validate_slices[i]
        if n >= len(mine) * 20:
            raise StopIteration
        customer = mine[n % len(mine)][1]
        return call(
            "POST",
            f"/api/v1/coupon-batches/{data['claim_batch']}/claim",
            {"customer": customer},
            expect=201,
        )

    run_clients(3, get_status)  # warm-up: every worker thread opens its connection, imports, caches
    run_clients(2, validate)
    results = {}
    for key, name, work in (
        ("trivial", "trivial GET /orders/{id}/status", get_status),
        ("validate", "POST /coupons/validate", validate),
        ("redeem", "POST /coupons/redeem", redeem),
        ("claim", "POST /coupon-batches/{id}/claim", claim),
    ):
        results[key] = summary(name, *run_clients(seconds, work), seconds)
    return results


# The database work of each endpoint as hand-written SQL, statement for statement what the ORM
# sends for one request (the API key lookup included), minus HTTP, DRF and Python in between.
AUTH = """SELECT k.*, t.* FROM accounts_apikey k JOIN accounts_tenant t ON t.id = k.tenant_id
    WHERE k.prefix = %(prefix)s AND k.revoked_at IS NULL"""
CUSTOMER = "SELECT id FROM accounts_customer WHERE tenant_id = %(t)s AND code = %(customer)s"
MERCHANT = "SELECT id FROM accounts_merchant WHERE tenant_id = %(t)s AND code = %(merchant)s"
EVALUATE = [
    """SELECT id, batch_id, status, customer_id, valid_from, valid_until FROM coupons_coupon
       WHERE tenant_id = %(t)s AND code = %(code)s ORDER BY id {lock}""",
    """SELECT b.*, c.status, g.id FROM coupons_couponbatch b
       JOIN campaigns_campaign c ON c.id = b.campaign_id JOIN budgets_budget g ON g.id = c.budget_id
       WHERE b.tenant_id = %(t)s AND b.id = %(batch)s""",
    """(SELECT 'm', merchant_id FROM coupons_couponbatch_scope_merchants
       WHERE couponbatch_id = %(batch)s) UNION ALL (SELECT 'r', region_id
       FROM coupons_couponbatch_scope_regions WHERE couponbatch_id = %(batch)s)""",
    # redeem only (validate is given no order): the other coupons on the order
    """SELECT b.stackable FROM coupons_couponredemption r
       JOIN coupons_couponbatch b ON b.id = r.batch_id WHERE r.tenant_id = %(t)s
       AND r.order_ref = %(order)s AND r.rolled_back_at IS NULL AND r.coupon_id <> %(coupon)s""",
    """SELECT 1 FROM coupons_blockedcustomer WHERE tenant_id = %(t)s AND customer_id = %(cid)s
       LIMIT 1""",
    # redeem only: the customer's row, locked before the fraud limits are counted
    """SELECT id FROM accounts_customer WHERE tenant_id = %(t)s AND id = %(cid)s
       FOR NO KEY UPDATE""",
    """SELECT count(*) FROM coupons_couponredemption WHERE tenant_id = %(t)s
       AND customer_id = %(cid)s AND redeemed_at >= now() - interval '1 day'
       AND rolled_back_at IS NULL""",
    # the tenant's fraud settings and the campaign's own limit (none in the bench)
    """SELECT * FROM coupons_fraudsettings WHERE tenant_id = %(t)s ORDER BY id LIMIT 1""",
    """SELECT max_per_customer FROM coupons_campaignredemptionlimit WHERE tenant_id = %(t)s
       AND campaign_id = %(c)s LIMIT 1""",
]
REDEEM_ONLY = {3, 5}  # of EVALUATE
REDEEM_WRITES = [
    # (no retry check: the locked coupon is still issued) the writes
    """UPDATE coupons_coupon SET status = 'redeemed', updated_at = now() WHERE id = %(coupon)s""",
    """INSERT INTO coupons_couponredemption (tenant_id, coupon_id, batch_id, customer_id,
       merchant_id, region_id, order_ref, order_amount, discount, reserved, device_fingerprint,
       phone_fingerprint, redeemed_at, rolled_back_at, created_at, updated_at)
       VALUES (%(t)s, %(coupon)s, %(batch)s, %(cid)s, %(m)s, NULL, %(order)s, 128, 10, 10, '',
       '', now(), NULL, now(), now()) RETURNING id""",
    """INSERT INTO core_auditentry (tenant_id, actor_label, action, object_type, object_id,
       object_repr, before, after, note, created_at, updated_at)
       VALUES (%(t)s, 'bench', 'coupon.redeem', 'coupon', %(coupon)s, %(code)s,
       '{"status": "issued"}', '{"status": "redeemed"}', '', now(), now())""",
    """UPDATE coupons_couponbatch SET redeemed = redeemed + 1, updated_at = now()
       WHERE tenant_id = %(t)s AND id = %(batch)s""",
    # budget_spend from the reservation: the entry (its reference unique), then the budget
    # row; the discount is the whole reservation here, so there is no release.
    """INSERT INTO budgets_budgetentry (tenant_id, budget_id, kind, amount, amount_delta,
       reserved_delta, spent_delta, reference, campaign_id, source, actor_label, note,
       created_at, updated_at) VALUES (%(t)s, %(b)s, 'spend', 10, 0, -10, 10, %(ref)s,
       %(c)s, 'coupon_redemption', 'bench', '', now(), now())
       ON CONFLICT (tenant_id, budget_id, kind, reference) DO NOTHING RETURNING id""",
    """UPDATE budgets_budget SET reserved = reserved - 10, spent = spent + 10, updated_at = now()
       WHERE id = %(b)s AND reserved >= 10 RETURNING amount, reserved, spent, status""",
]
CLAIM = [
    """SELECT b.*, c.status FROM coupons_couponbatch b JOIN campaigns_campaign c
       ON c.id = b.campaign_id WHERE b.tenant_id = %(t)s AND b.id = %(claim)s""",
    CUSTOMER,
    """INSERT INTO coupons_couponholding (tenant_id, batch_id, customer_id, count, created_at,
       updated_at) VALUES (%(t)s, %(claim)s, %(cid)s, 0, now(), now()) ON CONFLICT DO NOTHING""",
    """SELECT id, count FROM coupons_couponholding WHERE tenant_id = %(t)s
       AND batch_id = %(claim)s AND customer_id = %(cid)s ORDER BY id FOR UPDATE""",
    """UPDATE coupons_couponbatch SET issued = issued + 1, claimed = claimed + 1,
       updated_at = now() WHERE tenant_id = %(t)s AND id = %(claim)s AND status = 'active'
       AND issued <= quantity - 1""",
    "SAVEPOINT codes",
    """INSERT INTO coupons_coupon (tenant_id, batch_id, code, customer_id, seq, status,
       issued_at, valid_from, valid_until, created_at, updated_at)
       VALUES (%(t)s, %(claim)s, %(newcode)s, %(cid)s, %(seq)s, 'issued', now(), now(),
       now() + interval '7 days', now(), now())""",
    "RELEASE SAVEPOINT codes",
    """UPDATE coupons_couponholding SET count = count + 1 WHERE id = %(holding)s""",
    """SELECT c.*, b.* FROM coupons_coupon c JOIN coupons_couponbatch b ON b.id = c.batch_id
       WHERE c.tenant_id = %(t)s AND c.batch_id = %(claim)s AND c.customer_id = %(cid)s
       AND c.seq = %(seq)s""",
]


def bench_raw(data: dict, seconds: float, kind: str, holders: list[list]) -> tuple[list, list]:
    """The statements of one request of `kind` (validate, redeem, claim), one transaction each,
    from CLIENTS threads with a connection each."""
    import psycopg2

    url = os.environ["DATABASE_URL"]
    connections: dict[int, object] = {}
    base = {
        "t": data["tenant_id"], "b": data["budget_id"], "c": data["campaign_id"],
        "m": data["merchant"][0], "merchant": data["merchant"][1], "prefix": data["prefix"],
        "claim": data["claim_batch"],
    }  # fmt: skip

    def work(i, n):
        conn = connections.get(i) or connections.setdefault(i, psycopg2.connect(url))
        mine = holders[i]
        if kind == "redeem" and n >= len(mine):
            raise StopIteration
        cid, customer, code = mine[n % len(mine)]
        p = {**base, "cid": cid, "customer": customer, "code": code, "order": f"RAW-{i}-{n}"}
        with conn.cursor() as cur:
            cur.execute(AUTH, p)
            if kind == "claim":
                p["newcode"], p["seq"] = f"RAWCLAIM{i}X{n}", 1000 + n
                for sql in CLAIM:
                    cur.execute(sql, p)
                    if "FOR UPDATE" in sql:
                        p["holding"] = cur.fetchone()[0]
            else:
                cur.execute(CUSTOMER, p)
                cur.execute(MERCHANT, p)
                lock = "FOR UPDATE OF coupons_coupon" if kind == "redeem" else ""
                for n_sql, sql in enumerate(EVALUATE):
                    if n_sql in REDEEM_ONLY and kind == "validate":
                        continue
                    cur.execute(sql.replace("{lock}", lock), p)
                    if n_sql == 0:
                        p["coupon"], p["batch"] = cur.fetchone()[:2]
                if kind == "redeem":
                    p["ref"] = f"raw-redemption:{i}:{n}"
                    for sql in REDEEM_WRITES:
                        cur.execute(sql, p)
        conn.commit()
        return True, None

    try:
        return run_clients(seconds, work)
    finally:
        for conn in connections.values():
            conn.close()


def write_results(
    rows: list[dict], ratios: dict, seconds: float, note: str, extra: tuple = ()
) -> str:
    lines = [
        TITLE,
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs, {CLIENTS} "
        f"concurrent clients on 127.0.0.1 (threads, keep-alive), {seconds:g} s each, gunicorn "
        f"({WORKERS} processes x {THREADS} threads, CONN_MAX_AGE=60, GIL switch interval "
        f"{SWITCH_INTERVAL * 1000:g} ms), PostgreSQL on the same machine; {CUSTOMERS:,} customers, "
        "one coupon each (amount off 10, threshold 50), a claimable batch (limit 20 each). " + note,
        "",
        "| what | requests | errors | per second | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r['name']} | {r['count']} | {r['errors']} | {r['per_second']:.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
            for r in rows
        ],
        "",
        f"- validate / trivial: **{ratios['validate']:.2f}x** (target ≥ 0.5x) — "
        f"{'met' if ratios['validate'] >= 0.5 else 'MISSED'}",
        f"- redeem / trivial: **{ratios['redeem']:.2f}x** (target ≥ 0.3x) — "
        f"{'met' if ratios['redeem'] >= 0.3 else 'MISSED'}",
        f"- claim / trivial: **{ratios['claim']:.2f}x** (target ≥ 0.3x) — "
        f"{'met' if ratios['claim'] >= 0.3 else 'MISSED'}",
        f"- HTTP / raw SQL: validate {ratios['validate_raw']:.2f}x, redeem "
        f"{ratios['redeem_raw']:.2f}x, claim {ratios['claim_raw']:.2f}x",
        "- What limits redeem: every redemption updates two rows all redemptions share, the "
        "batch (`redeemed + 1`) and the campaign budget (reserved to spent, SPEC 2.1), so "
        "redemptions serialize on them. Both are the transaction's last writes, batch then "
        "budget (the lock order of rollbacks too): the batch row is held for its UPDATE, the "
        "budget movement (one statement: the budget row locked only if the money fits, the "
        "entry inserted `ON CONFLICT DO NOTHING`, the figures moved) and the COMMIT; the audit "
        "row is written before. The rest is Python CPU: 16 statements through the ORM and DRF "
        "(a still issued unique coupon needs no retry lookup; the batch's merchant and region "
        "scope is one query).",
        *extra,
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--note", default="", help="what else the machine was doing")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--save", help="also keep the figures in this JSON file")
    parser.add_argument("--from-json", help="write docs/benchmarks.md from a --save file only")
    args = parser.parse_args()
    if args.from_json:
        saved = json.loads(Path(args.from_json).read_text())
        section = write_results(
            saved["rows"],
            saved["ratios"],
            saved["seconds"],
            saved["note"],
            saved.get("extra", ()),  # lines added by hand: other runs, what limits what
        )
        print("written to", replace_section(TITLE, section))
        return
    data = setup()
    load_before = os.getloadavg()
    server = start_server(PORT)
    try:
        results = bench_http(data, args.seconds)
    finally:
        server.terminate()
        server.wait()
    # Raw SQL on the coupons the HTTP run did not touch: validate on the validate half (read
    # only), redeem on what the redeem clients left unredeemed, claim as many as it can.
    from coupons.models import Coupon, CouponStatus

    left = set(
        Coupon.objects.unscoped()
        .filter(batch_id=data["redeem_batch"], status=CouponStatus.ISSUED)
        .values_list("code", flat=True)
    )
    redeem_half = [h for h in data["holders"][1::2] if h[2] in left]
    validate_half = data["holders"][0::2]
    for kind, share in (
        ("validate", validate_half),
        ("redeem", redeem_half),
        ("claim", validate_half),
    ):
        slices = [share[i::CLIENTS] for i in range(CLIENTS)]
        latencies, failures = bench_raw(data, args.seconds, kind, slices)
        results[f"{kind}_raw"] = summary(f"raw SQL: {kind}", latencies, failures, args.seconds)
    rate = {k: v["per_second"] for k, v in results.items()}
    ratios = {
        "validate": rate["validate"] / rate["trivial"],
        "redeem": rate["redeem"] / rate["trivial"],
        "claim": rate["claim"] / rate["trivial"],
        "validate_raw": rate["validate"] / rate["validate_raw"],
        "redeem_raw": rate["redeem"] / rate["redeem_raw"],
        "claim_raw": rate["claim"] / rate["claim_raw"],
    }
    order = ["trivial", "validate", "redeem", "claim", "validate_raw", "redeem_raw", "claim_raw"]
    rows = [results[k] for k in order]
    print_rows(rows)
    for key, value in ratios.items():
        print(f"{key}: {value:.2f}x")
    load = load_note(load_before)
    print(load)
    if args.save:
        note = f"{load} {args.note}".strip()
        saved = {"rows": rows, "ratios": ratios, "seconds": args.seconds, "note": note}
        Path(args.save).write_text(json.dumps(saved, indent=1))
    if not args.no_write:
        section = write_results(rows, ratios, args.seconds, f"{load} {args.note}".strip())
        print("written to", replace_section(TITLE, section))


if __name__ == "__main__":
    main()
