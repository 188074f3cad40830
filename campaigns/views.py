"""Console pages of campaigns: list, form, detail with life cycle and the check panel."""

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.roles import Action
from core.errors import DomainError
from web.pages import LifeCycleActions, console_view, paginate, run_action

from . import filters, forms, selectors, services
from .checks import local_days
from .models import CAMPAIGN_MOVES, CampaignStatus
from .scope import campaign_changeable, campaign_require_change
from .serializers import CheckWindowSerializer
from .simulation import shadow_against_simulation

ACTIONS: LifeCycleActions = {
    "schedule": (services.campaign_schedule, gettext_lazy("Campaign scheduled.")),
    "pause": (services.campaign_pause, gettext_lazy("Campaign paused.")),
    "resume": (services.campaign_resume, gettext_lazy("Campaign running again.")),
    "end": (services.campaign_end, gettext_lazy("Campaign ended.")),
}
# the target status of each button, to show only the moves the life cycle allows
TARGETS = {
    "schedule": CampaignStatus.SCHEDULED,
    "pause": CampaignStatus.PAUSED,
    "resume": CampaignStatus.RUNNING,
    "end": CampaignStatus.ENDED,
}


@console_view(Action.CAMPAIGNS_READ)
def campaign_list(request):
    actor = request.actor
    filterset = filters.CampaignConsoleFilter(
        request.GET,
        queryset=selectors.campaign_list(tenant=actor.tenant, actor=actor),
        request=request,
    )
    page = paginate(request, filterset.qs)
    return render(request, "campaigns/campaign_list.html", {"filter": filterset, "page": page})


# the simulation's states in which the panel polls for progress
IN_PROGRESS = ("queued", "running")


def _asked_window(request, tenant) -> tuple[dict, tuple[datetime, datetime] | None, list]:
    """The `from`/`to` days of `?from=&to=` (the API's rules): what was typed, the window
    (None: the default one) and the messages of a window refused."""
    asked = {name: value for name in ("from", "to") if (value := request.GET.get(name, "").strip())}
    window = CheckWindowSerializer(data=asked)
    if not window.is_valid():
        labels = {"from": _("From"), "to": _("To")}
        errors = [
            f"{labels[name]}: {message}" if name in labels else str(message)
            for name, texts in window.errors.items()
            for message in texts
        ]
        return asked, None, errors
    days = window.validated_data
    return asked, (local_days(tenant, days["from"], days["to"]) if days else None), []


def _days(window: dict, tenant) -> tuple:
    """The simulation's [from, to) as the tenant's first and last day, both included."""
    start = datetime.fromisoformat(window["from"]).astimezone(tenant.zone)
    end = datetime.fromisoformat(window["to"]).astimezone(tenant.zone)
    return start.date(), (end - timedelta(microseconds=1)).date()


def _percent(part, whole) -> int:
    return min(100, round(100 * float(part) / float(whole))) if float(whole or 0) > 0 else 0


def _simulation_programs(result: dict) -> list[dict]:
    """The result's programs with the shares the page shows as percents."""
    return [
        {**program, "share_percent": round(100 * program["share_earning"], 1)}
        for program in result["programs"]
    ]


def _check_context(request, campaign) -> dict:
    """What the check panel and the simulation section show: the findings, the simulation of
    the window asked for (or the default one), and the window form."""
    tenant = request.actor.tenant
    asked, window, window_errors = _asked_window(request, tenant)
    check = services.campaign_check(tenant=tenant, campaign=campaign, window=window)
    simulation = check["simulation"]
    first, last = _days(simulation["window"], tenant)
    result = simulation.get("result")
    context = {
        "check": check,
        "simulation": simulation,
        "result": result,
        "window_first": first,
        "window_last": last,
        # a refused window keeps what was typed in the boxes, next to its error
        "window_values": asked if window_errors else {"from": str(first), "to": str(last)},
        "window_errors": window_errors,
        "window_chosen": window is not None,
        "polling": simulation["status"] in IN_PROGRESS,
        "progress": _percent(simulation.get("done", 0), simulation.get("total", 0)),
        "panel_query": urlencode({"from": first, "to": last}) if window is not None else "",
        "shadow": shadow_against_simulation(campaign, simulation),
    }
    if result:
        context["programs"] = _simulation_programs(result)
        context["budget_used"] = _percent(result["money"], result["budget_available"])
    return context


def _detail_context(request, pk: int) -> dict:
    actor = request.actor
    campaign = selectors.campaign_get(tenant=actor.tenant, actor=actor, id=pk)
    may_change = campaign_changeable(actor=actor, campaign=campaign)
    allowed = CAMPAIGN_MOVES[campaign.status]
    moves = [
        verb
        for verb, target in TARGETS.items()
        if target in allowed and not (verb == "resume" and campaign.status != CampaignStatus.PAUSED)
    ]
    return {
        "campaign": campaign,
        "may_change": may_change,
        "moves": moves if may_change else [],
        **_check_context(request, campaign),
    }


@console_view(Action.CAMPAIGNS_READ)
def campaign_detail(request, pk: int):
    return render(request, "campaigns/campaign_detail.html", _detail_context(request, pk))


@console_view(Action.CAMPAIGNS_READ)
def check_panel(request, pk: int):
    """The check panel and the simulation section alone: what HTMX polls while a simulation
    runs as a job (same `from`/`to` as the page)."""
    return render(request, "campaigns/_check.html", _detail_context(request, pk))


@console_view(Action.CAMPAIGNS_MANAGE)
def campaign_form(request, pk: int | None = None):
    actor = request.actor
    campaign = selectors.campaign_get(tenant=actor.tenant, actor=actor, id=pk) if pk else None
    if campaign is not None:
        campaign_require_change(actor=actor, campaign=campaign)
    initial = forms.CampaignForm.initial_for(campaign) if campaign else None
    form = forms.CampaignForm(request.POST or None, actor=actor, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if campaign is None:
                campaign = services.campaign_create(
                    tenant=actor.tenant, actor=actor, **form.cleaned_data
                )
                messages.success(request, _("Campaign created as a draft."))
            else:
                services.campaign_update(
                    tenant=actor.tenant, actor=actor, campaign=campaign, **form.cleaned_data
                )
                messages.success(request, _("Campaign saved."))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def campaign_action(request, pk: int, verb: str):
    actor = request.actor
    campaign = selectors.campaign_get(tenant=actor.tenant, actor=actor, id=pk)
    service, done = ACTIONS[verb]
    extra = (
        {"acknowledge_warnings": request.POST.get("acknowledge_warnings") == "on"}
        if verb == "schedule"
        else {"note": request.POST.get("note", "")}
    )
    run_action(request, service, done, campaign=campaign, **extra)
    return redirect("campaigns:detail", pk=pk)


@console_view(Action.CAMPAIGNS_READ)
def channel_list(request):
    """The tenant's channel list: add one, rename it, retire or restore it."""
    actor = request.actor
    form = forms.ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_create(tenant=actor.tenant, actor=actor, **form.cleaned_data)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Channel added."))
            return redirect("campaigns:channels")
    return render(
        request,
        "campaigns/channel_list.html",
        {
            "channels": selectors.channel_list(tenant=actor.tenant, actor=actor),
            "form": form,
            # the list is tenant-wide: scoped operators read it (services.channel_create agrees)
            "may_edit": actor.can(Action.CAMPAIGNS_MANAGE)
            and actor.region_ids is None
            and actor.business_unit_id is None,
        },
    )


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def channel_update(request, code: str):
    actor = request.actor
    channel = selectors.channel_get(tenant=actor.tenant, actor=actor, code=code)
    changes = {}
    if request.POST.get("name", "").strip():
        changes["name"] = request.POST["name"].strip()
    if "is_active" in request.POST:
        changes["is_active"] = request.POST["is_active"] == "true"
    try:
        services.channel_update(tenant=actor.tenant, actor=actor, channel=channel, **changes)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Channel %(code)s saved.") % {"code": channel.code})
    return redirect("campaigns:channels")
