"""Platform maintenance tasks (periodic: settings.PERIODIC_TASKS)."""

from celery import shared_task

from core import services


@shared_task(name="core.tasks.idempotency_keys_purge")
def idempotency_keys_purge() -> int:
    return services.idempotency_keys_purge()
