"""Reads of prizes and redemptions."""

from django.db.models import QuerySet

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.selectors import get_visible
from points.selectors import account_list

from .models import Lottery, LotteryDraw, Prize, PrizeRedemption

_PRIZE_READERS = (Action.CAMPAIGNS_READ, Action.POINTS_READ, Action.PORTAL_OWN)


def prize_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """The catalog: console readers and merchant staff (the portal shows what they can redeem)."""
    if not any(actor.can(action) for action in _PRIZE_READERS):
        actor.require(Action.CAMPAIGNS_READ)
    return Prize.objects.for_tenant(tenant).select_related("program").order_by("name", "id")


def prize_get(*, tenant: Tenant, actor: Actor, id) -> Prize:
    return get_visible(prize_list(tenant=tenant, actor=actor), pk=id)


def redemption_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """Redemptions of the accounts the actor may read (a staff member: their own)."""
    return (
        PrizeRedemption.objects.for_tenant(tenant)
        .select_related("prize", "staff")
        .filter(account__in=account_list(tenant=tenant, actor=actor).values("pk"))
        .order_by("-id")
    )


def redemption_get(*, tenant: Tenant, actor: Actor, id) -> PrizeRedemption:
    return get_visible(redemption_list(tenant=tenant, actor=actor), pk=id)


def lottery_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    if not any(actor.can(action) for action in _PRIZE_READERS):
        actor.require(Action.CAMPAIGNS_READ)
    return (
        Lottery.objects.for_tenant(tenant)
        .select_related("program")
        .prefetch_related("outcomes__prize")
        .order_by("-id")
    )


def lottery_get(*, tenant: Tenant, actor: Actor, id) -> Lottery:
    return get_visible(lottery_list(tenant=tenant, actor=actor), pk=id)


def draw_list(*, tenant: Tenant, actor: Actor, lottery: Lottery) -> QuerySet:
    """The lottery's draws on accounts the actor may read (a staff member: their own)."""
    return (
        LotteryDraw.objects.for_tenant(tenant)
        .select_related("staff", "outcome", "spend_entry", "award_entry")
        .filter(lottery=lottery, account__in=account_list(tenant=tenant, actor=actor).values("pk"))
        .order_by("-id")
    )
