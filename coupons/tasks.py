"""Celery tasks of coupons: load ids, call the service."""

from celery import shared_task

from accounts.models import Tenant

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def issuance_job_run(tenant_id: int, job_id: int) -> int:
    job = services.issuance_job_run(tenant=Tenant.objects.get(pk=tenant_id), job_id=job_id)
    return job.done


@shared_task
def issuance_jobs_resume() -> int:
    return services.issuance_jobs_resume()


@shared_task
def coupons_expire_due() -> int:
    return services.coupons_expire_due()
