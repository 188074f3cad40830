"""Ending a campaign while its coupons are redeemed and claimed, with real threads on PostgreSQL:
no deadlock, and the budget agrees with what happened to every coupon."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.roles import Role
from budgets.models import Budget
from campaigns import services
from core.testing import run_at_once
from coupons import services as coupon_services
from coupons.models import BatchStatus, Coupon, CouponBatch, CouponRedemption, CouponStatus
from coupons.tests.factories import active_batch, customers, running_campaign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("concurrency")]
D = Decimal


# 5 ms: the end mostly waits for the coupons the others hold; 15 ms: it mostly goes first.
@pytest.mark.parametrize("step", [0.005, 0.015])
def test_end_racing_redemptions_and_claims(world, step):
    assert connection.vendor == "postgresql"
    actor = world.actor(Role.OPERATOR)
    campaign = running_campaign(world)
    closing = active_batch(world, campaign, name="Closing", quantity=40, claimable=True)
    lasting = active_batch(
        world, campaign, name="Lasting", quantity=10, valid_days=30, extend_past_campaign=True
    )
    people = customers(world, 30)
    issue = coupon_services.coupon_issue
    closed = [
        issue(tenant=world.tenant, actor=actor, batch=closing, customer=c) for c in people[:10]
    ]
    kept = [issue(tenant=world.tenant, actor=actor, batch=lasting, customer=c) for c in people[:5]]

    def redeem(coupon, order):
        def job():
            coupon_services.coupon_redeem(
                tenant=world.tenant,
                actor=actor,
                code=coupon.code,
                customer=coupon.customer,
                order=order,
                amount=D("150.00"),
            )
            return "redeemed"

        return job

    def claim(customer):
        def job():
            coupon_services.coupon_claim(
                tenant=world.tenant, actor=actor, batch=closing, customer=customer
            )
            return "claimed"

        return job

    def end():
        services.campaign_end(tenant=world.tenant, actor=actor, campaign=campaign)
        return "ended"

    jobs = [redeem(c, f"O-{i}") for i, c in enumerate(closed + kept)]
    jobs += [claim(c) for c in people[10:25]]
    jobs.insert(0, end)  # no delay: the others fall before, during and after it
    results = run_at_once(jobs, delays=[(i % 16) * step for i in range(len(jobs))])

    assert results.count("ended") == 1
    closing.refresh_from_db()
    lasting.refresh_from_db()
    assert closing.status == lasting.status == BatchStatus.ENDED
    coupons = Coupon.objects.for_tenant(world.tenant)
    # Nothing of the closing batch is left holding money or usable.
    assert not coupons.filter(batch=closing, status=CouponStatus.ISSUED).exists()
    still_issued = coupons.filter(batch=lasting, status=CouponStatus.ISSUED).count()
    redeemed = CouponRedemption.objects.for_tenant(world.tenant).count()
    assert redeemed == results.count("redeemed")
    budget = Budget.objects.for_tenant(world.tenant).get(pk=campaign.budget_id)
    assert budget.reserved == D("20.00") * still_issued
    assert budget.spent == D("20.00") * redeemed
    assert CouponBatch.objects.for_tenant(world.tenant).get(pk=closing.pk).issued == 10 + (
        results.count("claimed")
    )
    call_command("check_budgets")
