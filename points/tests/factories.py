"""Programs, running campaigns and rules for tests, built through the services."""

from datetime import UTC, datetime
from decimal import Decimal

from accounts.roles import Role
from campaigns.models import Campaign
from campaigns.tests import factories as campaigns
from orders.services import OrderFacts, order_place
from points import services

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)


def program(world, **kwargs):
    fields = {"name": "Staff task points", "holder": "staff", "point_value": Decimal("0.01")}
    fields.update(kwargs)
    return services.program_create(tenant=world.tenant, actor=world.actor(Role.OPERATOR), **fields)


def running_campaign(world, *, amount="1000.00", starts_at=NOV_1, ends_at=DEC_1) -> Campaign:
    """November's campaign under a points budget, in both regions (the orders are placed then)."""
    return campaigns.running_campaign(
        world, amount=amount, purpose="points", starts_at=starts_at, ends_at=ends_at,
        regions=[world.region, world.other_region],
    )  # fmt: skip


def rule(world, campaign, prog, regions=(), **kwargs):
    return services.rule_create(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        campaign=campaign,
        program=prog,
        regions=list(regions),
        **kwargs,
    )


_counter = iter(range(1, 10**9))


def place(world, *, amount="100.00", staff=None, region=None, placed_at=None, external_id=None):
    staff = staff or world.staff
    order, _created = order_place(
        tenant=world.tenant,
        actor=world.system,
        facts=OrderFacts(
            external_id=external_id or f"O-{next(_counter)}",
            merchant=staff.merchant,
            staff=staff,
            region=region or world.region,
            amount=Decimal(amount),
            placed_at=placed_at or datetime(2026, 11, 11, 2, 0, tzinfo=UTC),
        ),
    )
    return order
