"""The campaign effect against the raw rows: coupons, redemptions, new customers, by batch and
by day, and its budget's burn-down from the budget's entries."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.roles import Role
from budgets.models import BudgetEntry
from coupons.models import Coupon, CouponRedemption, CouponStatus
from coupons.tests.factories import active_batch

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/campaign-effect"


def _days(world) -> dict:
    today = timezone.localdate(timezone=world.tenant.zone)
    return {"from": str(today - timedelta(days=29)), "to": str(today)}


def test_the_figures_are_those_of_the_raw_rows(world, redemptions):
    days = _days(world)
    body = world.client(Role.OPERATOR).get(URL, days).json()
    zone = world.tenant.zone
    since = timezone.now() - timedelta(days=30)
    coupons = list(Coupon.objects.for_tenant(world.tenant).filter(issued_at__gte=since))
    rows = list(CouponRedemption.objects.for_tenant(world.tenant).select_related("customer"))
    in_period = [r for r in rows if r.redeemed_at >= since]
    live = [r for r in in_period if r.rolled_back_at is None]
    first_day = timezone.localdate(since, zone)
    new = {
        r.customer_id
        for r in in_period
        if r.customer.registered_on and r.customer.registered_on >= first_day
        and not any(o.customer_id == r.customer_id and o.redeemed_at < since for o in rows)
    }  # fmt: skip
    totals = body["totals"]
    assert body["campaign"]["id"] == rows[0].batch.campaign_id
    assert totals["issued"] == len(coupons) == 8
    redeemed_now = sum(1 for c in coupons if c.status == CouponStatus.REDEEMED)
    assert Decimal(totals["redemption_rate"]) == round(Decimal(redeemed_now) / 8, 4)
    assert totals["redemptions"] == len(in_period) == 7
    assert Decimal(totals["redeemed_discount"]) == sum(r.discount for r in in_period)
    assert totals["orders"] == len({r.order_ref for r in live})
    assert Decimal(totals["order_amount"]) == sum(r.order_amount for r in live)
    assert totals["new_customers"] == len(new)

    per_batch = defaultdict(int)
    for c in coupons:
        per_batch[c.batch_id] += 1
    assert {b["batch"]: b["issued"] for b in body["batches"]} == dict(per_batch)
    assert sum(b["redemptions"] for b in body["batches"]) == 7
    assert sum(d["redemptions"] for d in body["days"]) == 7
    assert len(body["days"]) == 30
    assert [c["channel"] for c in body["channels"]] == [""]  # these orders name no channel

    # the budget at the end of the last day: the sums of all its entries
    entries = BudgetEntry.objects.for_tenant(world.tenant).filter(
        budget=rows[0].batch.campaign.budget
    )
    last = body["burn_down"][-1]
    assert Decimal(last["spent"]) == sum(e.spent_delta for e in entries)
    assert Decimal(last["reserved"]) == sum(e.reserved_delta for e in entries)
    assert Decimal(last["amount"]) == sum(e.amount_delta for e in entries) > 0


def test_the_regional_operator_sees_their_customers_and_orders_only(world, redemptions):
    days = _days(world)
    everyone = world.client(Role.OPERATOR).get(URL, days).json()["totals"]
    north = world.client(Role.REGIONAL_OPERATOR).get(URL, days).json()["totals"]
    assert (everyone["issued"], north["issued"]) == (8, 5)
    assert north["redemptions"] == 4  # the northern customers' five, less the one of last month


def test_a_batch_of_another_campaign_is_refused_and_the_days_download(world, redemptions):
    other = active_batch(world, name="Other campaign's")
    client = world.client(Role.OPERATOR)
    refused = client.get(URL, {"campaign": redemptions_campaign(world), "batch": other.pk})
    assert refused.status_code == 400 and "batch" in refused.json()["fields"]
    csv = client.get(URL, {**_days(world), "format": "csv"})
    lines = b"".join(csv.streaming_content).decode().strip().splitlines()
    assert len(lines) == 31 and lines[0].startswith("Day,")


def redemptions_campaign(world) -> int:
    return CouponRedemption.objects.for_tenant(world.tenant).first().batch.campaign_id
