"""The points report against the same figures counted from the raw rows, its data scope, and
its rows as CSV and XLSX."""

import csv
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import MerchantStaff
from accounts.roles import Role
from orders.models import Order
from points.models import AwardStatus, EntryKind, LedgerEntry, OrderAward, PointsAccount

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/points"
BUCKETS = [("0", 0, 0), ("1-99", 1, 99), ("100-999", 100, 999), ("1,000-9,999", 1000, 9999)]


def _expected(world, prog):
    """The report's figures from the raw rows, counted here in Python."""
    today = timezone.localdate(timezone=world.tenant.zone)
    ordering = set(Order.objects.for_tenant(world.tenant).values_list("merchant_id", flat=True))
    staff = MerchantStaff.objects.for_tenant(world.tenant).select_related("merchant")
    eligible = [s for s in staff if s.merchant_id in ordering]
    kept, spent = defaultdict(int), defaultdict(int)
    flows = defaultdict(int)
    for entry in LedgerEntry.objects.for_tenant(world.tenant).select_related("account"):
        holder = entry.account.staff_id
        if entry.kind == EntryKind.EARN:
            kept[holder] += entry.points
        elif entry.kind in (EntryKind.CANCEL, EntryKind.REVERSE):
            kept[holder] -= entry.points
            flows["taken_back"] += entry.points
        elif entry.kind == EntryKind.SPEND:
            spent[holder] += entry.points
        flows[entry.kind] += entry.points
    regions = defaultdict(set)
    for award in OrderAward.objects.for_tenant(world.tenant).select_related("rule", "account"):
        paid = award.status == AwardStatus.ACTIVE and award.points > 0
        if award.rule.kind == "region_first_n" and paid:
            regions[award.account.staff_id].add(award.region_id)
    histogram = {
        label: sum(1 for s in eligible if low <= kept[s.pk] <= high) for label, low, high in BUCKETS
    }
    histogram["≥ 10,000"] = sum(1 for s in eligible if kept[s.pk] >= 10_000)
    unlocked = defaultdict(int)
    for s in eligible:
        if regions[s.pk]:
            unlocked[len(regions[s.pk])] += 1
    accounts = PointsAccount.objects.for_tenant(world.tenant).filter(program=prog)
    outstanding = sum(a.balance + a.pending for a in accounts)
    return {
        "today": today,
        "eligible": eligible,
        "earning": sum(1 for s in eligible if kept[s.pk] > 0),
        "histogram": histogram,
        "unlocked": dict(unlocked),
        "earned": flows[EntryKind.EARN],
        "taken_back": flows["taken_back"],
        "spent": flows[EntryKind.SPEND],
        "redeeming": sum(1 for s in eligible if spent[s.pk] > 0),
        "outstanding": outstanding,
        "liability": (outstanding * prog.point_value).quantize(Decimal("0.01")),
        "kept": kept,
    }


def test_the_figures_are_those_of_the_raw_rows(world, history):
    prog, _staff = history
    expected = _expected(world, prog)
    body = world.client(Role.OPERATOR).get(URL).json()  # defaults: the first program, this month
    assert body["program"]["id"] == prog.pk
    assert body["eligible_staff"] == len(expected["eligible"]) == 6
    assert body["earning_staff"] == expected["earning"]
    assert Decimal(body["share_earning"]) == round(Decimal(expected["earning"]) / 6, 4)
    assert {b["bucket"]: b["staff"] for b in body["histogram"]} == expected["histogram"]
    assert {r["regions"]: r["staff"] for r in body["regions_unlocked"]} == expected["unlocked"]
    assert expected["unlocked"].get(2)  # someone was first in both regions
    assert (body["earned"], body["taken_back"]) == (expected["earned"], expected["taken_back"])
    assert body["net"] == expected["earned"] - expected["taken_back"]
    assert body["spent"] == expected["spent"] == 50
    assert body["redeeming_staff"] == expected["redeeming"] == 1
    assert Decimal(body["redemption_rate"]) == round(Decimal(50) / expected["earned"], 4)
    assert body["outstanding"] == expected["outstanding"] > 0
    assert Decimal(body["liability"]) == expected["liability"]
    # lots earned today expire in 40 days: next month, all of what is outstanding
    assert body["expiring_next_month"] == expected["outstanding"]


def test_a_regional_operators_figures_leave_out_other_regions(world, history):
    prog, _staff = history
    expected = _expected(world, prog)
    north = [s for s in expected["eligible"] if s.merchant.region_id == world.region.pk]
    body = world.client(Role.REGIONAL_OPERATOR).get(URL).json()
    assert body["eligible_staff"] == len(north) == 4
    assert body["net"] == sum(expected["kept"][s.pk] for s in north)
    assert body["net"] < world.client(Role.OPERATOR).get(URL).json()["net"]
    # a region or merchant of someone else's is not found, not an empty report
    assert world.client(Role.REGIONAL_OPERATOR).get(
        URL, {"region": world.other_region.code}
    ).status_code == 400  # fmt: skip
    # the operator narrows to the south: the complement
    south = world.client(Role.OPERATOR).get(URL, {"region": world.other_region.code}).json()
    assert south["eligible_staff"] == 2
    assert south["net"] + body["net"] == world.client(Role.OPERATOR).get(URL).json()["net"]


def test_bad_parameters_answer_400_with_the_field(world, history):
    client = world.client(Role.FINANCE)
    for params, field in (
        ({"from": "2026-12-10", "to": "2026-12-01"}, "to"),
        ({"program": 999999}, "program"),
        ({"merchant": "NOPE"}, "merchant"),
        ({"format": "pdf"}, "format"),
    ):
        response = client.get(URL, params)
        assert response.status_code == 400, params
        body = response.json()
        assert field in body["fields"] and body["detail"], body
    assert world.client(Role.MERCHANT_STAFF).get(URL).status_code == 403


def test_the_rows_as_csv_and_xlsx_match_the_report_and_are_safe_to_open(world, history):
    client = world.client(Role.FINANCE)
    report = client.get(URL).json()
    response = client.get(URL, {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == report["eligible_staff"]
    assert sum(int(r["Kept"]) for r in rows) == report["net"]
    assert sum(int(r["Spent"]) for r in rows) == report["spent"]
    assert "'=HYPERLINK(1)" in {r["Name"] for r in rows}  # formula neutralised

    book = load_workbook(io.BytesIO(client.get(URL, {"format": "xlsx"}).content))
    sheet = book.active
    header, *cells = list(sheet.values)
    kept = header.index("Kept")
    assert sum(row[kept] for row in cells) == report["net"]
    names = {row[header.index("Name")] for row in cells}
    assert "'=HYPERLINK(1)" in names
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_a_period_without_orders_has_no_flows_but_the_same_stock(world, history):
    client = world.client(Role.OPERATOR)
    now = client.get(URL).json()
    earlier = client.get(URL, {"from": "2026-10-01", "to": "2026-10-31"}).json()
    assert (earlier["eligible_staff"], earlier["earned"], earlier["spent"]) == (0, 0, 0)
    assert earlier["period"]["from"].startswith("2026-10-01")
    assert earlier["outstanding"] == now["outstanding"] > 0
