"""The API side of issue 14: a staff member's token reaches only their own points, prizes and
draws; operators ship, deliver, adjust stock and edit draft lotteries; a merchant names its
customer record."""

from decimal import Decimal

import pytest

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory, StaffFactory
from core.models import AuditEntry
from redemption.models import Prize

from .factories import give_points, link_customer, lottery, physical_prize, prize, ship_address

pytestmark = pytest.mark.django_db

API = "/api/v1"


def test_a_staff_token_reads_its_own_points_and_not_a_colleagues(world):
    p = prize(world)
    give_points(world, p.program, world.staff, 1200)
    colleague = StaffFactory(tenant=world.tenant, merchant=world.merchant)
    client = world.client(Role.MERCHANT_STAFF)
    mine = client.get(f"{API}/staff/{world.staff.code}/points")
    assert mine.status_code == 200
    assert [a["balance"] for a in mine.json()["accounts"]] == [1200]
    assert client.get(f"{API}/staff/{world.staff.code}/points/entries").status_code == 200
    for path in (f"staff/{colleague.code}/points", f"staff/{colleague.code}/points/entries"):
        assert client.get(f"{API}/{path}").status_code == 404


def test_a_staff_token_redeems_and_draws_for_itself_only(world):
    p = prize(world, points_cost=100, value=Decimal("1.00"))
    lot = lottery(world, p.program, activate=True)
    give_points(world, p.program, world.staff, 1000)
    colleague = StaffFactory(tenant=world.tenant, merchant=world.merchant)
    give_points(world, p.program, colleague, 1000)
    client = world.client(Role.MERCHANT_STAFF)
    body = {"prize": p.pk, "quantity": 1}
    assert (
        client.post(
            f"{API}/prize-redemptions", {**body, "staff": world.staff.code}, format="json"
        ).status_code
        == 201
    )
    theirs = client.post(
        f"{API}/prize-redemptions", {**body, "staff": colleague.code}, format="json"
    )
    assert theirs.status_code == 404 and theirs.json()["code"] == "not_found"
    draws = f"{API}/lotteries/{lot.pk}/draws"
    assert client.post(draws, {"staff": world.staff.code}, format="json").status_code == 201
    assert client.post(draws, {"staff": colleague.code}, format="json").status_code == 404
    assert [d["staff"] for d in client.get(draws).json()["results"]] == [world.staff.code]


def test_operators_ship_and_deliver_and_the_staff_member_reads_it(world):
    p = physical_prize(world)
    give_points(world, p.program, world.staff, 500)
    staff_client = world.client(Role.MERCHANT_STAFF)
    made = staff_client.post(
        f"{API}/prize-redemptions",
        {"staff": world.staff.code, "prize": p.pk, "shipping_address": ship_address()},
        format="json",
    ).json()
    assert made["fulfilment_status"] == "pending"
    operator = world.client(Role.OPERATOR)
    url = f"{API}/prize-redemptions/{made['id']}"
    assert (
        staff_client.post(
            f"{url}/ship", {"carrier": "SF", "tracking_number": "1"}, format="json"
        ).status_code
        == 403
    )
    missing = operator.post(f"{url}/ship", {"carrier": "SF"}, format="json")
    assert missing.status_code == 400 and "tracking_number" in missing.json()["fields"]
    shipped = operator.post(
        f"{url}/ship", {"carrier": "SF Express", "tracking_number": "SF42"}, format="json"
    )
    assert shipped.status_code == 200
    seen = staff_client.get(url).json()
    assert (seen["fulfilment_status"], seen["carrier"], seen["tracking_number"]) == (
        "shipped",
        "SF Express",
        "SF42",
    )
    cancel = staff_client.post(f"{url}/cancel", {}, format="json")
    assert cancel.status_code == 409 and cancel.json()["code"] == "not_cancellable"
    assert (
        operator.post(f"{url}/deliver", {}, format="json").json()["fulfilment_status"]
        == "delivered"
    )
    assert operator.post(f"{url}/deliver", {}, format="json").status_code == 409


def test_stock_adjustments_through_the_api(world):
    p = prize(world, stock=4)
    operator = world.client(Role.OPERATOR)
    url = f"{API}/prizes/{p.pk}/stock-adjustments"
    done = operator.post(url, {"delta": 6, "reason": "Delivery of six"}, format="json")
    assert done.status_code == 200 and done.json()["stock"] == 10
    below = operator.post(url, {"delta": -11, "reason": "Count"}, format="json")
    assert below.status_code == 400 and "delta" in below.json()["fields"]
    assert (
        world.client(Role.FINANCE).post(url, {"delta": 1, "reason": "x"}, format="json").status_code
        == 403
    )
    assert Prize.objects.for_tenant(world.tenant).get(pk=p.pk).stock == 10
    assert (
        AuditEntry.objects.for_tenant(world.tenant).filter(action="prize.stock_adjust").count() == 1
    )


def test_a_draft_lottery_is_replaced_by_put(world):
    lot = lottery(world)
    body = {
        "name": "Evening draw",
        "cost_points": 30,
        "outcomes": [
            {"kind": "points", "points": 20, "probability": "0.5"},
            {"kind": "nothing", "probability": "0.5"},
        ],
    }
    operator = world.client(Role.OPERATOR)
    put = operator.put(f"{API}/lotteries/{lot.pk}", body, format="json")
    assert put.status_code == 200
    assert (put.json()["name"], len(put.json()["outcomes"])) == ("Evening draw", 2)
    bad = operator.put(
        f"{API}/lotteries/{lot.pk}", {**body, "outcomes": body["outcomes"][:1]}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_lottery"
    operator.post(f"{API}/lotteries/{lot.pk}/activate", {}, format="json")
    assert operator.put(f"{API}/lotteries/{lot.pk}", body, format="json").status_code == 409


def test_a_merchant_names_its_customer_record_and_coupon_prizes_use_it(world):
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="CUST-M1")
    client = world.key_client()
    url = f"{API}/merchants/{world.merchant.code}"
    body = {"name": world.merchant.name, "region": world.region.code, "customer": "CUST-M1"}
    assert client.put(url, body, format="json").json()["customer"] == "CUST-M1"
    world.merchant.refresh_from_db()
    assert world.merchant.customer_id == customer.pk
    unknown = client.put(url, {**body, "customer": "NOPE"}, format="json")
    assert unknown.status_code == 400 and "customer" in unknown.json()["fields"]
    assert link_customer(world) != customer  # the helper links a fresh record
