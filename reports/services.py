"""Settlements (SPEC §5): prepare, close (maker-checker) or discard a period of coupon
redemptions. Closing freezes the reconciliation's figures; nothing reopens a closed one.
And export jobs: a report download too big for one request, written by Celery."""

import logging
import tempfile
from datetime import date, timedelta
from decimal import Decimal

from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from accounts.models import Membership, Merchant, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from budgets.errors import MakerChecker
from campaigns.serializers import MAX_WINDOW_DAYS
from core.errors import (
    ConflictError,
    DomainError,
    PermissionDeniedError,
    RuleRefusal,
    ValidationFailed,
    invalid_transition,
)
from core.exports import export_write
from core.services import audit_record

from .errors import ReportErrorCode
from .models import ExportJob, ExportStatus, Settlement, SettlementStatus
from .selectors import settlement_figures

logger = logging.getLogger(__name__)


def _snapshot(settlement: Settlement) -> dict:
    return {
        "merchant": settlement.merchant.code if settlement.merchant else None,
        "first_day": str(settlement.first_day),
        "last_day": str(settlement.last_day),
        "status": settlement.status,
        "totals": settlement.totals,
    }


def _plain(values: dict) -> dict:
    """JSON-safe: money as text, as the API writes it."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}


@transaction.atomic
def settlement_prepare(
    *, tenant: Tenant, actor: Actor, first_day: date, last_day: date,
    merchant: Merchant | None = None, note: str = "",
) -> Settlement:  # fmt: skip
    """A period to close for all merchants or one. 422 period_not_ended unless its last day
    has passed; 409 period_settled when it overlaps a prepared or closed settlement that
    covers the same merchants (one of a merchant and one of all overlap)."""
    actor.require(Action.SETTLEMENTS_MANAGE)
    if last_day < first_day:
        raise ValidationFailed(_("On or after from."), fields={"to": [_("On or after from.")]})
    if last_day - first_day >= timedelta(days=MAX_WINDOW_DAYS):
        message = _("At most %(days)d days.") % {"days": MAX_WINDOW_DAYS}
        raise ValidationFailed(message, fields={"to": [message]})
    if last_day >= timezone.localdate(timezone=tenant.zone):
        raise RuleRefusal(
            _("Only days that have passed can be closed: %(day)s has not ended.")
            % {"day": last_day},
            code=ReportErrorCode.PERIOD_NOT_ENDED,
        )
    # One settlement at a time per tenant: two overlapping ones prepared at once would each
    # find the other missing.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    same_scope = Q() if merchant is None else Q(merchant__isnull=True) | Q(merchant=merchant)
    overlapping = (
        Settlement.objects.for_tenant(tenant)
        .filter(same_scope, first_day__lte=last_day, last_day__gte=first_day)
        .exclude(status=SettlementStatus.DISCARDED)
        .first()
    )
    if overlapping is not None:
        raise ConflictError(
            _("These days overlap the settlement %(other)s (%(status)s).")
            % {"other": overlapping, "status": overlapping.get_status_display()},
            code=ReportErrorCode.PERIOD_SETTLED,
        )
    settlement = Settlement.objects.create(
        tenant=tenant, merchant=merchant, first_day=first_day, last_day=last_day,
        prepared_by=actor.user, note=note,
    )  # fmt: skip
    audit_record(
        tenant=tenant, actor=actor, action="settlement.prepare", obj=settlement,
        after=_snapshot(settlement), note=note,
    )  # fmt: skip
    return settlement


def _lock(tenant: Tenant, settlement: Settlement) -> Settlement:
    return (
        Settlement.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("merchant")
        .get(pk=settlement.pk)
    )


@transaction.atomic
def settlement_close(
    *, tenant: Tenant, actor: Actor, settlement: Settlement, note: str = ""
) -> Settlement:
    """Another finance user closes it: the reconciliation of its days and merchants is frozen
    into it as it is now. 403 maker_checker for the one who prepared it."""
    actor.require(Action.SETTLEMENTS_MANAGE)
    settlement = _lock(tenant, settlement)
    if actor.user is not None and actor.user.pk == settlement.prepared_by_id:
        raise MakerChecker(_("You cannot close a settlement you prepared yourself."))
    if settlement.status != SettlementStatus.PREPARED:
        raise invalid_transition(_("settlement"), settlement.status, SettlementStatus.CLOSED)
    figures = settlement_figures(tenant=tenant, settlement=settlement)
    settlement.totals = _plain(figures["totals"])
    settlement.rows = [_plain(row) for row in figures["rows"]]
    settlement.status = SettlementStatus.CLOSED
    settlement.closed_by, settlement.closed_at = actor.user, timezone.now()
    settlement.save()
    audit_record(
        tenant=tenant, actor=actor, action="settlement.close", obj=settlement,
        before={"status": SettlementStatus.PREPARED}, after=_snapshot(settlement), note=note,
    )  # fmt: skip
    return settlement


@transaction.atomic
def settlement_discard(
    *, tenant: Tenant, actor: Actor, settlement: Settlement, note: str = ""
) -> Settlement:
    """A prepared settlement withdrawn; a closed one stays closed (409 invalid_transition):
    what came after it is settled in the next period."""
    actor.require(Action.SETTLEMENTS_MANAGE)
    settlement = _lock(tenant, settlement)
    if settlement.status != SettlementStatus.PREPARED:
        raise invalid_transition(_("settlement"), settlement.status, SettlementStatus.DISCARDED)
    settlement.status = SettlementStatus.DISCARDED
    settlement.save(update_fields=["status", "updated_at"])
    audit_record(
        tenant=tenant, actor=actor, action="settlement.discard", obj=settlement,
        before={"status": SettlementStatus.PREPARED}, after=_snapshot(settlement), note=note,
    )  # fmt: skip
    return settlement


# --- export jobs ------------------------------------------------------------------------------

PROGRESS_EVERY = 5_000  # rows between two progress updates


def export_request(*, tenant: Tenant, actor: Actor, report: str, params: dict, fmt: str):
    """A job that writes the report's rows (as `params` filter them, in the actor's scope) to a
    file; queued when the transaction commits. The parameters were validated by the caller."""
    from . import tasks  # the tasks import this module

    actor.require(Action.REPORTS_READ)
    job = ExportJob.objects.create(
        tenant=tenant, requested_by=actor.user, report=report, params=params, fmt=fmt
    )

    def send():
        try:
            tasks.export_run.delay(tenant.pk, job.pk)
        except Exception:  # the broker is down: say so on the job instead of failing the page
            logger.exception("Export %s could not be queued.", job.pk)
            ExportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
                status=ExportStatus.FAILED, error="The job queue cannot be reached; try again."
            )

    transaction.on_commit(send)
    return job


def export_run(*, tenant_id: int, job_id: int) -> str:
    """Write the job's file (again, if a retry finds it half done), counting rows as it goes.
    A finished job is left alone, so a duplicate delivery writes nothing twice."""
    from .exports import EXPORTABLE

    job = ExportJob.objects.for_tenant(tenant_id).select_related("tenant").get(pk=job_id)
    if job.status in (ExportStatus.DONE, ExportStatus.FAILED):
        return job.status
    tenant = job.tenant
    membership = Membership.objects.for_tenant(tenant).filter(user=job.requested_by).first()
    filters, table_of = EXPORTABLE[job.report]
    try:
        if membership is None:
            raise PermissionDeniedError(_("The one who asked is no longer a member."))
        actor = Actor(tenant=tenant, membership=membership)
        params = filters(data=job.params, context={"tenant": tenant, "actor": actor})
        params.is_valid(raise_exception=True)
        table = table_of(tenant=tenant, actor=actor, window=params.validated_data["window"])
        total = table.count() if table.count else 0
        ExportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(
            status=ExportStatus.RUNNING, total=total, done=0
        )

        def counted(rows):
            for n, row in enumerate(rows, start=1):
                if n % PROGRESS_EVERY == 0:
                    ExportJob.objects.for_tenant(tenant).filter(pk=job.pk).update(done=n)
                yield row

        with tempfile.NamedTemporaryFile(suffix=f".{job.fmt}") as scratch:
            export_write(
                job.fmt, table.titles, counted(table.rows), scratch.name, sheet=table.sheet
            )
            scratch.seek(0)
            job.file.save(f"{tenant.pk}-{job.pk}.{job.fmt}", File(scratch), save=False)
    except (DomainError, serializers.ValidationError) as exc:
        job.status, job.error = ExportStatus.FAILED, str(exc)[:300]
    else:
        job.status, job.done, job.total = ExportStatus.DONE, total, total
        job.filename = f"{table.name}.{job.fmt}"
    job.finished_at = timezone.now()
    job.save()
    return job.status
