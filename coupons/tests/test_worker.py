"""A real worker is SIGKILLed in the middle of a 200,000-coupon job; a new worker finishes it
with exactly 200,000 coupons, all codes distinct (SPEC §2.4, ARCHITECTURE §4)."""

import signal
import time
from datetime import timedelta

import pytest
from django.db import connection

from accounts.roles import Role
from coupons import services
from coupons.models import CouponBatch, IssuanceChunk, IssuanceJob, JobStatus
from coupons.tests.factories import active_batch, customers, running_campaign

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("concurrency"),
]
TOTAL = 200_000


def _wait(job_id, tenant, condition, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = IssuanceJob.objects.for_tenant(tenant).get(pk=job_id)
        if condition(job):
            return job
        time.sleep(0.1)
    pytest.fail(f"Job {job_id} never reached the condition: {job.status} {job.done}/{job.total}")


def test_killed_worker_mid_job_leaves_no_gap_and_no_duplicate(world, own_worker):
    campaign = running_campaign(world, amount="1000000.00")
    batch = active_batch(world, campaign, kind="cash", value=1, threshold=None, quantity=TOTAL)
    first = own_worker.start(COUPONS_PAUSE_AFTER_CHUNK="0.5")
    job = services.generation_job_create(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, count=TOTAL
    )
    assert job.chunk_count == 20

    job = _wait(job.pk, world.tenant, lambda j: j.done >= 3 * job.chunk_size)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.done < TOTAL  # the kill landed mid-job

    own_worker.start()
    assert services.issuance_jobs_resume(stale_after=timedelta(0)) == 1
    job = _wait(job.pk, world.tenant, lambda j: j.status in (JobStatus.DONE, JobStatus.FAILED))

    assert (job.status, job.done, job.failed) == (JobStatus.DONE, TOTAL, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT code) FROM coupons_coupon WHERE batch_id = %s",
            [batch.pk],
        )
        assert cursor.fetchone() == (TOTAL, TOTAL)
    assert IssuanceChunk.objects.for_tenant(world.tenant).filter(job=job).count() == 20
    assert CouponBatch.objects.for_tenant(world.tenant).get(pk=batch.pk).issued == TOTAL


def test_worker_runs_an_upload_job(world, own_worker):
    own_worker.start()
    batch = active_batch(world, quantity=50)
    custs = customers(world, 10)
    upload = ("customer\n" + "\n".join(c.code for c in custs) + "\nNOBODY\n").encode()
    job = services.issuance_job_create(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        batch=batch,
        file_name="list.csv",
        file_content=upload,
    )
    job = _wait(job.pk, world.tenant, lambda j: j.status == JobStatus.DONE, timeout=60)
    assert (job.total, job.done, job.failed) == (11, 11, 1)
