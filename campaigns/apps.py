from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self):
        from . import services  # noqa: F401  registers the tenant setup step (default channels)

    @property
    def console_nav(self):
        from accounts.roles import Action
        from web.context_processors import NavItem

        return [
            NavItem(_("Campaigns"), "campaigns:list", Action.CAMPAIGNS_READ, "operations"),
            NavItem(_("Channels"), "campaigns:channels", Action.CAMPAIGNS_READ, "master_data"),
        ]

    @property
    def console_dashboard(self):
        from accounts.roles import Action
        from web.dashboard import DashboardPanel

        from .dashboard import running_campaigns

        return [
            DashboardPanel(
                "campaigns/_dashboard.html", running_campaigns, Action.CAMPAIGNS_READ, order=10
            )
        ]
