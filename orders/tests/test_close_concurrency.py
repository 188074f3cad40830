"""Closing an order races the coupon rollbacks and redemptions of its own coupons.

One campaign budget pays both the order's points and its coupon, so the close (points reversed:
budget rows) and a support rollback of the coupon (coupon row, batch, budget) lock the same rows;
they must take them in the same order or PostgreSQL aborts one as a deadlock."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from core.testing import run_at_once
from coupons import services as coupons
from coupons.tests.factories import active_batch, running_campaign
from orders import services as orders
from points.tests.factories import place, program, rule

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("concurrency")]


def test_closing_orders_while_support_rolls_back_their_coupons_never_deadlocks(world):
    operator = world.actor(Role.OPERATOR)
    campaign = running_campaign(world)
    rule(world, campaign, program(world), kind="per_order", points=10)
    batch = active_batch(world, campaign, quantity=20, per_customer_limit=20)
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="CLOSE")
    for round_no in range(10):
        order = place(world, placed_at=timezone.now(), external_id=f"CL-{round_no}")
        assert order.new_awards[0].points == 10
        coupon = coupons.coupon_issue(
            tenant=world.tenant, actor=operator, batch=batch, customer=customer
        )
        coupons.coupon_redeem(
            tenant=world.tenant,
            actor=operator,
            code=coupon.code,
            customer=customer,
            order=order.external_id,
            amount=Decimal("150.00"),
        )

        def close(order=order):
            orders.order_close(tenant=world.tenant, actor=world.system, order=order)
            return "ok"

        def rollback(coupon=coupon):
            coupons.coupon_rollback(tenant=world.tenant, actor=operator, code=coupon.code)
            return "ok"

        results = run_at_once([close, rollback])
        # Whoever comes second finds the coupon already back: 409, never a deadlock.
        assert sorted(results) in (["invalid_transition", "ok"], ["ok", "ok"]), results
    call_command("check_budgets")
    call_command("check_ledger")
