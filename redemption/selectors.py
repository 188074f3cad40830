"""Reads of prizes and redemptions."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import NotFoundError
from points.selectors import account_list

from .models import Lottery, LotteryDraw, Prize, PrizeRedemption

_PRIZE_READERS = (Action.CAMPAIGNS_READ, Action.POINTS_READ, Action.PORTAL_OWN)


def prize_list(*, tenant, actor: Actor) -> QuerySet:
    """The catalog: console readers and merchant staff (the portal shows what they can redeem)."""
    if not any(actor.can(action) for action in _PRIZE_READERS):
        actor.require(Action.CAMPAIGNS_READ)
    return Prize.objects.for_tenant(tenant).select_related("program").order_by("name", "id")


def prize_get(*, tenant, actor: Actor, id) -> Prize:
    prize = prize_list(tenant=tenant, actor=actor).filter(pk=id).first()
    if prize is None:
        raise NotFoundError(_("Not found."))
    return prize


def redemption_list(*, tenant, actor: Actor) -> QuerySet:
    """Redemptions of the accounts the actor may read (a staff member: their own)."""
    return (
        PrizeRedemption.objects.for_tenant(tenant)
        .select_related("prize", "staff")
        .filter(account__in=account_list(tenant=tenant, actor=actor).values("pk"))
        .order_by("-id")
    )


def redemption_get(*, tenant, actor: Actor, id) -> PrizeRedemption:
    redemption = redemption_list(tenant=tenant, actor=actor).filter(pk=id).first()
    if redemption is None:
        raise NotFoundError(_("Not found."))
    return redemption


def lottery_list(*, tenant, actor: Actor) -> QuerySet:
    if not any(actor.can(action) for action in _PRIZE_READERS):
        actor.require(Action.CAMPAIGNS_READ)
    return (
        Lottery.objects.for_tenant(tenant)
        .select_related("program")
        .prefetch_related("outcomes__prize")
        .order_by("-id")
    )


def lottery_get(*, tenant, actor: Actor, id) -> Lottery:
    lottery = lottery_list(tenant=tenant, actor=actor).filter(pk=id).first()
    if lottery is None:
        raise NotFoundError(_("Not found."))
    return lottery


def draw_list(*, tenant, actor: Actor, lottery: Lottery) -> QuerySet:
    """The lottery's draws on accounts the actor may read (a staff member: their own)."""
    return (
        LotteryDraw.objects.for_tenant(tenant)
        .select_related("staff", "outcome", "spend_entry", "award_entry")
        .filter(lottery=lottery, account__in=account_list(tenant=tenant, actor=actor).values("pk"))
        .order_by("-id")
    )
