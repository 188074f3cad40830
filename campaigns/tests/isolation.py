"""Where the tenant-isolation test finds the other tenant's identifiers for campaigns' routes."""

from budgets.tests.factories import approved_budget
from campaigns.models import Campaign, Channel
from campaigns.tests.factories import new_campaign
from core.testing import route_param


def _campaign(world):
    budget = approved_budget(world, name=f"{world.tenant.slug} campaign budget")
    return new_campaign(world, budget=budget, name=f"{world.tenant.slug} campaign")


def _channel(world):
    # every tenant starts with the same default codes; this one is the tenant's own
    return Channel.objects.create(
        tenant=world.tenant, code=f"{world.tenant.slug}-kiosk", name=f"{world.tenant.slug} kiosk"
    )


route_param("campaigns/<int:id>", "id", Campaign, make=_campaign)
route_param("channels/<str:code>", "code", Channel, field="code", make=_channel)
