"""The staff member's prizes, lotteries and redemptions in the portal (/portal/), phone first.

Only merchant staff (Action.PORTAL_OWN) come here, and only for themselves: every object is read
through a selector scoped to their own accounts, so a colleague's redemption or draw is a 404.
The merchant admin sees their staff's redemptions on the reports pages instead.

Redeeming goes through a review page served by the server (quantity, address, total, balance
after), so it asks for confirmation with or without JavaScript; draws and cancels are one button
each with the `data-confirm` modal, whose page already states what the button will do. Each
form carries a fresh request key, so a double tap redeems or draws once.
"""

import re
from functools import wraps

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.roles import Action
from accounts.selectors import staff_own_get
from core.errors import DomainError
from web.pages import paginate, portal_view, run_action

from . import selectors, services
from .models import LotteryStatus
from .portal_forms import RedeemForm, new_request_key

_REQUEST_KEY = re.compile(r"^[0-9a-f]{32}$")


def own_staff_page(view):
    """A merchant staff member's own page, called with their staff record; a login not linked
    to one gets the notice instead."""

    @wraps(view)
    def with_staff(request, *args, **kwargs):
        actor = request.actor
        staff = staff_own_get(tenant=actor.tenant, actor=actor)
        if staff is None:
            return render(request, "portal/prizes/not_linked.html")
        return view(request, staff, *args, **kwargs)

    return portal_view(Action.PORTAL_OWN)(with_staff)


def _balances(request, staff) -> list:
    actor = request.actor
    return list(selectors.staff_balances(tenant=actor.tenant, actor=actor, staff=staff))


@own_staff_page
def prize_catalogue(request, staff):
    """What the staff member can afford first, then what they save up for, then what opens."""
    actor = request.actor
    prizes = selectors.catalogue_for_staff(tenant=actor.tenant, actor=actor, staff=staff)
    context = {"page": paginate(request, prizes), "balances": _balances(request, staff)}
    return render(request, "portal/prizes/catalogue.html", context)


def _prize_page(request, staff, prize, form):
    context = {"prize": prize, "form": form, "balances": _balances(request, staff)}
    return render(request, "portal/prizes/prize.html", context)


@never_cache  # "back" must render a fresh request key, not show the form that was sent
@own_staff_page
def prize_detail(request, staff, id):
    actor = request.actor
    prize = selectors.catalogue_prize_get(tenant=actor.tenant, actor=actor, staff=staff, id=id)
    return _prize_page(request, staff, prize, RedeemForm(prize=prize))


@never_cache
@require_POST
@own_staff_page
def prize_redeem(request, staff, id):
    """The redeem form: first its review page, then (confirmed) the redemption itself. A
    refusal shows the form again with its message; nothing was spent."""
    actor = request.actor
    prize = selectors.catalogue_prize_get(tenant=actor.tenant, actor=actor, staff=staff, id=id)
    form = RedeemForm(request.POST, prize=prize)
    if not form.is_valid():
        form.renew_request_key()
        return _prize_page(request, staff, prize, form)
    values = form.cleaned_data
    if "edit" in request.POST:  # "change" on the review page: the form, filled in
        return _prize_page(request, staff, prize, form)
    if request.POST.get("confirmed") != "1":
        total = prize.points_cost * values["quantity"]
        context = {
            "prize": prize,
            "form": form,
            "total": total,
            "balance_after": prize.balance - total,
        }
        return render(request, "portal/prizes/confirm.html", context)
    try:
        redemption = services.prize_redeem(
            tenant=actor.tenant,
            actor=actor,
            staff=staff,
            prize=prize,
            quantity=values["quantity"],
            shipping_address=values.get("shipping_address", ""),
            request_key=values["request_key"],
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        form.renew_request_key()
        return _prize_page(request, staff, prize, form)
    messages.success(
        request,
        _("Redeemed %(quantity)s of %(prize)s for %(points)s points.")
        % {
            "quantity": redemption.quantity,
            "prize": prize.name,
            "points": intcomma(redemption.points),
        },
    )
    return redirect("portal:redemption", id=redemption.pk)


# --- lotteries ------------------------------------------------------------------------------


@own_staff_page
def lottery_list(request, staff):
    actor = request.actor
    lotteries = selectors.lottery_list_for_staff(tenant=actor.tenant, actor=actor)
    context = {"page": paginate(request, lotteries), "balances": _balances(request, staff)}
    return render(request, "portal/prizes/lotteries.html", context)


def _balance_in(balances: list, program_id: int) -> int:
    return next((a.balance for a in balances if a.program_id == program_id), 0)


@never_cache  # a fresh request key per render (see prize_detail)
@own_staff_page
def lottery_detail(request, staff, id):
    """The cost, the odds table and the expected return before the draw; past draws below."""
    actor = request.actor
    lottery = selectors.lottery_get_for_staff(tenant=actor.tenant, actor=actor, id=id)
    balances = _balances(request, staff)
    draws = selectors.staff_draw_list(
        tenant=actor.tenant, actor=actor, staff=staff, lottery=lottery
    )[:10]
    balance = _balance_in(balances, lottery.program_id)
    context = {
        "lottery": lottery,
        "outcomes": list(lottery.outcomes.all()),
        "expected": services.expected_points(lottery),
        "balance": balance,
        "affordable": balance >= lottery.cost_points,
        "missing": max(lottery.cost_points - balance, 0),
        "draws": draws,
        "request_key": new_request_key(),
    }
    return render(request, "portal/prizes/lottery.html", context)


@require_POST
@own_staff_page
def lottery_draw(request, staff, id):
    actor = request.actor
    lottery = selectors.lottery_get_for_staff(tenant=actor.tenant, actor=actor, id=id)
    request_key = request.POST.get("request_key", "")
    if not _REQUEST_KEY.match(request_key):
        messages.error(request, _("This page is out of date. Check it and draw again."))
        return redirect("portal:lottery", id=lottery.pk)
    try:
        draw = services.lottery_draw(
            tenant=actor.tenant,
            actor=actor,
            lottery=lottery,
            staff=staff,
            request_key=request_key,
        )
    except DomainError as exc:
        messages.error(request, exc.full_text())
        return redirect("portal:lottery", id=lottery.pk)
    return redirect("portal:draw", id=draw.pk)


@never_cache  # "draw again" carries a fresh request key
@own_staff_page
def draw_detail(request, staff, id):
    """What the draw won, and the balance now."""
    actor = request.actor
    draw = selectors.draw_get(tenant=actor.tenant, actor=actor, id=id)
    lottery = draw.lottery
    context = {
        "draw": draw,
        "lottery": lottery,
        "balance": draw.account.balance,
        "can_draw_again": lottery.status == LotteryStatus.ACTIVE
        and draw.account.balance >= lottery.cost_points,
        "request_key": new_request_key(),
    }
    return render(request, "portal/prizes/draw.html", context)


# --- my redemptions -------------------------------------------------------------------------


@own_staff_page
def redemption_list(request, staff):
    actor = request.actor
    redemptions = selectors.redemption_list(tenant=actor.tenant, actor=actor).filter(staff=staff)
    context = {"page": paginate(request, redemptions)}
    return render(request, "portal/prizes/redemptions.html", context)


@own_staff_page
def redemption_detail(request, staff, id):
    actor = request.actor
    redemption = selectors.redemption_get(tenant=actor.tenant, actor=actor, id=id)
    return render(request, "portal/prizes/redemption.html", {"redemption": redemption})


@require_POST
@own_staff_page
def redemption_cancel(request, staff, id):
    actor = request.actor
    redemption = selectors.redemption_get(tenant=actor.tenant, actor=actor, id=id)
    done = _("Cancelled. %(points)s points are back in your balance.") % {
        "points": intcomma(redemption.points)
    }
    run_action(request, services.redemption_cancel, done, redemption=redemption)
    return redirect("portal:redemption", id=redemption.pk)
