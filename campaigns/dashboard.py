"""The campaigns' panel of the console's home page: what runs now and how its budget burns."""

from django.utils.translation import gettext as _

from . import selectors
from .models import CampaignStatus

SHOWN = 8


def running_campaigns(request) -> dict:
    actor = request.actor
    running = list(
        selectors.campaign_list(tenant=actor.tenant, actor=actor)
        .filter(status=CampaignStatus.RUNNING)
        .order_by("ends_at", "pk")[:SHOWN]
    )
    budgets = [c.budget for c in running]
    return {
        "running": running,
        "chart": {
            "labels": [c.name for c in running],
            "datasets": [
                {"label": _("Spent"), "values": [float(b.spent) for b in budgets]},
                {"label": _("Reserved"), "values": [float(b.reserved) for b in budgets]},
                {"label": _("Available"), "values": [float(b.available) for b in budgets]},
            ],
        },
    }
