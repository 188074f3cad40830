"""Console pages of prizes and lotteries (/console/prizes/): the catalog and each prize with its
stock history, lotteries with their prize table and the points a draw returns on average, and
the fulfilment queue of physical prizes. Operators (CAMPAIGNS_MANAGE) create, change and ship;
readers (CAMPAIGNS_READ) see the same pages without the buttons."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.roles import Action
from core.errors import DomainError
from core.selectors import get_visible
from web.pages import LifeCycleActions, console_view, filtered_list, paginate, run_action, safe_next

from . import filters, forms, selectors, services
from .models import LotteryStatus, OutcomeKind, Prize

RECENT_REDEMPTIONS = 10
STOCK_HISTORY = 50

# --- prizes ---------------------------------------------------------------------------------------


@console_view(Action.CAMPAIGNS_READ)
def prize_list(request):
    actor = request.actor
    prizes = selectors.prize_list(tenant=actor.tenant, actor=actor)
    return render(request, "redemption/prize_list.html", {"page": paginate(request, prizes)})


@console_view(Action.CAMPAIGNS_MANAGE)
def prize_create(request):
    actor = request.actor
    form = forms.PrizeForm(request.POST or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        try:
            prize = services.prize_create(tenant=actor.tenant, actor=actor, **form.service_kwargs())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Prize %(name)s was created.") % {"name": prize})
            return redirect("redemption:prize_detail", pk=prize.pk)
    return render(request, "redemption/prize_form.html", {"form": form})


@console_view(Action.CAMPAIGNS_MANAGE)
def prize_edit(request, pk: int):
    actor = request.actor
    prize = selectors.prize_get(tenant=actor.tenant, actor=actor, id=pk)
    form = forms.PrizeEditForm(
        request.POST or None,
        actor=actor,
        prize=prize,
        initial=forms.PrizeEditForm.initial_for(prize),
    )
    if request.method == "POST" and form.is_valid():
        changes = form.service_kwargs()
        try:
            if changes:
                services.prize_update(tenant=actor.tenant, actor=actor, prize=prize, **changes)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Prize %(name)s was saved.") % {"name": prize})
            return redirect("redemption:prize_detail", pk=prize.pk)
    return render(request, "redemption/prize_form.html", {"form": form, "prize": prize})


def _stock_rows(entries) -> list[dict]:
    """Each stock change as people read it: when, who, from → to, the change, and why."""
    rows = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        old, new = before.get("stock"), after.get("stock")
        delta = after.get("delta")
        if delta is None and old is not None and new is not None:
            delta = new - old
        rows.append(
            {
                "entry": entry,
                "created": entry.action == "prize.create",
                "before": old,
                "after": new,
                "delta": delta,
                "reason": entry.note or after.get("reason", ""),
            }
        )
    return rows


def _prize_page(request, prize: Prize, *, stock_form=None):
    actor = request.actor
    history = selectors.prize_stock_history(tenant=actor.tenant, actor=actor, prize=prize)
    redemptions = (
        selectors.redemption_list(tenant=actor.tenant, actor=actor)
        .filter(prize=prize)
        .select_related("staff__merchant")[:RECENT_REDEMPTIONS]
    )
    return render(
        request,
        "redemption/prize_detail.html",
        {
            "prize": prize,
            "stock_rows": _stock_rows(history[:STOCK_HISTORY]),
            "redemptions": redemptions,
            "stock_form": stock_form or forms.StockAdjustForm(),
        },
    )


@console_view(Action.CAMPAIGNS_READ)
def prize_detail(request, pk: int):
    actor = request.actor
    return _prize_page(request, selectors.prize_get(tenant=actor.tenant, actor=actor, id=pk))


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def prize_stock_adjust(request, pk: int):
    """The stock changes by an audited adjustment with its reason; a refusal stays on the form."""
    actor = request.actor
    prize = selectors.prize_get(tenant=actor.tenant, actor=actor, id=pk)
    form = forms.StockAdjustForm(request.POST)
    if form.is_valid():
        try:
            services.prize_stock_adjust(
                tenant=actor.tenant, actor=actor, prize=prize, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("The stock was adjusted."))
            return redirect("redemption:prize_detail", pk=prize.pk)
    return _prize_page(request, prize, stock_form=form)


PRIZE_ACTIONS = {
    "activate": (True, gettext_lazy("The prize can be redeemed again.")),
    "deactivate": (
        False,
        gettext_lazy("The prize can no longer be redeemed; redemptions made stay as they are."),
    ),
}


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def prize_action(request, pk: int, verb: str):
    actor = request.actor
    prize = selectors.prize_get(tenant=actor.tenant, actor=actor, id=pk)
    is_active, done = PRIZE_ACTIONS[verb]
    run_action(request, services.prize_update, done, prize=prize, is_active=is_active)
    return redirect("redemption:prize_detail", pk=prize.pk)


# --- lotteries ------------------------------------------------------------------------------------


@console_view(Action.CAMPAIGNS_READ)
def lottery_list(request):
    actor = request.actor
    page = paginate(request, selectors.lottery_list(tenant=actor.tenant, actor=actor))
    rows = [(lottery, services.expected_points(lottery)) for lottery in page]
    return render(request, "redemption/lottery_list.html", {"page": page, "rows": rows})


def _lottery_get(actor, pk: int):
    """The lottery with its outcomes' prizes and batches, for the odds table."""
    lotteries = selectors.lottery_list(tenant=actor.tenant, actor=actor)
    return get_visible(lotteries.prefetch_related("outcomes__batch"), pk=pk)


def _outcome_formset(request, actor, *, lottery=None):
    outcomes = list(lottery.outcomes.all()) if lottery is not None else []
    prizes = [o.prize for o in outcomes if o.prize is not None]
    batches = [o.batch for o in outcomes if o.batch is not None]
    formset = forms.OutcomeEditFormSet if outcomes else forms.OutcomeFormSet
    return formset(
        request.POST or None,
        prefix="outcomes",
        initial=[forms.OutcomeForm.initial_for(o) for o in outcomes] or None,
        form_kwargs={
            "actor": actor,
            "prizes": forms.prize_choices(actor, current=prizes),
            "batches": forms.batch_choices(actor, current=batches),
        },
    )


def _refusal(form, exc: DomainError) -> list[str]:
    """A service's refusal: the prize table's on the table (returned), the rest on the form."""
    if "outcomes" in exc.fields:
        return [str(message) for message in exc.fields["outcomes"]]
    form.add_domain_error(exc)
    return []


def _lottery_form_page(request, form, outcomes, refusals, lottery=None):
    return render(
        request,
        "redemption/lottery_form.html",
        {"form": form, "outcomes": outcomes, "refusals": refusals, "lottery": lottery},
    )


@console_view(Action.CAMPAIGNS_MANAGE)
def lottery_create(request):
    """A draft lottery and its prize table; it goes live with Activate on its page."""
    actor = request.actor
    form = forms.LotteryForm(request.POST or None, actor=actor)
    outcomes = _outcome_formset(request, actor)
    refusals: list[str] = []
    if request.method == "POST" and all([form.is_valid(), outcomes.is_valid()]):
        try:
            lottery = services.lottery_create(
                tenant=actor.tenant, actor=actor, outcomes=outcomes.outcomes(), **form.cleaned_data
            )
        except DomainError as exc:
            refusals = _refusal(form, exc)
        else:
            messages.success(request, _("Lottery %(name)s was drafted.") % {"name": lottery})
            return redirect("redemption:lottery_detail", pk=lottery.pk)
    return _lottery_form_page(request, form, outcomes, refusals)


@console_view(Action.CAMPAIGNS_MANAGE)
def lottery_edit(request, pk: int):
    """A draft's name, cost and prize table; once live, the odds staff were shown stay."""
    actor = request.actor
    lottery = _lottery_get(actor, pk)
    if lottery.status != LotteryStatus.DRAFT:
        messages.error(request, _("Only a draft lottery can be changed."))
        return redirect("redemption:lottery_detail", pk=lottery.pk)
    form = forms.LotteryEditForm(
        request.POST or None,
        actor=actor,
        initial={"name": lottery.name, "cost_points": lottery.cost_points},
    )
    outcomes = _outcome_formset(request, actor, lottery=lottery)
    refusals: list[str] = []
    if request.method == "POST" and all([form.is_valid(), outcomes.is_valid()]):
        try:
            services.lottery_update(
                tenant=actor.tenant,
                actor=actor,
                lottery=lottery,
                outcomes=outcomes.outcomes(),
                **form.cleaned_data,
            )
        except DomainError as exc:
            refusals = _refusal(form, exc)
        else:
            messages.success(request, _("Lottery %(name)s was saved.") % {"name": lottery})
            return redirect("redemption:lottery_detail", pk=lottery.pk)
    return _lottery_form_page(request, form, outcomes, refusals, lottery)


def _odds(lottery) -> list[tuple]:
    """(outcome, the points it returns per draw on average, or None) as expected_points counts
    them: points at their number, prizes at their points cost."""
    rows = []
    for outcome in lottery.outcomes.all():
        returned = None
        if outcome.kind == OutcomeKind.POINTS:
            returned = outcome.probability * outcome.points
        elif outcome.kind == OutcomeKind.PRIZE:
            returned = outcome.probability * outcome.prize.points_cost
        rows.append((outcome, returned))
    return rows


@console_view(Action.CAMPAIGNS_READ)
def lottery_detail(request, pk: int):
    actor = request.actor
    lottery = _lottery_get(actor, pk)
    expected = services.expected_points(lottery)
    draws = selectors.draw_list(tenant=actor.tenant, actor=actor, lottery=lottery).count()
    return render(
        request,
        "redemption/lottery_detail.html",
        {
            "lottery": lottery,
            "odds": _odds(lottery),
            "expected": expected,
            "inflationary": expected > lottery.cost_points,
            "draws": draws,
        },
    )


LOTTERY_ACTIONS: LifeCycleActions = {
    "activate": (services.lottery_activate, gettext_lazy("The lottery is live: staff can draw.")),
    "end": (services.lottery_end, gettext_lazy("The lottery has ended: nobody can draw any more.")),
}


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def lottery_action(request, pk: int, verb: str):
    actor = request.actor
    lottery = _lottery_get(actor, pk)
    service, done = LOTTERY_ACTIONS[verb]
    run_action(request, service, done, lottery=lottery, note=request.POST.get("note", ""))
    return redirect("redemption:lottery_detail", pk=lottery.pk)


# --- fulfilment -----------------------------------------------------------------------------------


@console_view(Action.CAMPAIGNS_READ)
def fulfilment_list(request):
    """Physical prizes to ship (by default), shipped, delivered or cancelled."""
    actor = request.actor
    redemptions = selectors.redemption_list(tenant=actor.tenant, actor=actor).select_related(
        "staff__merchant"
    )
    return filtered_list(
        request,
        "redemption/fulfilment_list.html",
        filters.FulfilmentConsoleFilter(request.GET, queryset=redemptions, request=request),
    )


def _back_to_queue(request):
    return redirect(safe_next(request, reverse("redemption:fulfilment_list")))


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def fulfilment_ship(request, pk: int):
    actor = request.actor
    redemption = selectors.redemption_get(tenant=actor.tenant, actor=actor, id=pk)
    form = forms.ShipForm(request.POST)
    if form.is_valid():
        run_action(
            request,
            services.redemption_ship,
            gettext_lazy("Marked shipped."),
            redemption=redemption,
            **form.cleaned_data,
        )
    else:
        messages.error(request, _("Give the carrier and the tracking number."))
    return _back_to_queue(request)


FULFILMENT_ACTIONS: LifeCycleActions = {
    "deliver": (services.redemption_deliver, gettext_lazy("Marked delivered.")),
    "cancel": (
        services.redemption_cancel,
        gettext_lazy("Cancelled: the points were refunded and the stock returned."),
    ),
}


@require_POST
@console_view(Action.CAMPAIGNS_MANAGE)
def fulfilment_action(request, pk: int, verb: str):
    actor = request.actor
    redemption = selectors.redemption_get(tenant=actor.tenant, actor=actor, id=pk)
    service, done = FULFILMENT_ACTIONS[verb]
    run_action(request, service, done, redemption=redemption, note=request.POST.get("note", ""))
    return _back_to_queue(request)
