"""Console pages of budgets: list, approval queue, budget page, forms and life-cycle posts."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.roles import Action
from core.errors import DomainError
from web.pages import LifeCycleActions, console_view, paginate, run_action, safe_next

from . import filters, forms, selectors, services

ACTIONS: LifeCycleActions = {
    "submit": (services.budget_submit, gettext_lazy("Budget submitted for approval.")),
    "approve": (services.budget_approve, gettext_lazy("Budget approved.")),
    "reject": (services.budget_reject, gettext_lazy("Budget rejected.")),
    "reopen": (services.budget_reopen, gettext_lazy("Budget back to draft.")),
    "close": (services.budget_close, gettext_lazy("Budget closed; its unused money is returned.")),
}
ADJUSTMENT_ACTIONS: LifeCycleActions = {
    "approve": (
        services.budget_adjustment_approve,
        gettext_lazy("Adjustment approved and applied."),
    ),
    "reject": (services.budget_adjustment_reject, gettext_lazy("Adjustment rejected.")),
}


@console_view(Action.BUDGETS_READ)
def budget_list(request):
    actor = request.actor
    filterset = filters.BudgetConsoleFilter(
        request.GET,
        queryset=selectors.budget_list(tenant=actor.tenant, actor=actor),
        request=request,
    )
    page = paginate(request, filterset.qs)
    return render(request, "budgets/budget_list.html", {"filter": filterset, "page": page})


@console_view(Action.BUDGETS_READ)
def approval_queue(request):
    """What waits for finance, each with its history so the checker sees what changed."""
    actor = request.actor
    budgets = list(selectors.budget_approval_queue(tenant=actor.tenant, actor=actor))
    for budget in budgets:
        budget.history = selectors.budget_history(tenant=actor.tenant, actor=actor, budget=budget)
    adjustments = selectors.budget_adjustment_queue(tenant=actor.tenant, actor=actor)
    return render(
        request,
        "budgets/approval_queue.html",
        {"budgets": budgets, "adjustments": adjustments},
    )


@console_view(Action.BUDGETS_READ)
def budget_detail(request, pk: int):
    actor = request.actor
    budget = selectors.budget_get(tenant=actor.tenant, actor=actor, id=pk)
    entries = selectors.budget_entry_list(tenant=actor.tenant, actor=actor, budget=budget)
    page = paginate(request, entries)
    return render(
        request,
        "budgets/budget_detail.html",
        {
            "budget": budget,
            "page": page,
            "history": selectors.budget_history(tenant=actor.tenant, actor=actor, budget=budget),
            "adjustments": selectors.budget_adjustment_list(
                tenant=actor.tenant, actor=actor, budget=budget
            ),
            "adjustment_form": forms.AdjustmentForm(),
            "shares": budget_shares(budget),
            "campaigns": selectors.budget_campaign_list(
                tenant=actor.tenant, actor=actor, budget=budget
            ).order_by("-starts_at")[:20],
            # maker-checker: the buttons show only to a finance user who may decide
            "can_decide": actor.can(Action.BUDGETS_APPROVE)
            and actor.user is not None
            and actor.user.pk not in (budget.created_by_id, budget.submitted_by_id),
        },
    )


def budget_shares(budget) -> dict:
    """Percentages of the amount for the reserved / spent / available bar."""
    if budget.amount <= 0:
        return {"spent": 0, "reserved": 0, "available": 0}
    spent = float(budget.spent / budget.amount * 100)
    reserved = float(budget.reserved / budget.amount * 100)
    return {"spent": spent, "reserved": reserved, "available": max(0.0, 100 - spent - reserved)}


@console_view(Action.BUDGETS_DRAFT)
def budget_form(request, pk: int | None = None):
    actor = request.actor
    budget = selectors.budget_get(tenant=actor.tenant, actor=actor, id=pk) if pk else None
    initial = forms.BudgetForm.initial_for(budget) if budget else None
    form = forms.BudgetForm(
        request.POST or None, actor=actor, editing=budget is not None, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            if budget is None:
                budget = services.budget_create(tenant=actor.tenant, actor=actor, **data)
                messages.success(request, _("Budget drafted. Submit it when it is ready."))
            else:
                services.budget_update(tenant=actor.tenant, actor=actor, budget=budget, **data)
                messages.success(request, _("Budget updated."))
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            return redirect("budgets:detail", pk=budget.pk)
    return render(request, "budgets/budget_form.html", {"form": form, "budget": budget})


@require_POST
@console_view(Action.BUDGETS_READ)
def budget_action(request, pk: int, verb: str):
    actor = request.actor
    budget = selectors.budget_get(tenant=actor.tenant, actor=actor, id=pk)
    service, done = ACTIONS[verb]
    run_action(request, service, done, budget=budget, note=request.POST.get("note", ""))
    return redirect(safe_next(request, reverse("budgets:detail", args=[pk])))


@require_POST
@console_view(Action.BUDGETS_DRAFT)
def adjustment_create(request, pk: int):
    actor = request.actor
    budget = selectors.budget_get(tenant=actor.tenant, actor=actor, id=pk)
    form = forms.AdjustmentForm(request.POST)
    if form.is_valid():
        try:
            services.budget_adjustment_create(
                tenant=actor.tenant, actor=actor, budget=budget, **form.cleaned_data
            )
        except DomainError as exc:
            messages.error(request, exc.full_text())
        else:
            messages.success(request, _("Adjustment requested; another finance user approves it."))
    else:
        messages.error(request, _("Give the change of amount and a reason."))
    return redirect("budgets:detail", pk=pk)


@require_POST
@console_view(Action.BUDGETS_READ)
def adjustment_action(request, pk: int, verb: str):
    actor = request.actor
    adjustment = selectors.budget_adjustment_get(tenant=actor.tenant, actor=actor, id=pk)
    service, done = ADJUSTMENT_ACTIONS[verb]
    run_action(request, service, done, adjustment=adjustment, note=request.POST.get("note", ""))
    return redirect(safe_next(request, reverse("budgets:detail", args=[adjustment.budget_id])))
