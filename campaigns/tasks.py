from celery import shared_task

from . import services


@shared_task(name="campaigns.tasks.campaigns_advance")
def campaigns_advance() -> dict[str, int]:
    """Beat, every minute: campaigns start and end on time (SPEC §2.2)."""
    return services.campaigns_advance()
