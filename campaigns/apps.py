from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"

    @property
    def console_nav(self):
        from accounts.context_processors import NavItem
        from accounts.roles import Action

        return [
            NavItem(_("Campaigns"), "campaigns:list", Action.CAMPAIGNS_READ, "operations"),
            NavItem(_("Channels"), "campaigns:channels", Action.CAMPAIGNS_READ, "master_data"),
        ]
