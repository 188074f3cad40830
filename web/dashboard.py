"""The console's home page: each app adds panels for the roles that need them (SPEC §5: a
dashboard per role) without touching accounts' home view.

An app sets `console_dashboard = [DashboardPanel(...)]` on its AppConfig. A panel shows when
the actor may do its `action` and its `context(request)` gives something to show (None: the
panel stays away, e.g. a finance panel with nothing waiting is still shown, a jobs panel of a
tenant with no job yet is not)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.template.loader import render_to_string

from accounts.roles import Action


@dataclass(frozen=True)
class DashboardPanel:
    template: str
    context: Callable[..., dict | None]  # (request) -> the template's context, or None
    action: Action | None = None
    order: int = 50  # lower first


def dashboard_panels(request) -> list[str]:
    """The panels the actor sees, in order, each rendered with its context (and the page's
    context processors: the actor, the navigation)."""
    actor = request.actor
    panels: list[DashboardPanel] = []
    for config in apps.get_app_configs():
        panels.extend(getattr(config, "console_dashboard", []))
    shown: list[str] = []
    for panel in sorted(panels, key=lambda p: p.order):
        if panel.action is not None and not actor.can(panel.action):
            continue
        context = panel.context(request)
        if context is not None:
            shown.append(render_to_string(panel.template, context, request=request))
    return shown
