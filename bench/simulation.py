"""Benchmark: the campaign simulation over 1,000,000 past orders, against one set-based SQL
statement that computes the simplest rule over the same orders, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pointsops_bench_simulation \\
    .venv/bin/python bench/simulation.py [--orders 1000000] [--repeat 3] [--holder-tiers] \\
        [--reseed] [--profile] [--no-write]

The data: one tenant, 1,111 regions (11 provinces, 10 cities each, 9 zones each city), 2,000
merchants with 2-5 staff each, and `--orders` orders over 30 days, crowding into some regions
(the demo's weights); ~10 % closed, ~60 % completed. A staff points program (0.01 a point, weekly
cap 50; `--holder-tiers` adds the demo's Bronze/Silver/Gold multipliers) and a draft campaign
under an approved budget, with one region_first_n rule over every region: 1st-10th order into a
region 5 points, 11th-20th 10. Program, budget, campaign and rule come from the services; the
master data and the orders are bulk inserts (one INSERT … SELECT for the orders). The database
DATABASE_URL names (a pointsops_bench… one) is created and migrated; a seed already there with
the same number of orders is reused (`--reseed` drops it).

Measured in the same process, `--repeat` times each, the best kept:
1. replay: `campaigns.simulation.replay` over the whole window, then `summarize` — what a
   campaign check's simulation job runs (without its progress updates);
2. SQL: one statement — each order's rank in its region (ROW_NUMBER() OVER (PARTITION BY region
   ORDER BY placed_at, id)), points by tier, summed per staff member; no caps, no closes.

Prints the table, replay/SQL and whether the replay is under 30 s, plus the replay's peak memory
(ru_maxrss), and writes them to docs/benchmarks.md (section "Campaign simulation").
`--profile` runs one more replay under cProfile and prints its hot spots (not written). Not a
test: the figures depend on the machine.
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import resource
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from http_load import django_env, ensure_database, load_note, replace_section

django_env("pointsops_bench_simulation")

TITLE = "## Campaign simulation (bench/simulation.py)"
TARGET_SECONDS = 30.0
SEED_VERSION = 2  # bump when the seed changes: an older seed is dropped, not reused
TENANT = "bench-sim"
ZONE = ZoneInfo("Asia/Shanghai")
WINDOW_START = datetime(2026, 10, 1, tzinfo=ZONE)
WINDOW_DAYS = 30
PROVINCES, CITIES, ZONES = 11, 10, 9  # 11 + 110 + 990 = 1,111 regions
MERCHANTS = 2000
REGION_SLOTS = 100_000  # the weighted region draw in SQL: each region owns a share of slots
TIERS = [{"from": 1, "to": 10, "points": 5}, {"from": 11, "to": 20, "points": 10}]
HOLDER_TIERS = [
    {"name": "Bronze", "threshold": 0, "multiplier": "1"},
    {"name": "Silver", "threshold": 100, "multiplier": "1.2"},
    {"name": "Gold", "threshold": 300, "multiplier": "1.5"},
]


# --- the database and its seed ----------------------------------------------------------------


def _seed_there(url: str, orders: int) -> bool:
    """Whether the database already holds this seed (version and number of orders)."""
    import psycopg2

    try:
        conn = psycopg2.connect(url)
    except psycopg2.OperationalError:  # no such database yet
        return False
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT t.name, (SELECT count(*) FROM orders_order o WHERE o.tenant_id = t.id) "
                "FROM accounts_tenant t WHERE t.slug = %s",
                [TENANT],
            )
            row = cursor.fetchone()
    except psycopg2.Error:  # not migrated, or an older schema
        return False
    finally:
        conn.close()
    return row is not None and row[0] == _tenant_name(orders) and row[1] == orders


def _tenant_name(orders: int) -> str:
    return f"Bench simulation (seed {SEED_VERSION}, {orders} orders)"


# The orders, in one statement: staff drawn evenly, regions by their slots (the demo's weights),
# placed evenly over the window and inserted in that order (as orders arrive); ~10 % closed and
# ~60 % completed within 72 hours of placing.
ORDERS_SQL = """
CREATE TEMP TABLE bench_staff AS
SELECT (row_number() OVER (ORDER BY s.id) - 1)::int AS k, s.id AS staff_id, s.merchant_id
FROM accounts_merchantstaff s WHERE s.tenant_id = %(t)s;
CREATE UNIQUE INDEX ON bench_staff (k);
CREATE TEMP TABLE bench_slot AS
SELECT (o - 1)::int AS slot, r AS region_id FROM unnest(%(slots)s::bigint[]) WITH ORDINALITY u(r, o);
CREATE UNIQUE INDEX ON bench_slot (slot);
ANALYZE bench_staff; ANALYZE bench_slot;
SELECT setseed(0.42);
INSERT INTO orders_order (tenant_id, external_id, merchant_id, staff_id, region_id, amount,
    placed_at, status, completed_at, closed_at, device_fingerprint, phone_fingerprint,
    payload_hash, created_at, updated_at)
SELECT %(t)s, 'SIM-' || lpad(g.n::text, 7, '0'), s.merchant_id, s.staff_id, r.region_id,
    g.amount, g.placed_at,
    CASE WHEN g.fate < 0.10 THEN 'closed' WHEN g.fate < 0.70 THEN 'completed' ELSE 'open' END,
    CASE WHEN g.fate >= 0.10 AND g.fate < 0.70 THEN g.placed_at + g.later END,
    CASE WHEN g.fate < 0.10 THEN g.placed_at + g.later END,
    '', '', md5(g.n::text), now(), now()
FROM (
    SELECT n, floor(random() * %(staff)s)::int AS k, floor(random() * %(nslots)s)::int AS slot,
        round((30 + random() * 770)::numeric, 2) AS amount,
        %(start)s::timestamptz + random() * %(days)s * interval '1 day' AS placed_at,
        random() AS fate, interval '10 minutes' + random() * interval '72 hours' AS later
    FROM generate_series(1, %(orders)s) AS n
) g
JOIN bench_staff s ON s.k = g.k
JOIN bench_slot r ON r.slot = g.slot
ORDER BY g.placed_at;
DROP TABLE bench_staff; DROP TABLE bench_slot;
"""
# The order table's plain indexes (not the primary key or the unique constraint), dropped for the
# load and built after it: much faster than a million rows through a dozen indexes.
PLAIN_INDEXES = """
SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
WHERE indrelid = 'orders_order'::regclass
  AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conrelid = 'orders_order'::regclass)
"""


def _region_slots(rng: random.Random, regions: list) -> list[int]:
    """Region ids, each repeated by its weight: orders crowd into some regions (big cities) and
    trickle into others, as in the demo (1 / (rank + 1) ** 0.8 over a shuffled order)."""
    shuffled = regions[:]
    rng.shuffle(shuffled)
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(shuffled))]
    total = sum(weights)
    slots: list[int] = []
    for region, weight in zip(shuffled, weights, strict=True):
        slots.extend([region.pk] * max(1, round(weight / total * REGION_SLOTS)))
    return slots


def seed(orders: int) -> None:
    """Tenant, regions, merchants and staff (bulk inserts), then the orders (one INSERT …
    SELECT): well under a minute for a million."""
    from django.db import connection, transaction

    from accounts.models import BusinessUnit, Merchant, MerchantStaff, Region, Tenant

    started = time.perf_counter()
    rng = random.Random(7)
    with transaction.atomic():
        tenant = Tenant.objects.create(slug=TENANT, name=_tenant_name(orders), time_zone=str(ZONE))
        BusinessUnit.objects.create(tenant=tenant, code="bu", name="BU")
        provinces = Region.objects.bulk_create(
            [
                Region(tenant=tenant, code=f"P{p:02d}", name=f"Province {p}")
                for p in range(PROVINCES)
            ]
        )
        cities = Region.objects.bulk_create(
            [
                Region(tenant=tenant, code=f"{p.code}-C{c:02d}", name=f"City {c}", parent=p)
                for p in provinces
                for c in range(CITIES)
            ]
        )
        zones = Region.objects.bulk_create(
            [
                Region(tenant=tenant, code=f"{c.code}-Z{z}", name=f"Zone {z}", parent=c)
                for c in cities
                for z in range(ZONES)
            ],
            batch_size=5000,
        )
        regions = provinces + cities + zones
        slots = _region_slots(rng, regions)
        merchants = Merchant.objects.bulk_create(
            [
                Merchant(tenant=tenant, code=f"M{n:04d}", name=f"M {n}", region=rng.choice(regions))
                for n in range(MERCHANTS)
            ],
            batch_size=5000,
        )
        staff = MerchantStaff.objects.bulk_create(
            [
                MerchantStaff(tenant=tenant, code=f"{m.code}-S{s}", name=f"S {s}", merchant=m)
                for m in merchants
                for s in range(rng.randint(2, 5))
            ],
            batch_size=5000,
        )
        with connection.cursor() as cursor:
            cursor.execute(PLAIN_INDEXES)
            indexes = cursor.fetchall()
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {name}")
            # A data generator: the joins above pick existing rows, so the foreign keys' checks
            # (a million deferred trigger calls at commit) are skipped for this transaction.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cursor.execute(
                ORDERS_SQL,
                {
                    "t": tenant.pk,
                    "slots": slots,
                    "nslots": len(slots),
                    "staff": len(staff),
                    "start": WINDOW_START,
                    "days": WINDOW_DAYS,
                    "orders": orders,
                },
            )
            for _name, definition in indexes:
                cursor.execute(definition)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE orders_order")
    print(
        f"seeded {len(regions):,} regions, {len(merchants):,} merchants, {len(staff):,} staff "
        f"and {orders:,} orders in {time.perf_counter() - started:.1f} s"
    )


def setup(orders: int, reseed: bool) -> None:
    url = os.environ["DATABASE_URL"]
    reuse = not reseed and _seed_there(url, orders)
    if not reuse:
        ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if reuse:
        print(f"reusing the seed of {orders:,} orders in {url.rsplit('/', 1)[1]}")
    else:
        seed(orders)


def campaign(holder_tiers: bool):
    """The draft campaign under an approved budget, with the program and its rule, through the
    services (as the demo makes them); made once per variant and found again after."""
    from accounts.models import BusinessUnit, Region, Tenant
    from accounts.permissions import Actor
    from budgets import services as budgets
    from campaigns import services as campaigns
    from campaigns.models import Campaign
    from points import services as points

    tenant = Tenant.objects.get(slug=TENANT)
    name = "Tiered first-N" + (" (holder tiers)" if holder_tiers else "")
    found = Campaign.objects.for_tenant(tenant).filter(name=name).select_related("budget").first()
    if found:
        return found
    system = Actor.for_system(tenant)  # the system actor: no maker-checker users to set up
    unit = BusinessUnit.objects.for_tenant(tenant).get(code="bu")
    budget = budgets.budget_create(
        tenant=tenant, actor=system, business_unit=unit, name=name, purpose="points",
        amount=Decimal("1000000.00"), starts_on=date(2026, 11, 1), ends_on=date(2026, 11, 30),
    )  # fmt: skip
    budget = budgets.budget_submit(tenant=tenant, actor=system, budget=budget)
    budget = budgets.budget_approve(tenant=tenant, actor=system, budget=budget)
    regions = list(Region.objects.for_tenant(tenant).order_by("code"))
    made = campaigns.campaign_create(
        tenant=tenant, actor=system, name=name, budget=budget,
        starts_at=datetime(2026, 11, 1, tzinfo=ZONE), ends_at=datetime(2026, 12, 1, tzinfo=ZONE),
        regions=[r for r in regions if r.parent_id is None],
    )  # fmt: skip
    program = points.program_create(
        tenant=tenant, actor=system, name=f"Staff points: {name}", holder="staff",
        point_value=Decimal("0.01"), weekly_cap=50, tiers=HOLDER_TIERS if holder_tiers else (),
    )  # fmt: skip
    points.rule_create(
        tenant=tenant, actor=system, campaign=made, program=program, regions=regions,
        name="First orders into a region", kind="region_first_n", tiers=TIERS,
    )  # fmt: skip
    return Campaign.objects.for_tenant(tenant).select_related("budget").get(pk=made.pk)


# --- the measurements -------------------------------------------------------------------------


def window() -> tuple[datetime, datetime]:
    return WINDOW_START, WINDOW_START + timedelta(days=WINDOW_DAYS)


def run_replay(the_campaign) -> tuple[float, float, dict]:
    """Wall and CPU seconds of the replay and its summary (CPU: this process's alone, so what
    PostgreSQL or other processes take on a shared machine shows only in the wall time)."""
    from campaigns.simulation import campaign_rules, replay, summarize

    start, end = window()
    rules = campaign_rules(the_campaign)
    available = the_campaign.budget.available
    started, cpu = time.perf_counter(), time.process_time()
    state, _awards = replay(
        tenant=the_campaign.tenant, rules=rules, start=start, end=end, budget_left=available
    )
    result = summarize(state, prizes_by_program={}, budget_available=available)
    return time.perf_counter() - started, time.process_time() - cpu, result


def _sql(rule) -> tuple[str, dict]:
    """The simplest rule as one statement: rank in the region, points by tier, per staff."""
    cases = " ".join(
        f"WHEN rank BETWEEN {int(t['from'])} AND {int(t['to'])} THEN {int(t['points'])}"
        for t in rule.tiers
    )
    sql = f"""
        SELECT staff_id, SUM(CASE {cases} ELSE 0 END) AS points
        FROM (
            SELECT staff_id,
                ROW_NUMBER() OVER (PARTITION BY region_id ORDER BY placed_at, id) AS rank
            FROM orders_order
            WHERE tenant_id = %(t)s AND placed_at >= %(start)s AND placed_at < %(end)s
        ) ranked
        GROUP BY staff_id
    """
    start, end = window()
    return sql, {"t": rule.tenant_id, "start": start, "end": end}


def run_sql(rule) -> tuple[float, dict]:
    from django.db import connection

    sql, params = _sql(rule)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    elapsed = time.perf_counter() - started
    return elapsed, {"staff": len(rows), "earning": sum(1 for r in rows if r[1]),
                     "points": sum(r[1] for r in rows)}  # fmt: skip


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def profile(the_campaign, top: int = 25) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, _cpu, _result = run_replay(the_campaign)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return f"replay under cProfile: {seconds:.1f} s\n{out.getvalue()}"


# --- the report -------------------------------------------------------------------------------


def write_results(args, figures: dict) -> str:
    replay_s, sql_s = figures["replay"], figures["sql"]
    result, sql = figures["result"], figures["sql_result"]
    program = result["programs"][0]
    met = "met" if replay_s < TARGET_SECONDS else "MISSED"
    lines = [
        TITLE,
        "",
        f"What it measures: the campaign simulation (`replay` then `summarize`) of "
        f"{args.orders:,} past orders through a draft campaign's tiered first-N rule and the "
        f"program's weekly cap, writing nothing, against one set-based SQL statement computing "
        f"the rule without caps over the same orders; target: the simulation under "
        f"{TARGET_SECONDS:.0f} s.",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs, Python "
        f"{sys.version.split()[0]}, PostgreSQL on the same machine: 1 tenant, 1,111 regions "
        f"(11 provinces, 110 cities, 990 zones), {MERCHANTS:,} merchants with "
        f"{figures['staff']:,} staff, {args.orders:,} orders over {WINDOW_DAYS} days (crowding "
        f"into some regions; {figures['closed']:.0%} closed, {figures['completed']:.0%} "
        f"completed); one region_first_n rule over every region (1st-10th 5 points, 11th-20th "
        f"10), weekly cap 50, point value 0.01"
        + (", holder tiers 1x/1.2x/1.5x" if args.holder_tiers else ", no holder tiers")
        + f". Best of {args.repeat} runs each. {figures['load']}",
        "",
        "| what | seconds | orders per second |",
        "|---|---|---|",
        f"| replay + summarize (caps, closes, budget) | {replay_s:.2f} | "
        f"{args.orders / replay_s:,.0f} |",
        f"| SQL: ROW_NUMBER() per region, points by tier, SUM per staff (no caps) | {sql_s:.2f} "
        f"| {args.orders / sql_s:,.0f} |",
        "",
        f"- replay / SQL: **{replay_s / sql_s:.1f}x**; replay under {TARGET_SECONDS:.0f} s: "
        f"**{met}**",
        f"- per run, replay: {_seconds(figures['replays'])} s wall, "
        f"{_seconds(figures['replay_cpus'])} s CPU of the Python process; SQL: "
        f"{_seconds(figures['sqls'])} s",
        f"- peak memory of the process (ru_maxrss): {figures['peak_mb']:,.0f} MB "
        f"({figures['rss_before_mb']:,.0f} MB before the first replay)",
        f"- replay: {result['points']:,} points ({result['money']}) to "
        f"{program['holders_earning']:,} of {program['holders_active']:,} staff; SQL without "
        f"caps or closes: {sql['points']:,} points to {sql['earning']:,} staff",
        "",
    ]
    return replace_section(TITLE, "\n".join(lines))


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _shares() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'closed'), "
            "count(*) FILTER (WHERE status = 'completed') FROM orders_order o "
            "JOIN accounts_tenant t ON t.id = o.tenant_id WHERE t.slug = %s",
            [TENANT],
        )
        total, closed, completed = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM accounts_merchantstaff s JOIN accounts_tenant t "
            "ON t.id = s.tenant_id WHERE t.slug = %s",
            [TENANT],
        )
        (staff,) = cursor.fetchone()
    return {"closed": closed / total, "completed": completed / total, "staff": staff}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--holder-tiers", action="store_true", help="Bronze/Silver/Gold tiers")
    parser.add_argument("--reseed", action="store_true", help="drop the seed and make it again")
    parser.add_argument("--profile", action="store_true", help="one more replay under cProfile")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    setup(args.orders, args.reseed)
    the_campaign = campaign(args.holder_tiers)
    rule = the_campaign.points_rules.get()
    rss_before, load_before = _rss_mb(), os.getloadavg()
    replays, cpus, sqls, result, sql_result = [], [], [], {}, {}
    for n in range(args.repeat):
        sql_s, sql_result = run_sql(rule)
        replay_s, cpu_s, result = run_replay(the_campaign)
        sqls.append(sql_s)
        replays.append(replay_s)
        cpus.append(cpu_s)
        print(f"run {n + 1}: replay {replay_s:6.2f} s ({cpu_s:.2f} s CPU), SQL {sql_s:5.2f} s")
    figures = {
        "replay": min(replays), "sql": min(sqls), "replays": replays, "replay_cpus": cpus,
        "sqls": sqls, "result": result, "sql_result": sql_result, "peak_mb": _peak_mb(),
        "rss_before_mb": rss_before, "load": load_note(load_before), **_shares(),
    }  # fmt: skip
    replay_s, sql_s = figures["replay"], figures["sql"]
    print(f"\n{'what':<46} {'seconds':>8} {'orders/s':>10}   (best of {args.repeat})")
    print(f"{'replay + summarize':<46} {replay_s:8.2f} {args.orders / replay_s:10,.0f}")
    print(f"{'SQL rank per region, tier, SUM per staff':<46} {sql_s:8.2f} "
          f"{args.orders / sql_s:10,.0f}")  # fmt: skip
    print(f"median: replay {statistics.median(replays):.2f} s, SQL {statistics.median(sqls):.2f} s")
    print(f"replay / SQL: {replay_s / sql_s:.1f}x; replay under {TARGET_SECONDS:.0f} s: "
          f"{'met' if replay_s < TARGET_SECONDS else 'MISSED'}")  # fmt: skip
    print(f"peak RSS: {figures['peak_mb']:,.0f} MB ({rss_before:,.0f} MB before the replays)")
    print(f"replay: {result['orders']:,} orders, {result['points']:,} points, {result['money']}, "
          f"{result['budget_refusals']} budget refusals; SQL (no caps, no closes): "
          f"{sql_result['points']:,} points to {sql_result['earning']:,} staff")  # fmt: skip
    print(figures["load"])
    if not args.no_write:
        print("written to", write_results(args, figures))
    if args.profile:
        print(profile(the_campaign))


if __name__ == "__main__":
    main()
