"""Console pages of points (/console/points/): programs, the rule editor with its tier table,
accounts with search, an account's ledger with what caused each entry, adjustments."""

from typing import TYPE_CHECKING

from django.contrib import messages
from django.db.models import QuerySet
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.roles import Action
from campaigns.selectors import campaign_get
from core.errors import DomainError, ValidationFailed
from web.pages import LifeCycleActions, console_view, paginate, run_action, safe_next

from . import forms, selectors, services
from .models import AdjustmentRequestStatus, PointsAdjustmentRequest

if TYPE_CHECKING:
    pass


@console_view(Action.POINTS_READ)
def program_list(request):
    actor = request.actor
    programs = selectors.program_list(tenant=actor.tenant, actor=actor)
    return render(request, "points/program_list.html", {"page": paginate(request, programs)})


@console_view(Action.CAMPAIGNS_MANAGE)
def program_create(request):
    actor = request.actor
    form = forms.ProgramForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            program = services.program_create(
                tenant=actor.tenant, actor=actor, **form.service_kwargs()
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Program %(name)s was created.") % {"name": program})
            return redirect("points:program_detail", pk=program.pk)
    return render(request, "points/program_form.html", {"form": form})


@console_view(Action.CAMPAIGNS_MANAGE)
def program_edit(request, pk: int):
    actor = request.actor
    program = selectors.program_get(tenant=actor.tenant, actor=actor, id=pk)
    form = forms.ProgramEditForm(
        request.POST or None, actor=actor, initial=forms.ProgramEditForm.initial_for(program)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.program_update(
                tenant=actor.tenant, actor=actor, program=program, **form.service_kwargs()
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Program %(name)s was saved.") % {"name": program})
            return redirect("points:program_detail", pk=program.pk)
    return render(request, "points/program_form.html", {"form": form, "program": program})


PROGRAM_ACTIONS: LifeCycleActions = {
    "activate": (services.program_activate, gettext_lazy("The program is active again.")),
    "deactivate": (
        services.program_deactivate,
        gettext_lazy("The program is inactive: its rules earn nothing."),
    ),
}
RULE_ACTIONS: LifeCycleActions = {
    "activate": (services.rule_activate, gettext_lazy("The rule awards points again.")),
    "deactivate": (services.rule_deactivate, gettext_lazy("The rule awards nothing any more.")),
}


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def program_action(request, pk: int, verb: str):
    actor = request.actor
    program = selectors.program_get(tenant=actor.tenant, actor=actor, id=pk)
    service, done = PROGRAM_ACTIONS[verb]
    run_action(request, service, done, note=request.POST.get("note", ""), program=program)
    return redirect("points:program_detail", pk=program.pk)


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def rule_action(request, pk: int, verb: str):
    actor = request.actor
    rule = selectors.rule_get(tenant=actor.tenant, actor=actor, id=pk)
    service, done = RULE_ACTIONS[verb]
    run_action(request, service, done, note=request.POST.get("note", ""), rule=rule)
    return redirect("points:program_detail", pk=rule.program_id)


@console_view(Action.POINTS_READ)
def program_detail(request, pk: int):
    actor = request.actor
    program = selectors.program_get(tenant=actor.tenant, actor=actor, id=pk)
    rules = selectors.rule_list(tenant=actor.tenant, actor=actor, filters={"program": program.pk})
    return render(request, "points/program_detail.html", {"program": program, "rules": rules})


def _tier_rows(tiers) -> list[dict]:
    return [
        {"from": row["rank_from"], "to": row["rank_to"], "points": row["points"]}
        for row in tiers.cleaned_data
        if row
    ]


@console_view(Action.CAMPAIGNS_MANAGE)
def rule_create(request, pk: int):
    """The rule editor: the rule's fields and, for first-N rules, a table of rank tiers."""
    actor = request.actor
    program = selectors.program_get(tenant=actor.tenant, actor=actor, id=pk)
    form = forms.RuleForm(request.POST or None, actor=actor)
    tiers = forms.RankTierFormSet(request.POST or None, prefix="tiers")
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        try:
            campaign = campaign_get(
                tenant=actor.tenant, actor=actor, id=int(form.cleaned_data["campaign"])
            )
            rule = services.rule_create(
                tenant=actor.tenant,
                actor=actor,
                campaign=campaign,
                program=program,
                regions=form.cleaned_data["regions"],
                **form.service_kwargs(_tier_rows(tiers)),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Rule %(rule)s was created.") % {"rule": rule})
            return redirect("points:program_detail", pk=program.pk)
    return render(
        request, "points/rule_form.html", {"form": form, "tiers": tiers, "program": program}
    )


@console_view(Action.CAMPAIGNS_MANAGE)
def rule_edit(request, pk: int):
    """The rule editor on an existing rule: points, tier table, caps, regions, milestone."""
    actor = request.actor
    rule = selectors.rule_get(tenant=actor.tenant, actor=actor, id=pk)
    initial, tier_rows = forms.RuleEditForm.initial_for(rule)
    form = forms.RuleEditForm(request.POST or None, actor=actor, rule=rule, initial=initial)
    tiers = forms.RankTierFormSet(request.POST or None, prefix="tiers", initial=tier_rows)
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        try:
            services.rule_update(
                tenant=actor.tenant,
                actor=actor,
                rule=rule,
                regions=form.cleaned_data["regions"],
                **form.service_kwargs(_tier_rows(tiers)),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Rule %(rule)s was saved.") % {"rule": rule})
            return redirect("points:program_detail", pk=rule.program_id)
    return render(
        request,
        "points/rule_form.html",
        {"form": form, "tiers": tiers, "program": rule.program, "rule": rule},
    )


@console_view(Action.POINTS_READ)
def account_list(request):
    actor = request.actor
    program = request.GET.get("program", "")
    filters = {"program": program, "search": request.GET.get("q", "").strip()}
    try:
        accounts = selectors.account_list(tenant=actor.tenant, actor=actor, filters=filters)
    except ValidationFailed as exc:  # a hand-made query string: say so, list them all
        messages.error(request, exc.full_text())
        accounts = selectors.account_list(tenant=actor.tenant, actor=actor)
    return render(
        request,
        "points/account_list.html",
        {
            "page": paginate(request, accounts),
            "programs": selectors.program_list(tenant=actor.tenant, actor=actor),
            "q": request.GET.get("q", ""),
            "program": program,
        },
    )


@console_view(Action.POINTS_READ)
def account_detail(request, pk: int):
    """The account's figures, its ledger (newest first, with order, rule and campaign) and, for
    those who may, the adjustment form."""
    actor = request.actor
    account = selectors.account_get(tenant=actor.tenant, actor=actor, id=pk)
    form = forms.AdjustmentForm(request.POST or None)
    if request.method == "POST":
        actor.require(Action.POINTS_ADJUST)
        if form.is_valid():
            try:
                result = services.points_adjustment_submit(
                    tenant=actor.tenant, actor=actor, account=account, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                if isinstance(result, PointsAdjustmentRequest):
                    messages.info(request, _("Above the bound: another person approves it first."))
                else:
                    messages.success(request, _("The adjustment was recorded."))
                return redirect("points:account_detail", pk=account.pk)
    entries = selectors.entry_list(tenant=actor.tenant, actor=actor, account=account)
    requests: QuerySet[PointsAdjustmentRequest] | list[PointsAdjustmentRequest] = []
    if actor.can(Action.POINTS_ADJUST):
        requests = selectors.adjustment_request_list(tenant=actor.tenant, actor=actor).filter(
            account=account, status=AdjustmentRequestStatus.PENDING
        )
    return render(
        request,
        "points/account_detail.html",
        {
            "account": account,
            "page": paginate(request, entries),
            "form": form,
            "requests": requests,
            "bound": actor.tenant.max_points_adjustment,
        },
    )


@console_view(Action.POINTS_ADJUST)
def adjustment_requests(request):
    """Large adjustments waiting for a second person, then the decided ones."""
    actor = request.actor
    status = request.GET.get("status", AdjustmentRequestStatus.PENDING)
    if status not in AdjustmentRequestStatus.values:
        status = ""
    qs = selectors.adjustment_request_list(
        tenant=actor.tenant, actor=actor, filters={"status": status}
    )
    return render(
        request,
        "points/adjustment_requests.html",
        {"page": paginate(request, qs), "status": status, "statuses": AdjustmentRequestStatus},
    )


REQUEST_ACTIONS: LifeCycleActions = {
    "approve": (services.points_adjustment_approve, gettext_lazy("The adjustment was applied.")),
    "reject": (services.points_adjustment_reject, gettext_lazy("The adjustment was rejected.")),
}


@require_POST
@console_view(Action.POINTS_ADJUST)
def adjustment_request_action(request, pk: int, verb: str):
    actor = request.actor
    adjustment = selectors.adjustment_request_get(tenant=actor.tenant, actor=actor, id=pk)
    service, done = REQUEST_ACTIONS[verb]
    run_action(request, service, done, request=adjustment, note=request.POST.get("note", ""))
    return redirect(safe_next(request, reverse("points:adjustment_requests")))
