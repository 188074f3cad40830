"""Console pages of points (/console/points/): programs, the rule editor with its tier table,
accounts with search, an account's ledger with what caused each entry, adjustments."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.roles import Action
from accounts.views import console_view
from campaigns.selectors import campaign_get
from core.errors import DomainError

from . import forms, selectors, services

PAGE_SIZE = 25


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@console_view(Action.POINTS_READ)
def program_list(request):
    actor = request.actor
    programs = selectors.program_list(tenant=actor.tenant, actor=actor)
    return render(request, "points/program_list.html", {"page": _page(request, programs)})


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


@console_view(Action.POINTS_READ)
def program_detail(request, pk: int):
    actor = request.actor
    program = selectors.program_get(tenant=actor.tenant, actor=actor, id=pk)
    rules = selectors.rule_list(tenant=actor.tenant, actor=actor, program=program.pk)
    return render(request, "points/program_detail.html", {"program": program, "rules": rules})


@console_view(Action.CAMPAIGNS_MANAGE)
def rule_create(request, pk: int):
    """The rule editor: the rule's fields and, for first-N rules, a table of rank tiers."""
    actor = request.actor
    program = selectors.program_get(tenant=actor.tenant, actor=actor, id=pk)
    form = forms.RuleForm(request.POST or None, actor=actor)
    tiers = forms.RankTierFormSet(request.POST or None, prefix="tiers")
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        rows = [
            {"from": row["rank_from"], "to": row["rank_to"], "points": row["points"]}
            for row in tiers.cleaned_data
            if row
        ]
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
                **form.service_kwargs(rows),
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Rule %(rule)s was created.") % {"rule": rule})
            return redirect("points:program_detail", pk=program.pk)
    return render(
        request, "points/rule_form.html", {"form": form, "tiers": tiers, "program": program}
    )


@console_view(Action.POINTS_READ)
def account_list(request):
    actor = request.actor
    program = request.GET.get("program", "")
    accounts = selectors.account_list(
        tenant=actor.tenant,
        actor=actor,
        program=program if program.isdigit() else None,
        q=request.GET.get("q", "").strip(),
    )
    return render(
        request,
        "points/account_list.html",
        {
            "page": _page(request, accounts),
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
                services.points_adjust(
                    tenant=actor.tenant, actor=actor, account=account, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _("The adjustment was recorded."))
                return redirect("points:account_detail", pk=account.pk)
    entries = selectors.entry_list(tenant=actor.tenant, actor=actor, account=account)
    return render(
        request,
        "points/account_detail.html",
        {"account": account, "page": _page(request, entries), "form": form},
    )
