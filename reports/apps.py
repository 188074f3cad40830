from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"

    @property
    def console_nav(self):
        from accounts.roles import Action
        from web.context_processors import NavItem

        return [
            NavItem(
                _("Campaign effect"), "reports:campaign_effect", Action.REPORTS_READ, "reports"
            ),
            NavItem(_("Points report"), "reports:points", Action.REPORTS_READ, "reports"),
            NavItem(_("Reconciliation"), "reports:reconciliation", Action.REPORTS_READ, "reports"),
            NavItem(
                _("Settlements"), "reports:settlement_list", Action.SETTLEMENTS_MANAGE, "reports"
            ),
        ]

    @property
    def console_dashboard(self):
        from accounts.roles import Action
        from web.dashboard import DashboardPanel

        from . import dashboard

        return [
            DashboardPanel(
                "reports/_dashboard_today.html", dashboard.today, Action.REPORTS_READ, 20
            ),
            DashboardPanel(
                "reports/_dashboard_finance.html", dashboard.finance, Action.SETTLEMENTS_MANAGE, 5
            ),
        ]
