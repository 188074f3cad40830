from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    name = "points"

    def ready(self):
        from . import checks  # noqa: F401  (adds the campaign check's points checks)

    @property
    def console_nav(self):
        from accounts.roles import Action
        from web.context_processors import NavItem

        return [
            NavItem(_("Points programs"), "points:program_list", Action.POINTS_READ),
            NavItem(_("Points accounts"), "points:account_list", Action.POINTS_READ),
        ]
