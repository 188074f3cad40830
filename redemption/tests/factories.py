"""Prizes and points to spend, built through the services."""

from decimal import Decimal

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from coupons.tests.factories import active_batch
from points import services as points_services
from points.models import PointsProgram
from points.tests.factories import program
from redemption import services


def staff_program(world):
    """The tenant's staff points program, made on first use."""
    existing = PointsProgram.objects.for_tenant(world.tenant).filter(holder="staff").first()
    return existing or program(world)


def prize(world, prog=None, **fields):
    values = {
        "name": "Phone top-up",
        "kind": "virtual",
        "points_cost": 1000,
        "value": Decimal("10.00"),
        "stock": 10,
    }
    values.update(fields)
    return services.prize_create(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        program=prog or staff_program(world),
        **values,
    )


def give_points(world, prog, staff, points: int):
    """Usable points on the staff member's account, through a manual adjustment."""
    account = points_services.account_for_holder(tenant=world.tenant, program=prog, holder=staff)
    points_services.points_adjust(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        account=account,
        points=points,
        reason="test",
    )
    account.refresh_from_db()
    return account


def lottery(world, prog=None, *, cost_points=100, outcomes=None, activate=False):
    """A lottery whose draw returns 50 of its 100 points on average, unless told otherwise."""
    outcomes = outcomes or [
        {"kind": "points", "points": 100, "probability": Decimal("0.5")},
        {"kind": "nothing", "probability": Decimal("0.5")},
    ]
    made = services.lottery_create(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        program=prog or staff_program(world),
        name="Climax lottery",
        cost_points=cost_points,
        outcomes=outcomes,
    )
    if activate:
        made = services.lottery_activate(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), lottery=made
        )
    return made


def link_customer(world, merchant=None):
    """The merchant's own customer record, which receives its staff's coupon prizes."""
    merchant = merchant or world.merchant
    merchant.customer = CustomerFactory(
        tenant=world.tenant, region=world.region, code=f"MERCHANT-{merchant.code}"
    )
    merchant.save(update_fields=["customer"])
    return merchant.customer


def coupon_prize(world, prog=None, *, batch=None, **fields):
    """A prize that hands out a coupon of an active batch (20 CNY off, 100 in stock)."""
    batch = batch or active_batch(world, per_customer_limit=5)
    return prize(world, prog, name="20 CNY coupon", kind="coupon", coupon_batch=batch, **fields)


def physical_prize(world, prog=None, **fields):
    values = {
        "name": "Power bank",
        "kind": "physical",
        "points_cost": 500,
        "value": Decimal("5.00"),
    }
    return prize(world, prog, **(values | fields))


def ship_address() -> str:
    return "Room 1101, 88 Century Avenue, Pudong, Shanghai"
