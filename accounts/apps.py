from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Receivers: the audit of a login lock (axes' signal); a password change revokes tokens.
        from . import lockout, signals  # noqa: F401
