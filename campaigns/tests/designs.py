"""Campaign designs for the console tests of the check panel (test_views, test_browser)."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.tests.factories import StaffFactory
from budgets.tests.factories import approved_budget
from orders.services import OrderFacts, order_place
from points.tests.factories import program, rule
from redemption.tests.factories import prize

from .factories import new_campaign


def failing_design(world, *, name="Spring push", top_prize="iPhone 17", program_name=None):
    """A draft whose top prize costs 10,000 points while one holder can earn at most 7,500
    (a first-N rule capped at 7,500 in total over two regions): `prize_unreachable`. The prize
    is made before the rule, on a draft, so no guard refuses it. Both prizes give 0.008 a point,
    the bottom of the program's range (0.008 to 0.012): lowering the top prize's price to 7,500
    or less stays inside it, and a point never buys less in the dearer prize."""
    budget = approved_budget(world, amount="1000.00", purpose="points")
    campaign = new_campaign(world, budget=budget, name=name, regions=[world.region])
    prog = program(world, **({"name": program_name} if program_name else {}))
    prize(world, prog, name="Phone top-up", points_cost=500, value=Decimal("4.00"))
    iphone = prize(world, prog, name=top_prize, points_cost=10_000, value=Decimal("80.00"))
    rule(
        world, campaign, prog, regions=[world.region, world.other_region],
        kind="region_first_n", tiers=[{"from": 1, "to": 1000, "points": 10}], cap_total=7500,
    )  # fmt: skip
    return campaign, prog, iphone


def local_midnight(world, day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=world.tenant.zone)


def past_orders(world, days_ago=(1, 2, 3), *, staff_count=4, regions=None):
    """Orders of the staff of a few past days (placed while nothing runs, so nothing earned),
    each at noon of the tenant's day; one order per staff member per day and region."""
    regions = regions or [world.region, world.other_region]
    staff = [world.staff] + [
        StaffFactory(tenant=world.tenant, merchant=world.merchant) for _ in range(staff_count - 1)
    ]
    today = timezone.localdate(timezone=world.tenant.zone)
    placed = 0
    for ago in days_ago:
        noon = local_midnight(world, today - timedelta(days=ago)) + timedelta(hours=12)
        for n, member in enumerate(staff):
            for region in regions[: 1 + n % len(regions)]:
                placed += 1
                order_place(
                    tenant=world.tenant, actor=world.system,
                    facts=OrderFacts(
                        external_id=f"PAST-{ago}-{member.pk}-{region.pk}", merchant=member.merchant,
                        staff=member, region=region, amount=Decimal("80.00"), placed_at=noon,
                    ),
                )  # fmt: skip
    return placed
