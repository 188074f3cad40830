"""Programs, running campaigns and rules for tests, built through the services."""

from datetime import UTC, datetime
from decimal import Decimal

from accounts.roles import Role
from budgets.tests.factories import approved_budget
from campaigns.models import Campaign, CampaignStatus
from orders.services import OrderFacts, order_place
from points import services

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
DEC_1 = datetime(2026, 12, 1, tzinfo=UTC)


def program(world, **kwargs):
    fields = {"name": "Staff task points", "holder": "staff", "point_value": Decimal("0.01")}
    fields.update(kwargs)
    return services.program_create(tenant=world.tenant, actor=world.actor(Role.OPERATOR), **fields)


def running_campaign(world, *, amount="1000.00", starts_at=NOV_1, ends_at=DEC_1) -> Campaign:
    """A campaign already running under an approved points budget.

    Made directly: the campaign's own life cycle is tested in campaigns/; here only its status
    and period matter to the rules.
    """
    budget = approved_budget(world, amount=amount, purpose="points")
    campaign = Campaign.objects.create(
        tenant=world.tenant,
        name="Double Eleven",
        business_unit=budget.business_unit,
        budget=budget,
        starts_at=starts_at,
        ends_at=ends_at,
        status=CampaignStatus.RUNNING,
    )
    campaign.regions.set([world.region, world.other_region])
    return campaign


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
