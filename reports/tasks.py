from celery import shared_task

from . import services


@shared_task(name="reports.tasks.export_run")
def export_run(tenant_id: int, job_id: int) -> str:
    """A report download too big for one request, written to a file (SPEC §5)."""
    return services.export_run(tenant_id=tenant_id, job_id=job_id)
