"""Periodic points work (settings.PERIODIC_TASKS): thin wrappers over the services."""

from celery import shared_task

from . import services


@shared_task(name="points.tasks.points_expire_due")
def points_expire_due() -> int:
    """Expire the lots that are due, every tenant, in chunks of accounts (SPEC §3.4)."""
    return services.points_expire_due()


@shared_task(name="points.tasks.points_activate_due")
def points_activate_due() -> int:
    """Pending points of `days` programs become usable when their period has passed."""
    return services.points_activate_due()
