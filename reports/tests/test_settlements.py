"""Settlements: prepared by one finance user, closed by another with the figures frozen; a
closed one never reopens, overlapping days are refused, and a rollback that arrives after the
close lands in the next period without touching the statement."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounts.roles import Role
from accounts.services import personal_token_create
from accounts.tests.factories import MembershipFactory
from core.models import AuditEntry
from core.testing import run_at_once
from coupons import services as coupons
from coupons.models import CouponRedemption
from reports import services
from reports.models import Settlement

pytestmark = pytest.mark.django_db
URL = "/api/v1/settlements"


@pytest.fixture
def last_week(world, redemptions):
    """The fixture's redemptions (and rollbacks) moved into the past week, ending yesterday."""
    moved = CouponRedemption.objects.for_tenant(world.tenant)
    for redemption in moved:
        moved.filter(pk=redemption.pk).update(
            redeemed_at=redemption.redeemed_at - timedelta(days=2),
            rolled_back_at=redemption.rolled_back_at
            and redemption.rolled_back_at - timedelta(days=2),
        )
    today = timezone.localdate(timezone=world.tenant.zone)
    return {"from": str(today - timedelta(days=7)), "to": str(today - timedelta(days=1))}


@pytest.fixture
def checker(world) -> APIClient:
    """A second finance user: the one who closes what the first prepared."""
    membership = MembershipFactory(tenant=world.tenant, role=Role.FINANCE)
    _token, key = personal_token_create(membership=membership)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_one_prepares_another_closes_and_the_figures_are_frozen(world, last_week, checker):
    maker = world.client(Role.FINANCE)
    prepared = maker.post(URL, last_week, format="json")
    assert prepared.status_code == 201, prepared.json()
    settlement = prepared.json()
    assert settlement["status"] == "prepared" and settlement["merchant"] is None
    detail_url = f"{URL}/{settlement['id']}"
    live = maker.get(detail_url).json()
    assert live["frozen"] is False

    refused = maker.post(f"{detail_url}/close", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "maker_checker")
    closed = checker.post(f"{detail_url}/close", {"note": "November checked"}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    statement = maker.get(detail_url).json()
    reconciled = maker.get("/api/v1/reports/reconciliation", last_week).json()
    assert statement["frozen"] is True
    assert statement["totals"] == reconciled["totals"] == live["totals"]
    assert statement["rows"] == reconciled["rows"]
    assert statement["totals"]["redemptions"] == 7

    book = load_workbook(io.BytesIO(maker.get(detail_url, {"format": "xlsx"}).content))
    header, *rows, total = list(book.active.values)
    assert total[0] == "Total" and len(rows) == len(statement["rows"])
    for name, title in (("redeemed_discount", "Discount"), ("net_discount", "Net discount")):
        assert Decimal(str(total[header.index(title)])) == Decimal(statement["totals"][name])

    actions = list(
        AuditEntry.objects.for_tenant(world.tenant)
        .filter(object_type="reports.settlement")
        .values_list("action", "actor_label")
    )
    assert [a for a, _who in actions] == ["settlement.close", "settlement.prepare"]


def test_a_closed_period_never_reopens_and_overlaps_are_refused(world, last_week, checker):
    maker = world.client(Role.FINANCE)
    settlement = maker.post(URL, last_week, format="json").json()
    checker.post(f"{URL}/{settlement['id']}/close", {}, format="json")
    for verb in ("discard", "close"):
        again = checker.post(f"{URL}/{settlement['id']}/{verb}", {}, format="json")
        assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    one_day = {"from": last_week["to"], "to": last_week["to"]}
    overlap = maker.post(URL, {**one_day, "merchant": world.merchant.code}, format="json")
    assert (overlap.status_code, overlap.json()["code"]) == (409, "period_settled")
    today = str(timezone.localdate(timezone=world.tenant.zone))
    not_ended = maker.post(URL, {"from": today, "to": today}, format="json")
    assert (not_ended.status_code, not_ended.json()["code"]) == (422, "period_not_ended")
    # a merchant's own days do not overlap another merchant's
    before = {"from": "2026-10-01", "to": "2026-10-31"}
    first = maker.post(URL, {**before, "merchant": world.merchant.code}, format="json")
    other = maker.post(URL, {**before, "merchant": last_week_merchant(world)}, format="json")
    assert (first.status_code, other.status_code) == (201, 201)
    assert maker.post(URL, before, format="json").status_code == 409  # all of them overlaps


def last_week_merchant(world) -> str:
    return (
        CouponRedemption.objects.for_tenant(world.tenant)
        .exclude(merchant=world.merchant)
        .values_list("merchant__code", flat=True)
        .first()
    )


def test_a_rollback_after_the_close_lands_in_the_next_period(world, last_week, checker):
    maker = world.client(Role.FINANCE)
    settlement = maker.post(URL, last_week, format="json").json()
    checker.post(f"{URL}/{settlement['id']}/close", {}, format="json")
    frozen = maker.get(f"{URL}/{settlement['id']}").json()

    late = (
        CouponRedemption.objects.for_tenant(world.tenant)
        .filter(rolled_back_at__isnull=True)
        .select_related("coupon")
        .first()
    )
    coupons.coupon_rollback(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), code=late.coupon.code,
        order=late.order_ref,
    )  # fmt: skip
    assert maker.get(f"{URL}/{settlement['id']}").json() == frozen
    today = str(timezone.localdate(timezone=world.tenant.zone))
    next_period = maker.get("/api/v1/reports/reconciliation", {"from": today, "to": today}).json()
    totals = next_period["totals"]
    assert (totals["redemptions"], totals["rollbacks"], totals["late_rollbacks"]) == (0, 1, 1)
    assert Decimal(totals["net_discount"]) == -late.discount


def test_who_may_prepare_and_read(world, last_week):
    assert world.client(Role.OPERATOR).post(URL, last_week, format="json").status_code == 403
    settlement = world.client(Role.FINANCE).post(URL, last_week, format="json").json()
    assert world.client(Role.AUDITOR).get(f"{URL}/{settlement['id']}").status_code == 200
    assert world.client(Role.REGIONAL_OPERATOR).get(f"{URL}/{settlement['id']}").status_code == 404
    assert world.client(Role.REGIONAL_OPERATOR).get(URL).json()["results"] == []


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_settlements_prepared_at_once_one_wins(world, checker):
    today = timezone.localdate(timezone=world.tenant.zone)
    days = {"first_day": today - timedelta(days=7), "last_day": today - timedelta(days=1)}
    finance = world.actor(Role.FINANCE)

    def prepare(merchant=None):
        return lambda: (
            services.settlement_prepare(
                tenant=world.tenant, actor=finance, merchant=merchant, **days
            ).pk
        )

    outcomes = run_at_once([prepare(), prepare(world.merchant), prepare()])
    assert sorted(outcomes, key=str).count("period_settled") == 2
    assert Settlement.objects.for_tenant(world.tenant).count() == 1
