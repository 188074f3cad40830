"""Console pages of prizes and lotteries (/console/prizes/), read-only: the catalog with its
stock and the lotteries with their prize tables and the points a draw returns on average."""

from django.shortcuts import render

from accounts.roles import Action
from web.pages import console_view, paginate

from . import selectors
from .services import expected_points


@console_view(Action.CAMPAIGNS_READ)
def prize_list(request):
    actor = request.actor
    prizes = selectors.prize_list(tenant=actor.tenant, actor=actor)
    return render(request, "redemption/prize_list.html", {"page": paginate(request, prizes)})


@console_view(Action.CAMPAIGNS_READ)
def lottery_list(request):
    actor = request.actor
    page = paginate(request, selectors.lottery_list(tenant=actor.tenant, actor=actor))
    rows = [(lottery, expected_points(lottery)) for lottery in page]
    return render(request, "redemption/lottery_list.html", {"page": page, "rows": rows})
