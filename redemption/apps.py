from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RedemptionConfig(AppConfig):
    name = "redemption"

    def ready(self):
        from . import checks  # noqa: F401  (adds the campaign check's catalogue and lottery checks)

    @property
    def console_nav(self):
        from accounts.roles import Action
        from web.context_processors import NavItem

        return [
            NavItem(_("Prizes"), "redemption:prize_list", Action.CAMPAIGNS_READ),
            NavItem(_("Lotteries"), "redemption:lottery_list", Action.CAMPAIGNS_READ),
            NavItem(_("Fulfilment"), "redemption:fulfilment_list", Action.CAMPAIGNS_READ),
        ]
