from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Receivers: the audit of a login lock (axes' signal); a password change revokes tokens.
        from . import lockout, signals  # noqa: F401

    @property
    def console_dashboard(self):
        from accounts.roles import Action
        from web.dashboard import DashboardPanel

        from .dashboard import recent_changes

        return [
            DashboardPanel(
                "accounts/_dashboard_audit.html", recent_changes, Action.AUDIT_READ, order=40
            )
        ]
