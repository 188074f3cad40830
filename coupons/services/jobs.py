"""Issuance jobs: issue a batch to a list, a file or a segment, or generate printed codes, in
chunks that commit with their marker so that a re-run never duplicates (ARCHITECTURE §4)."""

import csv
import io
import os
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.scope import campaign_require_change
from core.errors import ConflictError, ValidationFailed
from core.services import audit_record

from ..errors import BatchExhausted, CouponErrorCode, IssueRowReason
from ..models import (
    BatchStatus,
    CodeMode,
    CouponBatch,
    CouponStatus,
    IssuanceChunk,
    IssuanceError,
    IssuanceJob,
    JobKind,
    JobSource,
    JobStatus,
    Segment,
)
from ._common import logger
from .issuing import _insert_coupons, _issue, _take_stock, _validity


def chunk_size() -> int:
    return int(getattr(settings, "COUPONS_CHUNK_SIZE", 10_000))


def _pause_after_chunk() -> float:
    """Test-only: seconds to sleep after each chunk, so a crash test can kill the worker mid-job."""
    return float(os.environ.get("COUPONS_PAUSE_AFTER_CHUNK") or 0)


def parse_customer_file(*, name: str, content: bytes) -> list[str]:
    """Customer codes from a CSV or XLSX upload: the first column of each row; a header row
    (customer, code, customer_code) and blank rows are skipped."""
    values: list = []
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise ValidationFailed(
                _("Not a readable XLSX file."), fields={"file": [str(exc)[:200]]}
            ) from exc
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(max_col=1, values_only=True):
            cell = row[0] if row else None
            if isinstance(cell, float) and cell.is_integer():
                cell = int(cell)
            values.append("" if cell is None else str(cell))
        book.close()
    elif name.lower().endswith((".csv", ".txt")):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(
                _("The CSV must be UTF-8."), fields={"file": [_("Not UTF-8.")]}
            ) from exc
        values = [row[0] if row else "" for row in csv.reader(io.StringIO(text))]
    else:
        raise ValidationFailed(
            _("Upload a .csv or .xlsx file."), fields={"file": [_("Unsupported type.")]}
        )
    codes = [v.strip() for v in values]
    if codes and codes[0].lower() in ("customer", "code", "customer_code", "customers"):
        codes = codes[1:]
    codes = [c for c in codes if c]
    if not codes:
        raise ValidationFailed(_("The file lists no customers."), fields={"file": [_("Empty.")]})
    return codes


def _require_issuable(actor: Actor, batch: CouponBatch) -> None:
    campaign_require_change(actor=actor, campaign=batch.campaign, action=Action.COUPONS_ISSUE)
    if batch.status != BatchStatus.ACTIVE:
        raise ConflictError(
            _("Activate the batch before issuing."), code=CouponErrorCode.BATCH_NOT_ACTIVE
        )


def _enqueue(job: IssuanceJob) -> None:
    from .. import tasks  # tasks import coupons.services

    # After commit: the worker must find the job row it is told about.
    transaction.on_commit(lambda: tasks.issuance_job_run.delay(job.tenant_id, job.pk))


@transaction.atomic
def issuance_job_create(
    *,
    tenant: Tenant,
    actor: Actor,
    batch: CouponBatch,
    customers: list[str] | None = None,
    segment: Segment | None = None,
    file_name: str = "",
    file_content: bytes | None = None,
) -> IssuanceJob:
    """Issue the batch to a list, an uploaded file or a segment, as a background job (202).

    The input is fixed here: a segment is resolved to its customers now, so the count the
    operator previewed is what the job works through, also after a restart.
    """
    _require_issuable(actor, batch)
    given = [customers is not None, segment is not None, file_content is not None]
    if sum(given) != 1:
        raise ValidationFailed(
            _("Give exactly one of customers, segment or file."),
            fields={"customers": [_("One of customers, segment, file.")]},
        )
    if customers is not None:
        source, codes = JobSource.LIST, [str(c).strip() for c in customers]
        if not codes:
            raise ValidationFailed(_("No customers."), fields={"customers": [_("Empty.")]})
    elif segment is not None:
        from ..selectors import segment_customers

        source = JobSource.SEGMENT
        codes = list(
            segment_customers(tenant=tenant, actor=actor, segment=segment)
            .order_by("pk")
            .values_list("code", flat=True)
        )
        if not codes:
            raise ValidationFailed(
                _("The segment has no customers."), fields={"segment": [_("Empty.")]}
            )
    else:
        source = JobSource.FILE
        assert file_content is not None, "exactly one of the three is given"
        codes = parse_customer_file(name=file_name, content=file_content)
    job = IssuanceJob.objects.create(
        tenant=tenant,
        batch=batch,
        kind=JobKind.ISSUE,
        source=source,
        segment=segment,
        file_name=file_name[:255],
        customer_codes=codes,
        customer_region_ids=sorted(actor.region_ids) if actor.region_ids is not None else None,
        chunk_size=chunk_size(),
        total=len(codes),
        created_by=actor.user,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="issuance_job.create",
        obj=job,
        after={"batch": batch.pk, "kind": job.kind, "source": source, "total": job.total},
    )
    _enqueue(job)
    return job


MAX_GENERATE = 10_000_000


@transaction.atomic
def generation_job_create(
    *, tenant: Tenant, actor: Actor, batch: CouponBatch, count: int
) -> IssuanceJob:
    """Generate `count` unassigned codes (for print or a partner) as a background job (202)."""
    _require_issuable(actor, batch)
    if batch.code_mode != CodeMode.UNIQUE:
        raise ValidationFailed(
            _("A shared-code batch has one code; there is nothing to generate."),
            fields={"count": [_("Shared-code batch.")]},
        )
    if not 1 <= count <= MAX_GENERATE:
        raise ValidationFailed(
            _("Between 1 and %d.") % MAX_GENERATE, fields={"count": [_("Out of range.")]}
        )
    if count > batch.stock:
        raise BatchExhausted(
            _("Only %(stock)d coupons are left in the batch.") % {"stock": batch.stock},
            fields={"count": [_("More than the stock.")]},
        )
    job = IssuanceJob.objects.create(
        tenant=tenant,
        batch=batch,
        kind=JobKind.GENERATE,
        source=JobSource.GENERATE,
        chunk_size=chunk_size(),
        total=count,
        created_by=actor.user,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="issuance_job.create",
        obj=job,
        after={"batch": batch.pk, "kind": job.kind, "total": count},
    )
    _enqueue(job)
    return job


def _chunk_issue(
    tenant: Tenant, job: IssuanceJob, batch: CouponBatch, start: int, now
) -> tuple[int, list]:
    """One chunk of an issue job: (coupons issued, error rows)."""
    rows = job.customer_codes[start : start + job.chunk_size]
    customers = Customer.objects.for_tenant(tenant).filter(code__in=set(rows))
    if job.customer_region_ids is not None:
        customers = customers.filter(region_id__in=job.customer_region_ids)
    ids = dict(customers.values_list("code", "pk"))
    errors: list[IssuanceError] = []

    def error(offset, reason, detail=""):
        errors.append(
            IssuanceError(
                tenant=tenant,
                job=job,
                row_no=start + offset + 1,
                value=rows[offset][:255],
                reason=reason,
                detail=detail,
            )
        )

    known: list[int] = []  # offsets of rows naming a known customer
    for offset, code in enumerate(rows):
        if code in ids:
            known.append(offset)
        else:
            error(offset, IssueRowReason.UNKNOWN_CUSTOMER)
    outcome = _issue(
        tenant=tenant,
        batch=batch,
        customer_ids=[ids[rows[o]] for o in known],
        now=now,
        job=job,
    )
    for index, reason in outcome.failures:
        error(known[index], reason)
    errors.sort(key=lambda e: e.row_no)
    return len(outcome.coupons), errors


def _chunk_generate(
    tenant: Tenant, job: IssuanceJob, batch: CouponBatch, start: int, now
) -> tuple[int, list]:
    wanted = min(job.chunk_size, job.total - start)
    taken = _take_stock(tenant, batch, wanted)
    # Days-from-issue validity starts when a code is given to a holder, not now.
    valid_from, valid_until = (None, None) if batch.valid_days else _validity(batch, now)
    shared = {
        "tenant_id": tenant.pk,
        "batch_id": batch.pk,
        "status": CouponStatus.UNASSIGNED,
        "issued_at": None,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "job_id": job.pk,
        "created_at": now,
        "updated_at": now,
    }
    _insert_coupons(batch, holders=None, count=taken, constants=shared)
    errors = []
    if taken < wanted:
        errors.append(
            IssuanceError(
                tenant=tenant,
                job=job,
                row_no=start + taken + 1,
                reason=IssueRowReason.BATCH_EXHAUSTED,
                detail=f"rows {start + taken + 1}-{start + wanted} not generated",
            )
        )
    return taken, errors


def _run_chunk(tenant: Tenant, job: IssuanceJob, chunk_no: int) -> bool:
    """One chunk in its own transaction with its marker; False when another run did it."""
    start = chunk_no * job.chunk_size
    rows = min(job.chunk_size, job.total - start)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A chunk is safe to lose in a database crash: its coupons, marker and progress commit
            # together or not at all, and a re-run redoes it. Not waiting for the WAL flush on
            # each of a million-coupon job's commits is worth that.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        try:
            # The marker first: a second runner of the same job waits here, then skips.
            with transaction.atomic():
                marker = IssuanceChunk.objects.create(tenant=tenant, job=job, chunk_no=chunk_no)
        except IntegrityError:
            return False
        batch = (
            CouponBatch.objects.for_tenant(tenant).select_related("campaign").get(pk=job.batch_id)
        )
        now = timezone.now()
        work = _chunk_generate if job.kind == JobKind.GENERATE else _chunk_issue
        issued, errors = work(tenant, job, batch, start, now)
        failed = rows - issued
        IssuanceError.objects.bulk_create(errors, batch_size=5000)
        marker.issued, marker.failed = issued, failed
        marker.save(update_fields=["issued", "failed"])
        IssuanceJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
            done=F("done") + rows,
            failed=F("failed") + failed,
            heartbeat_at=now,
            updated_at=now,
        )
    return True


def issuance_job_run(*, tenant: Tenant, job_id: int) -> IssuanceJob:
    """Work through a job chunk by chunk, skipping chunks already done (a re-run after a crash,
    or a second delivery of the task): never a duplicate, never a gap."""
    jobs = IssuanceJob.objects.for_tenant(tenant)
    job = jobs.get(pk=job_id)
    if job.status in (JobStatus.DONE, JobStatus.FAILED):
        return job
    now = timezone.now()
    jobs.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        started_at=job.started_at or now,
        heartbeat_at=now,
        updated_at=now,
    )
    finished = set(
        IssuanceChunk.objects.for_tenant(tenant).filter(job=job).values_list("chunk_no", flat=True)
    )
    pause = _pause_after_chunk()
    try:
        for chunk_no in range(job.chunk_count):
            if chunk_no in finished:
                continue
            _run_chunk(tenant, job, chunk_no)
            if pause:
                time.sleep(pause)
    except Exception as exc:
        logger.exception("Issuance job %s failed", job.pk)
        jobs.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        raise
    jobs.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=JobStatus.DONE, finished_at=timezone.now(), updated_at=timezone.now()
    )
    job.refresh_from_db()
    return job


STALE_AFTER = timedelta(minutes=5)


def issuance_jobs_resume(*, stale_after: timedelta = STALE_AFTER, now=None) -> int:
    """Enqueue again every job that was queued or running but shows no progress for a while
    (its worker was killed). Platform-wide: the beat runs it for every tenant."""
    from .. import tasks

    cutoff = (now or timezone.now()) - stale_after
    stale = (
        IssuanceJob.objects.unscoped()
        .filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING))
        .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff))
        .values_list("tenant_id", "pk")
    )
    count = 0
    for tenant_id, job_id in stale:
        tasks.issuance_job_run.delay(tenant_id, job_id)
        count += 1
    return count
