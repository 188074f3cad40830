"""Prize catalog and redemptions: services and API (SPEC §4, §8)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import ApiKeyScope
from accounts.roles import Role
from accounts.tests.factories import MerchantFactory, StaffFactory
from core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RuleRefusal,
    ValidationFailed,
)
from core.models import AuditEntry
from coupons.tests.factories import draft_batch
from points import services as points_services
from points.models import EntryKind, LedgerEntry
from points.services import ledger_mismatches
from redemption import services
from redemption.models import Prize, PrizeRedemption

from .factories import give_points, prize, staff_program

pytestmark = pytest.mark.django_db


def _redeem(world, p, *, actor=None, staff=None, **kwargs):
    return services.prize_redeem(
        tenant=world.tenant,
        actor=actor or world.actor(Role.OPERATOR),
        staff=staff or world.staff,
        prize=p,
        **kwargs,
    )


# --- catalog ----------------------------------------------------------------------------------


def test_create_validates_and_audits(world):
    p = prize(world, points_cost=500, value=Decimal("5.00"), stock=3)
    assert (p.stock, p.redeemed, p.points_cost) == (3, 0, 500)
    assert AuditEntry.objects.for_tenant(world.tenant).filter(action="prize.create").count() == 1
    with pytest.raises(ValidationFailed) as err:
        prize(world, kind="coupon", name="No batch")
    assert "coupon_batch" in err.value.fields
    # 10.00 for 100 points is 0.10 a point, ten times the program's 0.01.
    with pytest.raises(ValidationFailed) as err:
        prize(world, points_cost=100, value=Decimal("10.00"), name="Too cheap")
    assert "value" in err.value.fields
    # A value given as 1E+1 (JSON allows it) reads as money in the message, not as 1E+1.
    with pytest.raises(ValidationFailed) as err:
        prize(world, points_cost=100, value=Decimal("1E+1"), name="Exponent")
    assert str(err.value.fields["value"][0]).startswith("10.00 for 100 points")


def test_coupon_prize_needs_a_batch_of_its_own_tenant(world, other_world):
    batch = draft_batch(world)
    p = prize(world, kind="coupon", coupon_batch=batch, name="Coupon")
    assert p.coupon_batch_id == batch.pk
    with pytest.raises(ValidationFailed):
        prize(world, kind="coupon", coupon_batch=draft_batch(other_world), name="Foreign")


def test_finance_cannot_create_a_prize(world):
    with pytest.raises(PermissionDeniedError):
        services.prize_create(
            tenant=world.tenant,
            actor=world.actor(Role.FINANCE),
            program=staff_program(world),
            name="X",
            kind="virtual",
            points_cost=100,
            value=Decimal("1.00"),
            stock=1,
        )


def test_api_create_read_and_patch(world):
    client = world.client(Role.OPERATOR)
    body = {
        "program": staff_program(world).pk,
        "name": "iPhone",
        "kind": "physical",
        "points_cost": 699900,
        "value": "6999.00",
        "stock": 2,
        "per_holder_limit": 1,
    }
    created = client.post("/api/v1/prizes", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["value"] == "6999.00"
    pk = created.json()["id"]
    changed = client.patch(f"/api/v1/prizes/{pk}", {"stock": 5}, format="json")
    assert changed.status_code == 200, changed.json()
    assert client.get(f"/api/v1/prizes/{pk}").json()["stock"] == 5
    assert client.get("/api/v1/prizes").json()["count"] == 1
    refused = world.client(Role.FINANCE).post("/api/v1/prizes", body, format="json")
    assert refused.status_code == 403


def _range_program(world):
    """Seed 002's program: 100 points to the yuan, prizes giving 0.01 to 0.2 a point."""
    return points_services.program_create(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        name="Follower points",
        point_value=Decimal("0.01"),
        point_value_min=Decimal("0.01"),
        point_value_max=Decimal("0.2"),
    )


def test_a_catalogue_giving_more_per_point_for_dearer_prizes_fits_the_range(world):
    # Seed 002: 50 points for a 0.5 yuan red envelope (0.01 a point), 500 points for an 88 yuan
    # one (0.176 a point). The range allows both; how the curve rises is the campaign check's.
    program = _range_program(world)
    client = world.client(Role.OPERATOR)
    base = {"program": program.pk, "kind": "virtual", "group": "Red envelope", "stock": 100}
    small = {**base, "name": "Red envelope 0.5 CNY", "points_cost": 50, "value": "0.50"}
    large = {**base, "name": "Red envelope 88 CNY", "points_cost": 500, "value": "88.00"}
    for body in (small, large):
        response = client.post("/api/v1/prizes", body, format="json")
        assert response.status_code == 201, response.json()
    names = set(Prize.objects.for_tenant(world.tenant).values_list("name", flat=True))
    assert names == {"Red envelope 0.5 CNY", "Red envelope 88 CNY"}


def test_a_prize_outside_the_range_is_refused_and_nothing_is_made(world):
    program = _range_program(world)
    client = world.client(Role.OPERATOR)
    body = {"program": program.pk, "name": "Red envelope 200 CNY", "kind": "virtual",
            "points_cost": 500, "value": "200.00", "stock": 1}  # fmt: skip
    response = client.post("/api/v1/prizes", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_prize"
    assert response.json()["fields"]["value"] == [
        "200.00 for 500 points gives 0.400000 a point, outside the program's range "
        "0.010000 to 0.200000."
    ]
    below = client.post(
        "/api/v1/prizes", {**body, "name": "Cheap", "value": "2.00"}, format="json"
    )  # 0.004 a point, under the lowest 0.01
    assert below.status_code == 400 and "value" in below.json()["fields"]
    free = client.post("/api/v1/prizes", {**body, "name": "Free", "value": "0"}, format="json")
    assert free.status_code == 201  # a prize worth nothing is not priced
    assert list(Prize.objects.for_tenant(world.tenant).values_list("name", flat=True)) == ["Free"]


def test_a_patch_out_of_the_range_is_refused(world):
    p = prize(world, points_cost=1000, value=Decimal("10.00"))  # 0.01, within 0.008 to 0.012
    response = world.client(Role.OPERATOR).patch(
        f"/api/v1/prizes/{p.pk}", {"value": "13.00"}, format="json"
    )
    assert response.status_code == 400 and "value" in response.json()["fields"]
    p.refresh_from_db()
    assert p.value == Decimal("10.00")


def test_a_group_round_trips_through_the_api_and_is_audited(world):
    client = world.client(Role.OPERATOR)
    body = {"program": staff_program(world).pk, "name": "Top-up 10", "kind": "virtual",
            "group": "Phone top-up", "points_cost": 1000, "value": "10.00", "stock": 5}  # fmt: skip
    created = client.post("/api/v1/prizes", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["group"] == "Phone top-up"
    pk = created.json()["id"]
    plain = client.post("/api/v1/prizes", {**body, "name": "Plain"} | {"group": ""}, format="json")
    assert plain.json()["group"] == ""  # the kind's general group
    del body["group"]
    assert (
        client.post("/api/v1/prizes", {**body, "name": "Unsaid"}, format="json").json()["group"]
        == ""
    )
    changed = client.patch(f"/api/v1/prizes/{pk}", {"group": "Data plans"}, format="json")
    assert changed.status_code == 200 and changed.json()["group"] == "Data plans"
    assert client.get(f"/api/v1/prizes/{pk}").json()["group"] == "Data plans"
    assert client.patch(f"/api/v1/prizes/{pk}", {"stock": 6}, format="json").json()["group"] == (
        "Data plans"
    )  # a PATCH without it keeps it
    updates = AuditEntry.objects.for_tenant(world.tenant).filter(action="prize.update")
    first = updates.order_by("id").first()
    assert (first.before["group"], first.after["group"]) == ("Phone top-up", "Data plans")


# --- redemption -------------------------------------------------------------------------------


def test_redeem_spends_points_and_takes_stock_without_budget_money(world):
    p = prize(world, stock=3)
    account = give_points(world, p.program, world.staff, 2500)
    redemption = _redeem(world, p, quantity=2)
    account.refresh_from_db()
    p.refresh_from_db()
    assert account.balance == 500
    assert (p.stock, p.redeemed) == (1, 2)
    spend = redemption.spend_entry
    assert (spend.kind, spend.points, spend.money) == (EntryKind.SPEND, 2000, Decimal("0.00"))
    assert ledger_mismatches(account_ids=[account.pk]) == []


def test_refusals(world):
    p = prize(world, stock=1, per_holder_limit=1)
    give_points(world, p.program, world.staff, 500)
    with pytest.raises(RuleRefusal) as err:
        _redeem(world, p)
    assert err.value.code == "insufficient_points"
    give_points(world, p.program, world.staff, 5000)
    with pytest.raises(ConflictError) as err:
        _redeem(world, p, quantity=2)
    assert err.value.code == "out_of_stock"
    services.prize_update(tenant=world.tenant, actor=world.system, prize=p, stock=5)
    _redeem(world, p)
    with pytest.raises(RuleRefusal) as err:
        _redeem(world, p)
    assert err.value.code == "limit_reached"
    services.prize_update(
        tenant=world.tenant,
        actor=world.system,
        prize=p,
        per_holder_limit=None,
        available_until=timezone.now() - timedelta(minutes=1),
    )
    with pytest.raises(RuleRefusal) as err:
        _redeem(world, p)
    assert err.value.code == "not_available"
    assert PrizeRedemption.objects.for_tenant(world.tenant).count() == 1


def test_physical_prize_needs_an_address_and_waits_for_shipping(world):
    p = prize(world, kind="physical", name="Mug")
    give_points(world, p.program, world.staff, 1000)
    with pytest.raises(ValidationFailed):
        _redeem(world, p)
    redemption = _redeem(world, p, shipping_address="1 Road, Hangzhou")
    assert redemption.fulfilment_status == "pending"


def test_cancel_refunds_and_returns_stock_once(world):
    p = prize(world, stock=1)
    account = give_points(world, p.program, world.staff, 1000)
    redemption = _redeem(world, p)
    services.redemption_cancel(tenant=world.tenant, actor=world.system, redemption=redemption)
    account.refresh_from_db()
    p.refresh_from_db()
    assert account.balance == 1000
    assert (p.stock, p.redeemed) == (1, 0)
    with pytest.raises(ConflictError) as err:
        services.redemption_cancel(tenant=world.tenant, actor=world.system, redemption=redemption)
    assert err.value.code == "invalid_transition"
    refunds = LedgerEntry.objects.for_tenant(world.tenant).filter(kind=EntryKind.REFUND)
    assert refunds.count() == 1
    assert ledger_mismatches(account_ids=[account.pk]) == []


def test_merchant_staff_redeems_for_themselves_only(world):
    p = prize(world)
    colleague = StaffFactory(tenant=world.tenant, merchant=world.merchant)
    give_points(world, p.program, world.staff, 1000)
    give_points(world, p.program, colleague, 1000)
    own = _redeem(world, p, actor=world.actor(Role.MERCHANT_STAFF))
    assert own.staff_id == world.staff.pk
    with pytest.raises(NotFoundError):
        _redeem(world, p, actor=world.actor(Role.MERCHANT_STAFF), staff=colleague)
    with pytest.raises(PermissionDeniedError):
        _redeem(world, p, actor=world.actor(Role.AUDITOR))


def test_api_redeem_with_a_points_key_is_idempotent_and_cancels(world):
    p = prize(world, stock=5)
    account = give_points(world, p.program, world.staff, 3000)
    client = world.key_client(scopes=[ApiKeyScope.POINTS])
    body = {"staff": world.staff.code, "prize": p.pk, "quantity": 2}
    first = client.post("/api/v1/prize-redemptions", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post("/api/v1/prize-redemptions", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201, first.json()
    assert again.json() == first.json()
    account.refresh_from_db()
    assert account.balance == 1000
    broke = client.post("/api/v1/prize-redemptions", body, format="json")
    assert (broke.status_code, broke.json()["code"]) == (422, "insufficient_points")
    pk = first.json()["id"]
    cancelled = client.post(f"/api/v1/prize-redemptions/{pk}/cancel", {}, format="json")
    assert cancelled.status_code == 200, cancelled.json()
    assert cancelled.json()["status"] == "cancelled"
    assert Prize.objects.for_tenant(world.tenant).get(pk=p.pk).stock == 5
    orders_key = world.key_client(scopes=[ApiKeyScope.ORDERS])
    assert orders_key.post("/api/v1/prize-redemptions", body, format="json").status_code == 403


def test_api_out_of_stock_is_409(world):
    p = prize(world, stock=0)
    give_points(world, p.program, world.staff, 1000)
    response = world.client(Role.OPERATOR).post(
        "/api/v1/prize-redemptions", {"staff": world.staff.code, "prize": p.pk}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (409, "out_of_stock")


def test_regional_operator_redeems_only_in_their_regions(world):
    p = prize(world)
    far = StaffFactory(
        tenant=world.tenant,
        merchant=MerchantFactory(tenant=world.tenant, region=world.other_region),
    )
    give_points(world, p.program, world.staff, 1000)
    give_points(world, p.program, far, 1000)
    client = world.client(Role.REGIONAL_OPERATOR)
    near = client.post("/api/v1/prize-redemptions", {"staff": world.staff.code, "prize": p.pk})
    assert near.status_code == 201, near.json()
    away = client.post("/api/v1/prize-redemptions", {"staff": far.code, "prize": p.pk})
    assert away.status_code == 404
    assert client.get("/api/v1/prize-redemptions").json()["count"] == 1
