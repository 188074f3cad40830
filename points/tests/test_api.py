from decimal import Decimal

import pytest

from accounts.roles import Role
from core.models import AuditEntry
from orders.tests.factories import order_body
from points.models import PointsAccount, PointsProgram

from .factories import program, running_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(world):
    """A program and a tiered first-N rule, made over the API by an operator."""
    operator = world.client(Role.OPERATOR)
    campaign = running_campaign(world)
    response = operator.post(
        "/api/v1/points-programs",
        {
            "name": "Staff task points",
            "holder": "staff",
            "point_value": "0.010000",
            "expiry": {"policy": "days", "days": 90},
            "pending": "until_completed",
            "weekly_cap": 50,
            "allow_negative": False,
            "transferable": True,
            "transfer_limits": {"per_transfer": 100},
            "tiers": [{"name": "gold", "threshold": 1000, "multiplier": "1.5"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    program_id = response.json()["id"]
    response = operator.post(
        "/api/v1/points-rules",
        {
            "campaign": campaign.pk,
            "program": program_id,
            "kind": "region_first_n",
            "regions": [world.region.code],
            "tiers": [{"from": 1, "to": 10, "points": 5}, {"from": 11, "to": 20, "points": 10}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["tiers"][1] == {"from": 11, "to": 20, "points": 10}
    return program_id


def test_orders_over_http_earn_pending_then_usable_points(world, setup):
    client = world.key_client()
    for n in range(3):
        response = client.post("/api/v1/orders", order_body(world, f"O-{n}"), format="json")
        assert response.status_code == 201
        (award,) = response.json()["points"]  # the order with the points it earned, pending
        assert (award["rank"], award["points"], award["outcome"]) == (n + 1, 5, "awarded")
        # the award stands and its points are pending: two names, no bare `status`
        assert (award["award_status"], award["points_status"]) == ("active", "pending")
        assert "status" not in award
    completed = client.post("/api/v1/orders/O-0/complete")
    assert completed.status_code == 200
    assert completed.json()["points"][0]["points_status"] == "usable"
    closed = client.post("/api/v1/orders/O-1/close")
    assert closed.json()["points"][0]["award_status"] == "cancelled"
    assert closed.json()["points"][0]["points_status"] == "cancelled"
    listed = client.get("/api/v1/orders?status=open").json()["results"]
    assert [a["points_status"] for o in listed for a in o["points"]] == ["pending"]
    points = client.get(f"/api/v1/staff/{world.staff.code}/points").json()
    account = points["accounts"][0]
    assert (account["balance"], account["pending"], account["expiring_soon"]) == (5, 5, 0)
    entries = client.get(f"/api/v1/staff/{world.staff.code}/points/entries").json()
    assert entries["count"] == 5
    kinds = [e["kind"] for e in entries["results"]]
    assert kinds == ["cancel", "activate", "earn", "earn", "earn"]  # newest first
    assert entries["results"][0]["order"] == "O-1"


def test_program_validation_errors_are_field_errors(world):
    response = world.client(Role.OPERATOR).post(
        "/api/v1/points-programs",
        {"name": "x", "point_value": "0.01", "expiry": {"policy": "days"}},
        format="json",
    )
    assert response.status_code == 400
    assert "expiry" in response.json()["fields"]


def test_a_program_without_a_range_gets_its_point_value_plus_or_minus_20_percent(world):
    client = world.client(Role.OPERATOR)
    response = client.post(
        "/api/v1/points-programs", {"name": "x", "point_value": "0.01"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["point_value_range"] == {"min": "0.008000", "max": "0.012000"}
    assert "point_value_band" not in response.json()
    odd = client.post(
        "/api/v1/points-programs", {"name": "y", "point_value": "0.000001"}, format="json"
    )  # the lowest end stays above zero
    assert odd.json()["point_value_range"] == {"min": "0.000001", "max": "0.000001"}
    (entry,) = AuditEntry.objects.for_tenant(world.tenant).filter(
        action="points_program.create", object_id=str(response.json()["id"])
    )
    after = entry.after
    assert (Decimal(after["point_value_min"]), Decimal(after["point_value_max"])) == (
        Decimal("0.008"), Decimal("0.012"),
    )  # fmt: skip


def test_a_given_range_is_kept_and_patched_one_end_at_a_time(world):
    client = world.client(Role.OPERATOR)
    body = {"name": "Followers", "point_value": "0.01",
            "point_value_range": {"min": "0.01", "max": "0.2"}}  # fmt: skip
    created = client.post("/api/v1/points-programs", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["point_value_range"] == {"min": "0.010000", "max": "0.200000"}
    url = f"/api/v1/points-programs/{created.json()['id']}"
    changed = client.patch(url, {"point_value_range": {"max": "0.15"}}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["point_value_range"] == {"min": "0.010000", "max": "0.150000"}
    # A new point value inside the range keeps the range.
    moved = client.patch(url, {"point_value": "0.1"}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["point_value_range"] == {"min": "0.010000", "max": "0.150000"}
    # Sent alone, a point value the range would no longer hold is refused, naming the range.
    out = client.patch(url, {"point_value": "0.3"}, format="json")
    assert out.status_code == 400, out.json()
    assert list(out.json()["fields"]) == ["point_value_range"]
    assert "0.010000 to 0.150000" in out.json()["fields"]["point_value_range"][0]
    both = client.patch(
        url, {"point_value": "0.3", "point_value_range": {"max": "0.4"}}, format="json"
    )
    assert both.status_code == 200, both.json()
    stored = PointsProgram.objects.for_tenant(world.tenant).get(pk=created.json()["id"])
    assert (stored.point_value, stored.point_value_min, stored.point_value_max) == (
        Decimal("0.3"), Decimal("0.01"), Decimal("0.4"),
    )  # fmt: skip


@pytest.mark.parametrize(
    "value_range",
    [
        {"min": "0.02", "max": "0.05"},  # the lowest end above the point value
        {"min": "0", "max": "0.05"},  # not above zero
        {"min": "-0.01", "max": "0.05"},
        {"min": "0.005", "max": "0.009"},  # the highest end below the point value
    ],
)
def test_a_range_that_does_not_hold_the_point_value_is_a_field_error(world, value_range):
    client = world.client(Role.OPERATOR)
    body = {"name": "x", "point_value": "0.01", "point_value_range": value_range}
    response = client.post("/api/v1/points-programs", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_program"
    assert list(response.json()["fields"]) == ["point_value_range"]
    assert not PointsProgram.objects.for_tenant(world.tenant).exists()
    prog = program(world)
    patched = client.patch(
        f"/api/v1/points-programs/{prog.pk}", {"point_value_range": value_range}, format="json"
    )
    assert patched.status_code == 400 and "point_value_range" in patched.json()["fields"]
    prog.refresh_from_db()
    assert (prog.point_value_min, prog.point_value_max) == (Decimal("0.008"), Decimal("0.012"))


def test_a_range_without_an_end_on_create_is_refused(world):
    response = world.client(Role.OPERATOR).post(
        "/api/v1/points-programs",
        {"name": "x", "point_value": "0.01", "point_value_range": {"min": "0.005"}},
        format="json",
    )
    assert response.status_code == 400
    assert "point_value_range.max" in response.json()["fields"]


def test_a_patched_tier_needs_all_its_fields(world):
    # Issue 11: a PATCH is partial down to its nested tiers in DRF, so a tier without its
    # threshold (or a rank tier without `to`) reached the service and failed there with a 500.
    client = world.client(Role.OPERATOR)
    prog = program(world)
    response = client.patch(
        f"/api/v1/points-programs/{prog.pk}",
        {"tiers": [{"name": "gold", "multiplier": "1.5"}]},
        format="json",
    )
    assert response.status_code == 400, response.content[:500]
    assert response.json()["fields"] == {"tiers.0.threshold": ["This field is required."]}
    rule = client.post(
        "/api/v1/points-rules",
        {
            "campaign": running_campaign(world).pk,
            "program": prog.pk,
            "kind": "region_first_n",
            "regions": [world.region.code],
            "tiers": [{"from": 1, "to": 10, "points": 5}],
        },
        format="json",
    ).json()
    response = client.patch(
        f"/api/v1/points-rules/{rule['id']}", {"tiers": [{"from": 1, "points": 5}]}, format="json"
    )
    assert response.status_code == 400, response.content[:500]
    assert response.json()["fields"] == {"tiers.0.to": ["This field is required."]}


def test_rule_with_overlapping_tiers_is_refused(world):
    prog = program(world)
    campaign = running_campaign(world)
    response = world.client(Role.OPERATOR).post(
        "/api/v1/points-rules",
        {
            "campaign": campaign.pk,
            "program": prog.pk,
            "kind": "region_first_n",
            "regions": [world.region.code],
            "tiers": [{"from": 1, "to": 10, "points": 5}, {"from": 10, "to": 20, "points": 10}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_rule"


def test_finance_reads_programs_but_cannot_create(world):
    client = world.client(Role.FINANCE)
    assert client.get("/api/v1/points-programs").status_code == 200
    response = client.post(
        "/api/v1/points-programs", {"name": "x", "point_value": "0.01"}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "role,status",
    [
        (Role.TENANT_ADMIN, 201),
        (Role.BU_ADMIN, 201),
        (Role.OPERATOR, 201),
        (Role.REGIONAL_OPERATOR, 201),
        (Role.FINANCE, 403),
        (Role.AUDITOR, 403),
        (Role.MERCHANT_ADMIN, 403),
    ],
)
def test_adjustments_by_role(world, setup, role, status):
    world.key_client().post("/api/v1/orders", order_body(world, "O-1"), format="json")
    account = PointsAccount.objects.for_tenant(world.tenant).get()
    response = world.client(role).post(
        f"/api/v1/points-accounts/{account.pk}/adjustments",
        {"points": 7, "reason": "Goodwill after a complaint"},
        format="json",
    )
    assert response.status_code == status, response.json()
    if status == 201:
        assert response.json()["kind"] == "adjust"
        assert response.json()["balance_after"] == 7


def test_adjustment_without_reason_and_beyond_the_balance(world, setup):
    world.key_client().post("/api/v1/orders", order_body(world, "O-1"), format="json")
    account = PointsAccount.objects.for_tenant(world.tenant).get()
    client = world.client(Role.OPERATOR)
    url = f"/api/v1/points-accounts/{account.pk}/adjustments"
    assert client.post(url, {"points": 5, "reason": ""}, format="json").status_code == 400
    response = client.post(url, {"points": -1, "reason": "x"}, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_points"


def test_regional_operator_cannot_see_accounts_outside_their_regions(world, setup):
    from accounts.tests.factories import MerchantFactory, StaffFactory

    far = StaffFactory(
        tenant=world.tenant,
        merchant=MerchantFactory(tenant=world.tenant, region=world.other_region),
    )
    body = order_body(world, "O-far", merchant=far.merchant.code, staff=far.code)
    world.key_client().post("/api/v1/orders", body, format="json")
    account = PointsAccount.objects.for_tenant(world.tenant).get(staff=far)
    client = world.client(Role.REGIONAL_OPERATOR)
    assert client.get(f"/api/v1/points-accounts/{account.pk}").status_code == 404
    assert client.get(f"/api/v1/staff/{far.code}/points").status_code == 404
    assert client.get("/api/v1/points-accounts").json()["count"] == 0
    assert world.client(Role.OPERATOR).get("/api/v1/points-accounts").json()["count"] == 1


def test_transfer_over_the_api(world, setup):
    from accounts.tests.factories import StaffFactory

    other = StaffFactory(tenant=world.tenant, merchant=world.merchant)
    client = world.key_client()
    client.post("/api/v1/orders", order_body(world, "O-1"), format="json")
    client.post("/api/v1/orders/O-1/complete")
    body = {"program": setup, "from_staff": world.staff.code, "to_staff": other.code, "points": 3}
    response = world.client(Role.OPERATOR).post("/api/v1/points-transfers", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["from_balance"] == 2
    response = world.client(Role.OPERATOR).post(
        "/api/v1/points-transfers", {**body, "points": 3}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_points"
    # A staff member moves only their own points.
    staff_client = world.client(Role.MERCHANT_STAFF)
    mine = staff_client.post("/api/v1/points-transfers", {**body, "points": 1}, format="json")
    assert mine.status_code == 201
    theirs = {**body, "from_staff": other.code, "to_staff": world.staff.code, "points": 1}
    assert staff_client.post("/api/v1/points-transfers", theirs, format="json").status_code == 404


def test_api_key_needs_the_points_scope(world, setup):
    client = world.key_client(scopes=["orders"])
    assert client.get(f"/api/v1/staff/{world.staff.code}/points").status_code == 403
    assert (
        world.key_client(scopes=["points"])
        .get(f"/api/v1/staff/{world.staff.code}/points")
        .status_code
        == 200
    )
    # Management endpoints need a user.
    assert world.key_client().get("/api/v1/points-programs").status_code == 403


def test_other_tenant_staff_is_404(world, other_world, setup):
    response = world.key_client().get(f"/api/v1/staff/{other_world.staff.code}/points")
    assert response.status_code == 404
