"""Finance's reconciliation against the raw redemption rows: per merchant and batch, a late
rollback in the period it happened, the data scope, and the downloads' totals row."""

import csv
import io
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from accounts.roles import Role
from budgets.models import Budget
from coupons.models import CouponRedemption

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/reconciliation"
FIGURES = (
    "redemptions",
    "redeemed_discount",
    "redeemed_order_amount",
    "rollbacks",
    "rolled_back_discount",
)


def _expected(world, region=None) -> dict:
    """Per (merchant code, batch id) and in total, from the raw rows, over the last 30 days."""
    since = timezone.now() - timedelta(days=30)
    rows: defaultdict = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    rows_qs = CouponRedemption.objects.for_tenant(world.tenant).select_related("merchant")
    for r in rows_qs:
        if region is not None and r.region_id != region.pk:
            continue
        key = (r.merchant.code, r.batch_id)
        if r.redeemed_at >= since:
            rows[key]["redemptions"] += 1
            rows[key]["redeemed_discount"] += r.discount
            rows[key]["redeemed_order_amount"] += r.order_amount
        if r.rolled_back_at and r.rolled_back_at >= since:
            rows[key]["rollbacks"] += 1
            rows[key]["rolled_back_discount"] += r.discount
    totals = {name: sum(row[name] for row in rows.values()) for name in FIGURES}
    return {"rows": dict(rows), "totals": totals}


def _days(world) -> dict:
    today = timezone.localdate(timezone=world.tenant.zone)
    return {"from": str(today - timedelta(days=29)), "to": str(today)}


def _figures(row: dict) -> dict:
    return {
        name: Decimal(row[name]) if isinstance(row[name], str) else row[name] for name in FIGURES
    }


def test_the_figures_are_those_of_the_raw_rows(world, redemptions):
    body = world.client(Role.FINANCE).get(URL, _days(world)).json()
    expected = _expected(world)
    got = {(row["merchant"], row["batch"]): _figures(row) for row in body["rows"]}
    assert got == expected["rows"]
    assert _figures(body["totals"]) == expected["totals"]
    assert body["totals"]["redemptions"] == 7 and body["totals"]["rollbacks"] == 2
    net = Decimal(body["totals"]["redeemed_discount"]) - Decimal(
        body["totals"]["rolled_back_discount"]
    )
    assert Decimal(body["totals"]["net_discount"]) == net


def test_filters_narrow_and_a_regional_operator_sees_only_their_regions(world, redemptions):
    days = _days(world)
    south = world.client(Role.FINANCE).get(URL, {**days, "merchant": redemptions.code}).json()
    assert {row["merchant"] for row in south["rows"]} == {redemptions.code}
    assert south["totals"]["redemptions"] == 3
    regional = world.client(Role.REGIONAL_OPERATOR).get(URL, days).json()
    north = _expected(world, region=world.region)
    assert _figures(regional["totals"]) == north["totals"]
    assert {row["merchant"] for row in regional["rows"]} == {world.merchant.code}
    assert world.client(Role.REGIONAL_OPERATOR).get(
        URL, {**days, "merchant": redemptions.code}
    ).status_code == 400  # fmt: skip
    assert world.client(Role.MERCHANT_STAFF).get(URL).status_code == 403


def test_the_downloads_end_with_the_apis_totals_and_are_safe_to_open(world, redemptions):
    client = world.client(Role.FINANCE)
    days = _days(world)
    totals = client.get(URL, days).json()["totals"]
    response = client.get(URL, {**days, "format": "csv"})
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, *rows, total = lines
    assert total[0] == "Total" and len(rows) == len(client.get(URL, days).json()["rows"])
    assert Decimal(total[header.index("Net discount")]) == Decimal(totals["net_discount"])
    assert "'=cmd|x" in {row[1] for row in rows}

    sheet = load_workbook(io.BytesIO(client.get(URL, {**days, "format": "xlsx"}).content)).active
    header, *rows, total = list(sheet.values)
    assert total[0] == "Total"
    for name, title in (("redemptions", "Redemptions"), ("redeemed_discount", "Discount")):
        assert Decimal(str(total[header.index(title)])) == Decimal(str(totals[name]))
        assert sum(Decimal(str(r[header.index(title)])) for r in rows) == Decimal(str(totals[name]))
    assert "'=cmd|x" in {row[1] for row in rows}


def test_budget_against_actual_per_business_unit_from_the_budgets(world, redemptions):
    body = world.client(Role.FINANCE).get("/api/v1/reports/budget-vs-actual").json()
    live = Budget.objects.for_tenant(world.tenant).filter(status__in=["approved", "closed"])
    expected = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0)])
    for budget in live.select_related("business_unit"):
        row = expected[budget.business_unit.code]
        row[0] += 1
        row[1] += budget.amount
        row[2] += budget.reserved
        row[3] += budget.spent
    got = {
        r["business_unit"]: [r["budgets"], Decimal(r["amount"]), Decimal(r["reserved"]),
                             Decimal(r["spent"])]
        for r in body
    }  # fmt: skip
    assert got == dict(expected) and any(v[3] > 0 for v in got.values())
    page = world.console_client(Role.FINANCE).get("/console/").content.decode()
    assert 'id="bva-title"' in page
    assert (
        world.client(Role.MERCHANT_STAFF).get("/api/v1/reports/budget-vs-actual").status_code == 403
    )
