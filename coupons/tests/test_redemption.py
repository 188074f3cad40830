"""Validate, redeem, rollback and expiry of coupons (SPEC §2.5, §10 coupon reasons)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory, MerchantFactory
from budgets.models import Budget
from core.errors import ConflictError, DomainError
from core.models import AuditEntry
from coupons import services
from coupons.errors import CouponReason as R
from coupons.models import Coupon, CouponBatch, CouponRedemption, CouponStatus
from coupons.tests.factories import active_batch

pytestmark = pytest.mark.django_db
D = Decimal


def _customer(world, code="C1"):
    return CustomerFactory(tenant=world.tenant, region=world.region, code=code)


def _issue(world, batch, customer):
    return services.coupon_issue(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, customer=customer
    )


def _check(world, code, customer, amount="150.00", **facts):
    _c, _b, check = services.coupon_evaluate(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        code=code,
        customer=customer,
        amount=D(amount),
        **facts,
    )
    return check


def _redeem(world, code, customer, order="O1", amount="150.00", **facts):
    return services.coupon_redeem(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        code=code,
        customer=customer,
        order=order,
        amount=D(amount),
        **facts,
    )


def _budget(batch) -> Budget:
    return Budget.objects.for_tenant(batch.tenant).get(pk=batch.campaign.budget_id)


def _figures(batch):
    b = _budget(batch)
    return b.reserved, b.spent


@pytest.fixture
def setup(world):
    batch = active_batch(world, quantity=10)  # 20 off above 100, 7 days
    customer = _customer(world)
    return batch, customer, _issue(world, batch, customer)


# --- discounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "amount", "discount"),
    [
        ({}, "150.00", "20.00"),
        (
            {"kind": "percent_off", "value": D("15"), "max_discount": D("30"), "threshold": None},
            "100.00",
            "15.00",
        ),
        (
            {"kind": "percent_off", "value": D("15"), "max_discount": D("30"), "threshold": None},
            "1000.00",
            "30.00",
        ),
        ({"kind": "cash", "value": D("10"), "threshold": None}, "6.00", "6.00"),
        ({"kind": "free_shipping", "value": D("8"), "threshold": None}, "50.00", "8.00"),
    ],
)
def test_discount_per_kind(world, overrides, amount, discount):
    batch = active_batch(world, **overrides)
    customer = _customer(world)
    coupon = _issue(world, batch, customer)
    check = _check(world, coupon.code, customer, amount)
    assert check.valid and check.discount == D(discount)


# --- every reason -------------------------------------------------------------------------------


def test_not_found(world):
    check = _check(world, "NOPE12345", _customer(world))
    assert check.reasons == [R.NOT_FOUND]


def test_voided(world, setup):
    _batch, customer, coupon = setup
    Coupon.objects.for_tenant(world.tenant).filter(pk=coupon.pk).update(status="voided")
    assert _check(world, coupon.code, customer).reasons == [R.VOIDED]


def test_not_yours(world, setup):
    coupon = setup[2]
    assert _check(world, coupon.code, _customer(world, "C2")).reasons == [R.NOT_YOURS]


def test_not_yours_for_a_shared_code_never_received(world):
    active_batch(world, code_mode="shared", shared_code="WELCOME", per_customer_limit=1)
    assert _check(world, "welcome", _customer(world)).reasons == [R.NOT_YOURS]


def test_batch_paused(world, setup):
    batch, customer, coupon = setup
    services.batch_pause(tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch)
    assert _check(world, coupon.code, customer).reasons == [R.BATCH_PAUSED]


def test_not_started(world, setup):
    _batch, customer, coupon = setup
    Coupon.objects.for_tenant(world.tenant).filter(pk=coupon.pk).update(
        valid_from=timezone.now() + timedelta(days=1)
    )
    assert _check(world, coupon.code, customer).reasons == [R.NOT_STARTED]


def test_expired(world, setup):
    _batch, customer, coupon = setup
    Coupon.objects.for_tenant(world.tenant).filter(pk=coupon.pk).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )
    assert _check(world, coupon.code, customer).reasons == [R.EXPIRED]


def test_already_redeemed(world, setup):
    _batch, customer, coupon = setup
    _redeem(world, coupon.code, customer)
    assert _check(world, coupon.code, customer).reasons == [R.ALREADY_REDEEMED]


def test_out_of_scope_merchant(world):
    batch = active_batch(world)
    batch.scope_merchants.set([world.merchant])
    customer = _customer(world)
    coupon = _issue(world, batch, customer)
    other = MerchantFactory(tenant=world.tenant, region=world.region)
    assert _check(world, coupon.code, customer, merchant=other).reasons == [R.OUT_OF_SCOPE_MERCHANT]
    assert _check(world, coupon.code, customer, merchant=world.merchant).valid


def test_out_of_scope_region(world):
    batch = active_batch(world)
    batch.scope_regions.set([world.region])
    customer = _customer(world)
    coupon = _issue(world, batch, customer)
    assert _check(world, coupon.code, customer, region=world.other_region).reasons == [
        R.OUT_OF_SCOPE_REGION
    ]
    assert _check(world, coupon.code, customer, region=world.region).valid


def test_out_of_scope_category(world):
    batch = active_batch(world, scope_categories=["phones"])
    customer = _customer(world)
    coupon = _issue(world, batch, customer)
    assert _check(world, coupon.code, customer, categories=["books"]).reasons == [
        R.OUT_OF_SCOPE_CATEGORY
    ]
    assert _check(world, coupon.code, customer, categories=["books", "phones"]).valid


def test_below_threshold(world, setup):
    _batch, customer, coupon = setup
    assert _check(world, coupon.code, customer, "99.99").reasons == [R.BELOW_THRESHOLD]
    assert _check(world, coupon.code, customer, "100.00").valid


def test_not_stackable(world, setup):
    batch, customer, coupon = setup
    second = _issue(world, active_batch(world, batch.campaign), customer)
    _redeem(world, coupon.code, customer, order="O9")
    assert _check(world, second.code, customer, order="O9").reasons == [R.NOT_STACKABLE]
    assert _check(world, second.code, customer, order="O10").valid


def test_reasons_come_in_the_documented_order(world, setup):
    batch, _, coupon = setup
    batch.scope_merchants.set([world.merchant])
    Coupon.objects.for_tenant(world.tenant).filter(pk=coupon.pk).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )
    services.batch_pause(tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch)
    other = MerchantFactory(tenant=world.tenant, region=world.region)
    check = _check(world, coupon.code, _customer(world, "C2"), "50.00", merchant=other)
    assert check.reasons == [
        R.NOT_YOURS,
        R.BATCH_PAUSED,
        R.EXPIRED,
        R.OUT_OF_SCOPE_MERCHANT,
        R.BELOW_THRESHOLD,
    ]
    assert check.reason == R.NOT_YOURS and check.discount == D("0")


def test_every_reason_is_in_the_order_of_spec():
    assert [r.value for r in R] == [
        "not_found", "voided", "not_yours", "batch_paused", "not_started", "expired",
        "already_redeemed", "out_of_scope_merchant", "out_of_scope_region",
        "out_of_scope_category", "below_threshold", "not_stackable", "fraud_limit", "blocked",
    ]  # fmt: skip


def test_fraud_and_block_reasons_from_the_rules():
    from coupons.models import CouponBatch as B
    from coupons.rules import BatchScope, OrderFacts, coupon_check

    batch = B(kind="cash", value=D("5"), status="active")
    coupon = Coupon(customer_id=1, status="issued")
    scope = BatchScope(frozenset(), frozenset(), frozenset())
    facts = OrderFacts(customer_id=1, amount=D("10"))
    now = timezone.now()
    check = coupon_check(
        coupon=coupon, batch=batch, scope=scope, facts=facts, now=now,
        fraud_limit="customer_daily", blocked=True,
    )  # fmt: skip
    assert check.reasons == [R.FRAUD_LIMIT, R.BLOCKED]
    assert check.fraud_limit == "customer_daily"


# --- redeem, rollback, money ----------------------------------------------------------------------


def test_redeem_spends_the_discount_and_releases_the_rest(world):
    batch = active_batch(
        world, kind="percent_off", value=D("10"), max_discount=D("30"), threshold=None
    )
    reserved0, _spent0 = _figures(batch)
    customer = _customer(world)
    coupon = _issue(world, batch, customer)
    redemption = _redeem(world, coupon.code, customer, amount="120.00", merchant=world.merchant)
    assert redemption.discount == D("12.00") and redemption.merchant == world.merchant
    assert redemption.order_amount == D("120.00") and redemption.order_ref == "O1"
    reserved, spent = _figures(batch)
    assert spent == D("12.00") and reserved == reserved0 - D("30.00")
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED
    assert CouponBatch.objects.for_tenant(world.tenant).get(pk=batch.pk).redeemed == 1


def test_redeem_is_idempotent_per_order_and_code(world, setup):
    _batch, customer, coupon = setup
    first = _redeem(world, coupon.code, customer, order="O1")
    assert _redeem(world, coupon.code, customer, order="O1").pk == first.pk
    with pytest.raises(DomainError) as exc:
        _redeem(world, coupon.code, customer, order="O2")
    assert exc.value.code == R.ALREADY_REDEEMED and exc.value.status == 422


def test_rollback_and_redeem_cycles_keep_the_budget_exact(world, setup):
    batch, customer, coupon = setup
    before = _figures(batch)
    for i in range(3):
        _redeem(world, coupon.code, customer, order=f"O{i}")
        assert _figures(batch) == (before[0] - D("20.00"), before[1] + D("20.00"))
        back = services.coupon_rollback(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), code=coupon.code
        )
        assert back.status == CouponStatus.ISSUED
        assert _figures(batch) == before
    assert CouponRedemption.objects.for_tenant(world.tenant).count() == 3
    assert CouponBatch.objects.for_tenant(world.tenant).get(pk=batch.pk).redeemed == 0
    call_command("check_budgets")


def test_a_coupon_rolled_back_and_redeemed_on_the_same_order_again_is_a_new_redemption(
    world, setup
):
    _batch, customer, coupon = setup
    first = _redeem(world, coupon.code, customer, order="O1")
    services.coupon_rollback(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), code=coupon.code
    )
    second = _redeem(world, coupon.code, customer, order="O1")
    assert second.pk != first.pk and second.rolled_back_at is None
    assert _redeem(world, coupon.code, customer, order="O1").pk == second.pk  # a retry
    audited = AuditEntry.objects.for_tenant(world.tenant).filter(
        action="coupon.redeem", object_id=str(coupon.pk)
    )
    assert [a.after["order"] for a in audited] == ["O1", "O1"]


def test_rollback_of_an_expired_coupon_expires_it_and_frees_the_money(world, setup):
    batch, customer, coupon = setup
    reserved0, spent0 = _figures(batch)
    _redeem(world, coupon.code, customer)
    Coupon.objects.for_tenant(world.tenant).filter(pk=coupon.pk).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )
    back = services.coupon_rollback(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), code=coupon.code
    )
    assert back.status == CouponStatus.EXPIRED
    assert _figures(batch) == (reserved0 - D("20.00"), spent0)
    call_command("check_budgets")


def test_rollback_of_a_coupon_not_redeemed_is_refused(world, setup):
    coupon = setup[2]
    with pytest.raises(ConflictError):
        services.coupon_rollback(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), code=coupon.code
        )


def test_shared_code_redeem_and_rollback_by_order(world):
    batch = active_batch(world, code_mode="shared", shared_code="WELCOME", per_customer_limit=2)
    customer = _customer(world)
    _issue(world, batch, customer)
    _issue(world, batch, customer)
    first = _redeem(world, "WELCOME", customer, order="A")
    second = _redeem(world, "WELCOME", customer, order="B")
    assert first.coupon_id != second.coupon_id
    assert _redeem(world, "WELCOME", customer, order="A").pk == first.pk
    with pytest.raises(DomainError) as exc:
        services.coupon_rollback(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), code="WELCOME"
        )
    assert exc.value.fields == {"order": ["Required."]}
    back = services.coupon_rollback(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), code="WELCOME", order="B"
    )
    assert back.pk == second.coupon_id and back.status == CouponStatus.ISSUED


# --- API ----------------------------------------------------------------------------------------


def test_validate_over_the_api(world, setup):
    _batch, customer, coupon = setup
    client = world.key_client(scopes=["coupons"])
    response = client.post(
        "/api/v1/coupons/validate",
        {"code": coupon.code, "customer": customer.code, "amount": "150.00"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "valid": True,
        "discount": "20.00",
        "reason": None,
        "reasons": [],
        "fraud_limit": None,
    }
    response = client.post(
        "/api/v1/coupons/validate",
        {"code": coupon.code, "customer": customer.code, "amount": "50.00"},
        format="json",
    )
    assert response.json()["reason"] == "below_threshold"


def test_redeem_refusal_and_rollback_over_the_api(world, setup):
    _batch, customer, coupon = setup
    client = world.key_client(scopes=["coupons"])
    body = {"code": coupon.code, "customer": customer.code, "amount": "50.00", "order": "X1"}
    response = client.post("/api/v1/coupons/redeem", body, format="json")
    assert response.status_code == 422 and response.json()["code"] == "below_threshold"
    body["amount"] = "150.00"
    response = client.post(
        "/api/v1/coupons/redeem", {**body, "merchant": world.merchant.code}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["discount"] == "20.00" and response.json()["order"] == "X1"
    listed = client.get(f"/api/v1/customers/{customer.code}/coupons?status=redeemed").json()
    assert [c["code"] for c in listed["results"]] == [coupon.code]
    response = client.post(f"/api/v1/coupons/{coupon.code}/rollback", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "issued"
    assert (
        client.get(f"/api/v1/customers/{customer.code}/coupons?status=redeemed").json()["count"]
        == 0
    )


def test_closing_the_order_rolls_its_coupons_back(world, setup):
    batch, customer, coupon = setup
    before = _figures(batch)
    client = world.key_client()
    order = {
        "external_id": "ORD-1",
        "merchant": world.merchant.code,
        "staff": world.staff.code,
        "region": world.region.code,
        "amount": "150.00",
        "placed_at": timezone.now().isoformat(),
        "customer": customer.code,
    }
    assert client.post("/api/v1/orders", order, format="json").status_code in (200, 201)
    _redeem(world, coupon.code, customer, order="ORD-1")
    response = client.post("/api/v1/orders/ORD-1/close", {}, format="json")
    assert response.status_code == 200, response.content
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.ISSUED
    assert _figures(batch) == before


# --- expiry -------------------------------------------------------------------------------------


def test_expiry_expires_due_coupons_and_releases_per_batch(world):
    batch = active_batch(world, quantity=10)
    people = [_customer(world, f"E{i}") for i in range(5)]
    coupons = [_issue(world, batch, p) for p in people]
    reserved0, spent0 = _figures(batch)
    past = timezone.now() - timedelta(seconds=1)
    due = [c.pk for c in coupons[:3]]
    Coupon.objects.for_tenant(world.tenant).filter(pk__in=due).update(valid_until=past)
    assert services.coupons_expire_due(chunk=2) == 3
    assert services.coupons_expire_due(chunk=2) == 0  # a second run finds nothing
    statuses = dict(Coupon.objects.for_tenant(world.tenant).values_list("pk", "status"))
    assert [statuses[c.pk] for c in coupons] == ["expired"] * 3 + ["issued"] * 2
    assert _figures(batch) == (reserved0 - D("60.00"), spent0)
    call_command("check_budgets")


def test_expiry_task_is_registered_with_the_beat(settings):
    from coupons import tasks

    names = [entry["task"] for entry in settings.PERIODIC_TASKS.values()]
    assert "coupons.tasks.coupons_expire_due" in names
    assert tasks.coupons_expire_due.name == "coupons.tasks.coupons_expire_due"


def test_redemption_list_filters_by_merchant(world, setup):
    from coupons import selectors

    _batch, customer, coupon = setup
    _redeem(world, coupon.code, customer, order="R1", merchant=world.merchant)
    rows = selectors.redemption_list(
        tenant=world.tenant,
        actor=world.actor(Role.FINANCE),
        filters={"merchant": world.merchant.code},
    )
    assert [r.order_ref for r in rows] == ["R1"]
