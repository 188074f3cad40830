from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"

    @property
    def console_nav(self):
        from accounts.roles import Action
        from web.context_processors import NavItem

        return [
            NavItem(_("Points report"), "reports:points", Action.REPORTS_READ, "reports"),
            NavItem(_("Reconciliation"), "reports:reconciliation", Action.REPORTS_READ, "reports"),
        ]
