"""Redeem and expiry with real threads on PostgreSQL: a coupon is used once, whatever races."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from budgets.models import Budget
from core.testing import run_at_once
from coupons import services
from coupons.models import Coupon, CouponRedemption, CouponStatus
from coupons.tests.factories import active_batch, running_campaign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("concurrency")]
THREADS = 20


def _race(work, args: list) -> list[str]:
    """work(arg) for every arg at once: what each returned, as text, or its refusal's code."""
    return [str(outcome) for outcome in run_at_once([partial(work, a) for a in args])]


def _setup(world):
    assert connection.vendor == "postgresql"
    batch = active_batch(world, quantity=10)
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="RACE")
    coupon = services.coupon_issue(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, customer=customer
    )
    return batch, customer, coupon


def _redeemer(world, coupon, customer):
    actor = world.actor(Role.OPERATOR)

    def redeem(order):
        redemption = services.coupon_redeem(
            tenant=world.tenant,
            actor=actor,
            code=coupon.code,
            customer=customer,
            order=order,
            amount=Decimal("150.00"),
        )
        return f"ok:{redemption.pk}"

    return redeem


def test_one_coupon_from_twenty_threads_with_twenty_orders(world):
    batch, customer, coupon = _setup(world)
    budget0 = Budget.objects.for_tenant(world.tenant).get(pk=batch.campaign.budget_id)
    results = _race(_redeemer(world, coupon, customer), [f"O{i}" for i in range(THREADS)])
    counts = Counter(r.split(":")[0] for r in results)
    assert counts == {"ok": 1, "already_redeemed": THREADS - 1}
    assert CouponRedemption.objects.for_tenant(world.tenant).count() == 1
    budget = Budget.objects.for_tenant(world.tenant).get(pk=batch.campaign.budget_id)
    assert budget.spent == budget0.spent + Decimal("20.00")
    assert budget.reserved == budget0.reserved - Decimal("20.00")
    call_command("check_budgets")


def test_the_same_order_replayed_twenty_times_at_once(world):
    _batch, customer, coupon = _setup(world)
    results = _race(_redeemer(world, coupon, customer), ["SAME"] * THREADS)
    assert len(set(results)) == 1 and results[0].startswith("ok:")
    assert CouponRedemption.objects.for_tenant(world.tenant).count() == 1
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.REDEEMED
    call_command("check_budgets")


def test_redeem_and_rollback_racing_keep_the_budget_exact(world):
    _batch, customer, coupon = _setup(world)
    redeem = _redeemer(world, coupon, customer)
    actor = world.actor(Role.OPERATOR)

    def step(i):
        if i % 2:
            return redeem(f"O{i}")
        return services.coupon_rollback(tenant=world.tenant, actor=actor, code=coupon.code)

    for _round in range(3):
        _race(step, list(range(10)))
    coupon.refresh_from_db()
    live = CouponRedemption.objects.for_tenant(world.tenant).filter(rolled_back_at__isnull=True)
    assert live.count() == (1 if coupon.status == CouponStatus.REDEEMED else 0)
    call_command("check_budgets")


def test_two_expiry_runs_at_once_expire_each_coupon_once(world):
    batch = active_batch(world, quantity=50)
    budget0 = Budget.objects.for_tenant(world.tenant).get(pk=batch.campaign.budget_id)
    actor = world.actor(Role.OPERATOR)
    for i in range(40):
        customer = CustomerFactory(tenant=world.tenant, region=world.region, code=f"X{i}")
        services.coupon_issue(tenant=world.tenant, actor=actor, batch=batch, customer=customer)
    Coupon.objects.for_tenant(world.tenant).update(valid_until=timezone.now() - timedelta(1))
    results = _race(lambda _i: services.coupons_expire_due(chunk=7), [0, 1, 2, 3])
    assert sum(int(r) for r in results) == 40
    assert set(Coupon.objects.for_tenant(world.tenant).values_list("status", flat=True)) == {
        CouponStatus.EXPIRED
    }
    budget = Budget.objects.for_tenant(world.tenant).get(pk=batch.campaign.budget_id)
    assert budget.reserved == budget0.reserved - Decimal("800.00")
    call_command("check_budgets")


def test_one_event_sent_ten_times_at_once_issues_once(world):
    batch = active_batch(world, quantity=10, per_customer_limit=5)
    actor = world.actor(Role.OPERATOR)
    services.issuance_rule_create(tenant=world.tenant, actor=actor, batch=batch, event="share")
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="EV")

    def send(_i):
        _event, created = services.event_receive(
            tenant=world.tenant, actor=actor, event_id="same", type="share", customer=customer
        )
        return created

    results = _race(send, list(range(10)))
    assert sorted(results) == ["False"] * 9 + ["True"]
    assert Coupon.objects.for_tenant(world.tenant).filter(customer=customer).count() == 1


def test_the_campaign_limit_holds_when_one_customer_redeems_ten_coupons_at_once(world):
    """Ten coupons of two batches of one campaign limited to 3 per customer, redeemed at once:
    exactly 3 pass (the customer's row serialises them), the rest are fraud_limit."""
    campaign = running_campaign(world)
    actor = world.actor(Role.OPERATOR)
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="LIMIT")
    coupons = []
    for i in range(2):
        batch = active_batch(world, campaign, quantity=10, per_customer_limit=5, name=f"L{i}")
        coupons += [
            services.coupon_issue(tenant=world.tenant, actor=actor, batch=batch, customer=customer)
            for _ in range(5)
        ]
    services.fraud_settings_update(
        tenant=world.tenant,
        actor=world.actor(Role.TENANT_ADMIN),
        customer_daily=100,
        fingerprint_customers=3,
        campaign_limits={campaign: 3},
    )

    def redeem(coupon):
        redemption = services.coupon_redeem(
            tenant=world.tenant,
            actor=actor,
            code=coupon.code,
            customer=customer,
            order=f"L-{coupon.pk}",
            amount=Decimal("150.00"),
        )
        return f"ok:{redemption.pk}"

    results = _race(redeem, coupons)
    counts = Counter(r.split(":")[0] for r in results)
    assert counts == {"ok": 3, "fraud_limit": 7}, results
    assert CouponRedemption.objects.for_tenant(world.tenant).count() == 3
    call_command("check_budgets")


def _fraud_limits(world, *, customer_daily=100, fingerprint_customers=100):
    services.fraud_settings_update(
        tenant=world.tenant,
        actor=world.actor(Role.TENANT_ADMIN),
        customer_daily=customer_daily,
        fingerprint_customers=fingerprint_customers,
        campaign_limits={},
    )


def _redeem_each(world, pairs, **facts):
    """Each (coupon, customer) redeemed on an order of its own, all at once."""
    actor = world.actor(Role.OPERATOR)

    def redeem(pair):
        coupon, customer = pair
        redemption = services.coupon_redeem(
            tenant=world.tenant,
            actor=actor,
            code=coupon.code,
            customer=customer,
            order=f"F-{coupon.pk}",
            amount=Decimal("150.00"),
            **facts,
        )
        return f"ok:{redemption.pk}"

    return Counter(r.split(":")[0] for r in _race(redeem, pairs))


def test_the_daily_limit_holds_when_one_customer_redeems_eight_coupons_at_once(world):
    actor = world.actor(Role.OPERATOR)
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="DAILY")
    batch = active_batch(world, quantity=10, per_customer_limit=8)
    coupons = [
        services.coupon_issue(tenant=world.tenant, actor=actor, batch=batch, customer=customer)
        for _ in range(8)
    ]
    _fraud_limits(world, customer_daily=2)
    counts = _redeem_each(world, [(coupon, customer) for coupon in coupons])
    assert counts == {"ok": 2, "fraud_limit": 6}
    call_command("check_budgets")


def test_the_device_limit_holds_when_eight_customers_redeem_on_one_device_at_once(world):
    """A device may serve 2 customers a day: of 8 customers redeeming on it at once, exactly 2
    pass."""
    actor = world.actor(Role.OPERATOR)
    batch = active_batch(world, quantity=10)
    pairs = []
    for i in range(8):
        customer = CustomerFactory(tenant=world.tenant, region=world.region, code=f"DEV{i}")
        coupon = services.coupon_issue(
            tenant=world.tenant, actor=actor, batch=batch, customer=customer
        )
        pairs.append((coupon, customer))
    _fraud_limits(world, fingerprint_customers=2)
    counts = _redeem_each(world, pairs, device_fingerprint="device-1")
    assert counts == {"ok": 2, "fraud_limit": 6}


def test_the_device_limit_holds_for_eight_registrations_on_one_device_at_once(world):
    batch = active_batch(world, quantity=20)
    actor = world.actor(Role.OPERATOR)
    services.issuance_rule_create(
        tenant=world.tenant, actor=actor, batch=batch, event="registration"
    )
    customers = [
        CustomerFactory(tenant=world.tenant, region=world.region, code=f"REG{i}") for i in range(8)
    ]
    _fraud_limits(world, fingerprint_customers=2)

    def register(customer):
        event, _created = services.event_receive(
            tenant=world.tenant,
            actor=actor,
            event_id=f"reg-{customer.code}",
            type="registration",
            customer=customer,
            device_fingerprint="device-2",
        )
        return event.issues.get().outcome

    assert Counter(_race(register, customers)) == {"issued": 2, "fraud_limit": 6}
