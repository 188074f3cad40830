"""A real Celery worker, started by the test session on Redis, runs the maintenance task."""

import io
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from openpyxl import load_workbook

from accounts.roles import Role
from config.celery import app as celery_app
from core import tasks
from core.models import IdempotencyKey
from reports import services as report_services
from reports.models import ExportStatus

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("concurrency"),
]


def _key(tenant, key: str, *, age: timedelta) -> IdempotencyKey:
    row = IdempotencyKey.objects.create(
        tenant=tenant, principal="user:1", key=key, request_hash="x" * 64
    )
    # created_at is auto_now_add: age the row with an UPDATE, as time would.
    IdempotencyKey.objects.for_tenant(tenant).filter(pk=row.pk).update(
        created_at=timezone.now() - age
    )
    return row


def test_worker_purges_old_idempotency_keys(celery_worker, world):
    old = _key(world.tenant, "old", age=timedelta(hours=25))
    fresh = _key(world.tenant, "fresh", age=timedelta(hours=1))

    deleted = tasks.idempotency_keys_purge.delay().get(timeout=60)

    assert deleted == 1
    keys = IdempotencyKey.objects.for_tenant(world.tenant)
    assert not keys.filter(pk=old.pk).exists()
    assert keys.filter(pk=fresh.pk).exists()
    assert celery_worker.alive()


def test_worker_writes_a_report_export(celery_worker, world):
    job = report_services.export_request(
        tenant=world.tenant, actor=world.actor(Role.FINANCE), report="reconciliation",
        params={}, fmt="xlsx",
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while (
        job.status not in (ExportStatus.DONE, ExportStatus.FAILED) and time.monotonic() < deadline
    ):
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == ExportStatus.DONE, job.error
    with job.file.open("rb") as written:
        header, total = list(load_workbook(io.BytesIO(written.read())).active.values)
    assert (header[0], total[0]) == ("Merchant code", "Total")
    job.file.delete(save=False)
    assert celery_worker.alive()


def test_periodic_tasks_name_registered_tasks():
    celery_app.loader.import_default_modules()
    assert "idempotency-keys-purge" in settings.PERIODIC_TASKS
    for name, entry in settings.PERIODIC_TASKS.items():
        assert entry["task"] in celery_app.tasks, name
        assert entry["seconds"] > 0, name
