"""Console pages of campaigns: list, form, detail with life cycle and the check panel."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.roles import Action
from core.errors import DomainError
from web.pages import LifeCycleActions, console_view, paginate, run_action

from . import filters, forms, selectors, services
from .models import CAMPAIGN_MOVES, CampaignStatus
from .scope import campaign_changeable, campaign_require_change

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


@console_view(Action.CAMPAIGNS_READ)
def campaign_detail(request, pk: int):
    actor = request.actor
    campaign = selectors.campaign_get(tenant=actor.tenant, actor=actor, id=pk)
    may_change = campaign_changeable(actor=actor, campaign=campaign)
    allowed = CAMPAIGN_MOVES[campaign.status]
    moves = [
        verb
        for verb, target in TARGETS.items()
        if target in allowed and not (verb == "resume" and campaign.status != CampaignStatus.PAUSED)
    ]
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "check": services.campaign_check(tenant=actor.tenant, campaign=campaign),
            "may_change": may_change,
            "moves": moves if may_change else [],
        },
    )


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
