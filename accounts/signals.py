"""Model signals of accounts: the one place a change anywhere (console, admin, shell) reacts."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import User


@receiver(post_save, sender=User, dispatch_uid="accounts.password_changed")
def password_changed(sender, instance: User, created: bool, **kwargs) -> None:
    # set_password() keeps the raw password in `_password` until the save after it; a login's
    # hash upgrade clears it first, so only a real change of password gets here.
    if created or instance._password is None:  # type: ignore[attr-defined]  # not in the stubs
        return
    from .services import user_password_changed  # services import the models

    user_password_changed(user=instance)
