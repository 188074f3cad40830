from celery import shared_task

from . import services, simulation


@shared_task(name="campaigns.tasks.campaigns_advance")
def campaigns_advance() -> dict[str, int]:
    """Beat, every minute: campaigns start and end on time (SPEC §2.2)."""
    return services.campaigns_advance()


@shared_task(name="campaigns.tasks.campaign_simulate")
def campaign_simulate(tenant_id: int, simulation_id: int) -> str:
    """A campaign's simulation over a window too big to answer inline (SPEC §6)."""
    return simulation.simulation_run_job(tenant_id=tenant_id, simulation_id=simulation_id)


@shared_task(name="campaigns.tasks.shadow_runs_refresh")
def shadow_runs_refresh() -> int:
    """Beat, every 5 minutes: scheduled campaigns replayed on live orders (shadow mode)."""
    return simulation.shadow_runs_refresh()
