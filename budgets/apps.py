from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BudgetsConfig(AppConfig):
    name = "budgets"

    @property
    def console_nav(self):
        from accounts.roles import Action
        from web.context_processors import NavItem

        return [
            NavItem(_("Budgets"), "budgets:list", Action.BUDGETS_READ, "operations"),
            NavItem(_("Approval queue"), "budgets:queue", Action.BUDGETS_APPROVE, "operations"),
        ]
