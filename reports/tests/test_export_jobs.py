"""A download too big for one request: an export job writes it, its page shows the progress
and then the file, for the one who asked only."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from reports import services
from reports.models import ExportJob, ExportStatus

pytestmark = pytest.mark.django_db


def test_a_big_download_becomes_a_job_that_writes_the_same_rows(
    world, history, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.EXPORT_INLINE_ROWS = 2
    settings.MEDIA_ROOT = tmp_path
    client = world.console_client(Role.OPERATOR)
    url = reverse("reports:points_export", args=["csv"])
    with django_capture_on_commit_callbacks() as queued:
        response = client.get(url, {"from": "2026-12-01"})
    job = ExportJob.objects.for_tenant(world.tenant).get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "reports:export", args=[job.pk]
    )  # fmt: skip
    assert len(queued) == 1  # the job is sent to Celery when the request commits
    assert (job.status, job.params, job.fmt) == ("queued", {"from": "2026-12-01"}, "csv")
    page = client.get(reverse("reports:export", args=[job.pk])).content.decode()
    assert "hx-trigger" in page and "Queued" in page

    assert services.export_run(tenant_id=world.tenant.pk, job_id=job.pk) == ExportStatus.DONE
    job.refresh_from_db()
    settings.EXPORT_INLINE_ROWS = 10_000
    direct = client.get(url, {"from": "2026-12-01"})
    direct_rows = b"".join(direct.streaming_content).decode()
    with job.file.open("rb") as written:
        assert written.read().decode() == direct_rows  # the same file, row for row
    assert job.total == job.done == direct_rows.count("\n") - 1 == 6

    page = client.get(reverse("reports:export", args=[job.pk])).content.decode()
    assert 'id="export-file"' in page and "hx-trigger" not in page
    download = client.get(reverse("reports:export_file", args=[job.pk]))
    assert b"".join(download.streaming_content).decode() == direct_rows
    assert job.filename in download["Content-Disposition"]
    # a retried delivery writes nothing again
    assert services.export_run(tenant_id=world.tenant.pk, job_id=job.pk) == ExportStatus.DONE
    # someone else's job is not found, even in the same tenant
    auditor = world.console_client(Role.AUDITOR)
    assert auditor.get(reverse("reports:export_file", args=[job.pk])).status_code == 404


def test_a_job_whose_filters_no_longer_hold_fails_with_the_reason(world, history):
    job = ExportJob.objects.create(
        tenant=world.tenant, requested_by=world.members[Role.OPERATOR].user, report="points",
        params={"merchant": "GONE"}, fmt="xlsx",
    )  # fmt: skip
    assert services.export_run(tenant_id=world.tenant.pk, job_id=job.pk) == ExportStatus.FAILED
    job.refresh_from_db()
    assert "merchant" in job.error and not job.file
