"""The console's report pages: the figures of reports.selectors, as charts with their tables,
filtered as the API is (PointsFilterSerializer) and downloadable as CSV or XLSX."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.roles import Action
from accounts.selectors import region_list
from campaigns.selectors import campaign_list
from core.errors import DomainError
from coupons.selectors import batch_list
from points.models import Holder
from points.selectors import program_list
from web.pages import LifeCycleActions, console_view, paginate, run_action

from . import forms, selectors, services
from .exports import EXPORTABLE, campaign_effect_table, settlement_download
from .models import ExportStatus
from .serializers import (
    EXPORT_FORMATS,
    CampaignEffectFilterSerializer,
    PointsFilterSerializer,
    ReconciliationFilterSerializer,
)

FILTER_FIELDS = ("program", "campaign", "batch", "from", "to", "region", "merchant")
FIELD_LABELS = {
    "program": _("Program"),
    "campaign": _("Campaign"),
    "batch": _("Batch"),
    "from": _("From"),
    "to": _("To"),
    "region": _("Region"),
    "merchant": _("Merchant"),
}


def _parameters(request, filters) -> tuple[dict, dict | None, list[str]]:
    """What was asked (the non-empty filters), the validated parameters (None when refused),
    and the messages of what was refused, each with its field's label."""
    actor = request.actor
    asked = {name: value for name in FILTER_FIELDS if (value := request.GET.get(name, "").strip())}
    params = filters(data=asked, context={"tenant": actor.tenant, "actor": actor})
    if params.is_valid():
        return asked, params.validated_data, []
    errors = [
        f"{FIELD_LABELS.get(name, name)}: {message}"
        for name, messages in params.errors.items()
        for message in messages
    ]
    return asked, None, errors


@console_view(Action.REPORTS_READ)
def points_report(request):
    actor = request.actor
    tenant = actor.tenant
    asked, params, errors = _parameters(request, PointsFilterSerializer)
    context = {
        **_filter_context(request, asked, errors),
        "programs": program_list(tenant=tenant, actor=actor).filter(holder=Holder.STAFF),
    }
    if params is not None:
        window = params["window"]
        report = selectors.points_report(tenant=tenant, actor=actor, window=window)
        context.update(
            report=report,
            values={**_chosen(asked, params), "program": window.program.pk},
            charts={
                "histogram": _series(report["histogram"], "bucket", "staff"),
                "regions": _series(report["regions_unlocked"], "regions", "staff"),
            },
        )
    return render(request, "reports/points_report.html", context)


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _filter_context(request, asked: dict, errors: list[str]) -> dict:
    """What every report page's filter bar needs; a refused filter keeps what was typed."""
    actor = request.actor
    return {
        "asked": asked,
        "errors": errors,
        "regions": region_list(tenant=actor.tenant, actor=actor).order_by("code"),
        "query": urlencode(asked),
        "values": {name: _number(asked.get(name)) for name in ("program", "campaign", "batch")}
        | {name: asked.get(name, "") for name in ("from", "to", "region", "merchant")},
        "formats": EXPORT_FORMATS,
    }


def _chosen(asked: dict, params: dict) -> dict:
    """The filters as the report used them (the default days filled in)."""
    return {**asked, "from": str(params["first"]), "to": str(params["last"])}


def _series(rows: list[dict], label: str, value: str) -> dict:
    """A bar chart's data for static/js/report_charts.js."""
    return {"labels": [str(r[label]) for r in rows], "values": [r[value] for r in rows]}


@console_view(Action.REPORTS_READ)
def points_export(request, fmt: str):
    """The report's rows as the page's filters choose them."""
    return _table_download(request, fmt, *EXPORTABLE["points"], report="points")


def _table_download(request, fmt: str, filters, table_of, report: str | None = None):
    """A report's rows as its page's filters choose them (a refused filter: back to the page).
    Of a `report` a job can write, more rows than settings.EXPORT_INLINE_ROWS go to an export
    job, whose page shows the progress and then the file."""
    asked, params, _errors = _parameters(request, filters)
    if params is None or fmt not in EXPORT_FORMATS:
        return redirect(f"{request.path.rsplit('/', 1)[0]}/?{request.GET.urlencode()}")
    actor = request.actor
    table = table_of(tenant=actor.tenant, actor=actor, window=params["window"])
    if report and table.count is not None and table.count() > settings.EXPORT_INLINE_ROWS:
        job = services.export_request(
            tenant=actor.tenant, actor=actor, report=report, params=asked, fmt=fmt
        )
        return redirect("reports:export", pk=job.pk)
    return table.download(fmt)


@console_view(Action.REPORTS_READ)
def export_detail(request, pk: int):
    """An export job's progress (the page polls itself while it runs) and then its file."""
    job = selectors.export_get(tenant=request.actor.tenant, actor=request.actor, id=pk)
    return render(request, "reports/export_detail.html", {"job": job})


@console_view(Action.REPORTS_READ)
def export_file(request, pk: int):
    job = selectors.export_get(tenant=request.actor.tenant, actor=request.actor, id=pk)
    if job.status != ExportStatus.DONE:
        return redirect("reports:export", pk=pk)
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.filename)


@console_view(Action.REPORTS_READ)
def reconciliation(request):
    actor = request.actor
    tenant = actor.tenant
    asked, params, errors = _parameters(request, ReconciliationFilterSerializer)
    context = {
        **_filter_context(request, asked, errors),
        "campaigns": campaign_list(tenant=tenant, actor=actor).order_by("-starts_at", "name"),
        "batches": batch_list(tenant=tenant, actor=actor).order_by("campaign__name", "name"),
    }
    if params is not None:
        window = params["window"]
        report = selectors.reconciliation(tenant=tenant, actor=actor, window=window)
        context.update(report=report, values={**context["values"], **_chosen(asked, params)})
    return render(request, "reports/reconciliation.html", context)


@console_view(Action.REPORTS_READ)
def campaign_effect(request):
    actor = request.actor
    tenant = actor.tenant
    asked, params, errors = _parameters(request, CampaignEffectFilterSerializer)
    context = {
        **_filter_context(request, asked, errors),
        "campaigns": campaign_list(tenant=tenant, actor=actor).order_by("-starts_at", "name"),
        "batches": batch_list(tenant=tenant, actor=actor).order_by("campaign__name", "name"),
    }
    if params is not None:
        window = params["window"]
        effect = selectors.campaign_effect(tenant=tenant, actor=actor, window=window)
        chosen = {**_chosen(asked, params), "campaign": window.campaign.pk}
        context.update(
            report=effect,
            values={**context["values"], **chosen},
            charts={
                "days": {
                    "labels": [str(d["day"]) for d in effect["days"]],
                    "datasets": [
                        {
                            "label": _("Coupons issued"),
                            "values": [d["issued"] for d in effect["days"]],
                        },
                        {
                            "label": _("Redemptions"),
                            "values": [d["redemptions"] for d in effect["days"]],
                        },
                    ],
                },
                "burn": {
                    "labels": [str(d["day"]) for d in effect["burn_down"]],
                    "datasets": [
                        {
                            "label": _("Spent"),
                            "values": [float(d["spent"]) for d in effect["burn_down"]],
                        },
                        {
                            "label": _("Reserved"),
                            "values": [float(d["reserved"]) for d in effect["burn_down"]],
                        },
                    ],
                },
            },
        )
    return render(request, "reports/campaign_effect.html", context)


@console_view(Action.REPORTS_READ)
def campaign_effect_export(request, fmt: str):
    return _table_download(request, fmt, CampaignEffectFilterSerializer, campaign_effect_table)


@console_view(Action.REPORTS_READ)
def reconciliation_export(request, fmt: str):
    return _table_download(request, fmt, *EXPORTABLE["reconciliation"], report="reconciliation")


SETTLEMENT_ACTIONS: LifeCycleActions = {
    "close": (
        services.settlement_close,
        gettext_lazy("Settlement closed: its figures are frozen."),
    ),
    "discard": (services.settlement_discard, gettext_lazy("Settlement discarded.")),
}


@console_view(Action.REPORTS_READ)
def settlement_list(request):
    actor = request.actor
    form = forms.SettlementForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            settlement = services.settlement_prepare(
                tenant=actor.tenant, actor=actor, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, gettext_lazy("Prepared: another finance user closes it."))
            return redirect("reports:settlement_detail", pk=settlement.pk)
    page = paginate(request, selectors.settlement_list(tenant=actor.tenant, actor=actor))
    return render(
        request,
        "reports/settlement_list.html",
        {"form": form, "page": page, "can_manage": actor.can(Action.SETTLEMENTS_MANAGE)},
    )


@console_view(Action.REPORTS_READ)
def settlement_detail(request, pk: int):
    actor = request.actor
    settlement = selectors.settlement_get(tenant=actor.tenant, actor=actor, id=pk)
    figures = selectors.settlement_figures(tenant=actor.tenant, settlement=settlement)
    return render(
        request,
        "reports/settlement_detail.html",
        {
            "settlement": settlement,
            "figures": figures,
            "formats": EXPORT_FORMATS,
            "can_manage": actor.can(Action.SETTLEMENTS_MANAGE),
        },
    )


@require_POST
@console_view(Action.SETTLEMENTS_MANAGE)
def settlement_action(request, pk: int, verb: str):
    actor = request.actor
    settlement = selectors.settlement_get(tenant=actor.tenant, actor=actor, id=pk)
    service, done = SETTLEMENT_ACTIONS[verb]
    run_action(request, service, done, settlement=settlement, note=request.POST.get("note", ""))
    return redirect("reports:settlement_detail", pk=pk)


@console_view(Action.REPORTS_READ)
def settlement_export(request, pk: int, fmt: str):
    actor = request.actor
    settlement = selectors.settlement_get(tenant=actor.tenant, actor=actor, id=pk)
    if fmt not in EXPORT_FORMATS:
        return redirect("reports:settlement_detail", pk=pk)
    return settlement_download(tenant=actor.tenant, settlement=settlement, fmt=fmt)
