"""The reports' shared history: orders, points and a redemption through the real services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory, MerchantFactory, StaffFactory
from campaigns.tests.factories import running_campaign
from coupons import services as coupons
from coupons.models import CouponRedemption
from coupons.tests.factories import active_batch, customers
from orders.services import order_close, order_complete
from points.tests.factories import place, program, rule
from redemption import services as redemption_services
from redemption.tests.factories import prize


@pytest.fixture
def history(world):
    """A month's worth in an afternoon: staff of two merchants in the north and one in the
    south order into both regions under a first-N rule and a per-order rule; some orders
    complete, some close (before and after completing), one staff member redeems a prize.
    A fourth merchant's staff place no order: they are not eligible."""
    prog = program(world, expiry_policy="days", expiry_days=40)
    campaign = running_campaign(world, purpose="points", regions=[world.region, world.other_region])
    regions = [world.region, world.other_region]
    rule(world, campaign, prog, regions=regions, kind="region_first_n",
         tiers=[{"from": 1, "to": 2, "points": 60}, {"from": 3, "to": 5, "points": 5}])  # fmt: skip
    rule(world, campaign, prog, kind="per_order", points=3)
    north2 = MerchantFactory(tenant=world.tenant, region=world.region)
    south = MerchantFactory(tenant=world.tenant, region=world.other_region)
    idle = MerchantFactory(tenant=world.tenant, region=world.other_region)
    staff = [
        world.staff,
        StaffFactory(tenant=world.tenant, merchant=world.merchant),
        StaffFactory(tenant=world.tenant, merchant=world.merchant),  # orders nothing
        StaffFactory(tenant=world.tenant, merchant=north2, name="=HYPERLINK(1)"),
        StaffFactory(tenant=world.tenant, merchant=south),
        StaffFactory(tenant=world.tenant, merchant=south),
    ]
    StaffFactory(tenant=world.tenant, merchant=idle)
    now = timezone.now()
    plan = [(0, 0), (0, 1), (1, 0), (3, 1), (4, 1), (5, 0), (4, 0), (0, 0), (5, 1), (3, 0)]
    orders = [
        place(world, staff=staff[who], region=regions[where], placed_at=now - timedelta(minutes=10))
        for who, where in plan
    ]
    system = world.system
    for n, order in enumerate(orders):
        if n % 3 != 2:
            order_complete(tenant=world.tenant, actor=system, order=order)
    order_close(tenant=world.tenant, actor=system, order=orders[2])  # pending: cancelled
    order_close(tenant=world.tenant, actor=system, order=orders[3])  # completed: reversed
    top_up = prize(world, prog, points_cost=50, value=Decimal("0.50"))
    redemption_services.prize_redeem(
        tenant=world.tenant, actor=system, staff=world.staff, prize=top_up
    )
    return prog, staff


@pytest.fixture
def redemptions(world):
    """Two batches; customers of both regions redeem at a northern and a southern merchant;
    two rollbacks now, one of them of a redemption of last month."""
    campaign = running_campaign(world, regions=[world.region, world.other_region])
    twenty = active_batch(world, campaign, name="Twenty off")
    ten = active_batch(world, campaign, name="Ten off", value=Decimal("10.00"))
    south = MerchantFactory(tenant=world.tenant, region=world.other_region, name="=cmd|x")
    north_people = customers(world, 5, prefix="N")
    south_people = [
        CustomerFactory(tenant=world.tenant, region=world.other_region, code=f"S{n}")
        for n in range(3)
    ]
    operator = world.actor(Role.OPERATOR)
    made = []
    plan = [(p, world.merchant, world.region) for p in north_people] + [
        (p, south, world.other_region) for p in south_people
    ]
    for n, (person, merchant, region) in enumerate(plan):
        batch = twenty if n % 2 else ten
        coupon = coupons.coupon_issue(tenant=world.tenant, actor=operator, batch=batch,
                                      customer=person)  # fmt: skip
        made.append(
            coupons.coupon_redeem(
                tenant=world.tenant, actor=world.system, code=coupon.code, customer=person,
                order=f"SO-{n}", amount=Decimal(150 + 10 * n), merchant=merchant, region=region,
            )
        )  # fmt: skip
    # one redeemed last month and rolled back now: a rollback of this month, not a redemption
    CouponRedemption.objects.for_tenant(world.tenant).filter(pk=made[0].pk).update(
        redeemed_at=timezone.now() - timedelta(days=40)
    )
    for late in (made[0], made[6]):
        coupons.coupon_rollback(
            tenant=world.tenant, actor=operator, code=late.coupon.code, order=late.order_ref
        )
    return south
