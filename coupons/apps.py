from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouponsConfig(AppConfig):
    name = "coupons"

    @property
    def console_nav(self):
        from accounts.roles import Action
        from web.context_processors import NavItem

        return [
            NavItem(_("Coupon batches"), "coupons:list", Action.CAMPAIGNS_READ, "operations"),
            NavItem(_("Issuance jobs"), "coupons:jobs", Action.CAMPAIGNS_READ, "operations"),
            NavItem(_("Customer segments"), "coupons:segments", Action.COUPONS_ISSUE, "operations"),
            NavItem(
                _("Coupon lookup"), "coupons:lookup", Action.COUPONS_SUPPORT_READ, "operations"
            ),
            NavItem(
                _("Redemptions"), "coupons:redemptions", Action.COUPONS_SUPPORT_READ, "operations"
            ),
            NavItem(_("Issuance rules"), "coupons:rules", Action.CAMPAIGNS_READ, "operations"),
            NavItem(_("Blocklist"), "coupons:blocklist", Action.COUPONS_SUPPORT_READ, "operations"),
        ]

    @property
    def console_dashboard(self):
        from accounts.roles import Action
        from web.dashboard import DashboardPanel

        from .dashboard import recent_jobs

        return [
            DashboardPanel("coupons/_dashboard_jobs.html", recent_jobs, Action.COUPONS_ISSUE, 30)
        ]
