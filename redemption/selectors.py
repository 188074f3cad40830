"""Reads of prizes and redemptions, and the staff portal's catalogue and lotteries."""

from datetime import datetime

from django.db.models import (
    BooleanField,
    Case,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import MerchantStaff, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import NotFoundError
from core.models import AuditEntry
from core.selectors import get_visible
from points.models import Holder, PointsAccount
from points.selectors import account_list

from .models import (
    Lottery,
    LotteryDraw,
    LotteryOutcome,
    LotteryStatus,
    Prize,
    PrizeRedemption,
    RedemptionStatus,
)

_PRIZE_READERS = (Action.CAMPAIGNS_READ, Action.POINTS_READ, Action.PORTAL_OWN)


def prize_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """The catalog: console readers and merchant staff (the portal shows what they can redeem)."""
    if not any(actor.can(action) for action in _PRIZE_READERS):
        actor.require(Action.CAMPAIGNS_READ)
    return Prize.objects.for_tenant(tenant).select_related("program").order_by("name", "id")


def prize_get(*, tenant: Tenant, actor: Actor, id) -> Prize:
    return get_visible(prize_list(tenant=tenant, actor=actor), pk=id)


def prize_stock_history(*, tenant: Tenant, actor: Actor, prize: Prize) -> QuerySet:
    """How the prize's stock came about (its creation, then each adjustment), newest first,
    from the audit log: whoever may read the prize reads it, as a budget's history."""
    prize_get(tenant=tenant, actor=actor, id=prize.pk)
    return (
        AuditEntry.objects.for_tenant(tenant)
        .filter(
            object_type=Prize._meta.label_lower,
            object_id=str(prize.pk),
            action__in=("prize.create", "prize.stock_adjust"),
        )
        .order_by("-created_at", "-id")
    )


def redemption_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """Redemptions of the accounts the actor may read (a staff member: their own), with the
    prize, the staff member and a coupon prize's coupon and batch (a shared code lives there)."""
    return (
        PrizeRedemption.objects.for_tenant(tenant)
        .select_related("prize", "staff", "coupon__batch")
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
        .prefetch_related("outcomes__prize", "outcomes__batch")
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


# A draw's result in words needs its outcome's prize or batch and the points it credited.
_DRAW_RELATED = (
    "lottery",
    "account",
    "outcome__prize",
    "outcome__batch",
    "spend_entry",
    "award_entry",
    "coupon__batch",
)


def draw_get(*, tenant: Tenant, actor: Actor, id) -> LotteryDraw:
    """One draw on an account the actor may read (a staff member: their own; else not found)."""
    draws = (
        LotteryDraw.objects.for_tenant(tenant)
        .select_related(*_DRAW_RELATED)
        .filter(account__in=account_list(tenant=tenant, actor=actor).values("pk"))
    )
    return get_visible(draws, pk=id)


# --- the staff portal -----------------------------------------------------------------------

# Catalogue groups, in the order the page shows them.
CAN_AFFORD, SAVING_UP, COMING_SOON = 0, 1, 2


def _require_own(actor: Actor, staff: MerchantStaff) -> None:
    """Points readers (operators, the merchant admin) read the staff of their data scope; a
    staff member only themselves. Anyone else is "not found"."""
    if actor.can(Action.POINTS_READ):
        data_scope.require_staff(actor, staff)
        return
    if actor.user is None or staff.user_id != actor.user.pk:
        raise NotFoundError(_("Not found."))


def staff_balances(*, tenant: Tenant, actor: Actor, staff: MerchantStaff) -> QuerySet:
    """The staff member's accounts in staff programs, with `expiring_soon`, by program."""
    _require_own(actor, staff)
    return (
        account_list(tenant=tenant, actor=actor)
        .filter(staff=staff, program__holder=Holder.STAFF)
        .order_by("program__name", "id")
    )


def _staff_prizes(*, tenant: Tenant, actor: Actor, staff: MerchantStaff, now: datetime):
    """Prizes of staff programs, each with what this staff member sees about it:

    `balance` (their usable points in the prize's program), `taken` (how many they hold, not
    cancelled), `limit_left` (None: no per-holder limit), `missing` (points still to earn for
    one), `is_open` (redeemable by its window and switch), `upcoming` (opens later), `can_redeem`
    (one could be redeemed right now), `shelf` (CAN_AFFORD, SAVING_UP, COMING_SOON).
    Every figure comes from one query, however many prizes.
    """
    _require_own(actor, staff)
    balance = Subquery(
        PointsAccount.objects.for_tenant(tenant)
        .filter(program=OuterRef("program_id"), staff=staff)
        .values("balance")[:1]
    )
    taken = Subquery(
        PrizeRedemption.objects.for_tenant(tenant)
        .filter(prize=OuterRef("pk"), staff=staff, status=RedemptionStatus.REDEEMED)
        .order_by()
        .values("prize")
        .annotate(s=Sum("quantity"))
        .values("s")
    )
    upcoming = Q(available_from__gt=now)
    ended = Q(available_until__lte=now)
    return (
        prize_list(tenant=tenant, actor=actor)
        .filter(program__holder=Holder.STAFF)
        .annotate(balance=Coalesce(balance, 0), taken=Coalesce(taken, 0))
        .annotate(
            limit_left=Case(
                When(per_holder_limit__isnull=True, then=None),
                default=Greatest(F("per_holder_limit") - F("taken"), 0),
                output_field=IntegerField(),
            ),
            missing=Greatest(F("points_cost") - F("balance"), 0),
            upcoming=Case(When(upcoming, then=True), default=False, output_field=BooleanField()),
            is_open=Case(
                When(Q(is_active=True) & ~upcoming & ~ended, then=True),
                default=False,
                output_field=BooleanField(),
            ),
        )
        .annotate(
            can_redeem=Case(
                When(
                    Q(is_open=True, missing=0, stock__gte=1)
                    & (Q(limit_left__isnull=True) | Q(limit_left__gte=1)),
                    then=True,
                ),
                default=False,
                output_field=BooleanField(),
            ),
            shelf=Case(
                When(upcoming=True, then=Value(COMING_SOON)),
                When(missing=0, then=Value(CAN_AFFORD)),
                default=Value(SAVING_UP),
                output_field=IntegerField(),
            ),
        )
    )


def catalogue_for_staff(
    *, tenant: Tenant, actor: Actor, staff: MerchantStaff, now: datetime | None = None
) -> QuerySet:
    """The staff member's catalogue: active prizes of staff programs open now or later, what
    they can afford first (redeemable ones before those out of stock or at their limit), then
    the nearest to afford, then what opens soonest. Figures as in `_staff_prizes`."""
    now = now or timezone.now()
    return (
        _staff_prizes(tenant=tenant, actor=actor, staff=staff, now=now)
        .filter(Q(available_until__isnull=True) | Q(available_until__gt=now), is_active=True)
        .order_by("shelf", "-can_redeem", "missing", "available_from", "points_cost", "name", "id")
    )


def catalogue_prize_get(
    *, tenant: Tenant, actor: Actor, staff: MerchantStaff, id, now: datetime | None = None
) -> Prize:
    """One prize of a staff program with the staff member's figures, open or not (the page
    says why it can't be redeemed)."""
    now = now or timezone.now()
    return get_visible(_staff_prizes(tenant=tenant, actor=actor, staff=staff, now=now), pk=id)


def _staff_lotteries(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """Lotteries of staff programs, each outcome with its prize, its batch and `left` (what its
    inventory still holds; None: unlimited), in one prefetch query."""
    outcomes = (
        LotteryOutcome.objects.for_tenant(tenant)
        .select_related("prize", "batch")
        .annotate(
            left=Case(
                When(inventory__isnull=True, then=None),
                default=Greatest(F("inventory") - F("won"), 0),
                output_field=IntegerField(),
            )
        )
        .order_by("id")
    )
    return (
        lottery_list(tenant=tenant, actor=actor)
        .filter(program__holder=Holder.STAFF)
        .prefetch_related(None)
        .prefetch_related(Prefetch("outcomes", queryset=outcomes))
    )


def lottery_list_for_staff(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """Active lotteries of staff programs, cheapest first, with their outcomes."""
    return (
        _staff_lotteries(tenant=tenant, actor=actor)
        .filter(status=LotteryStatus.ACTIVE)
        .order_by("cost_points", "name", "id")
    )


def lottery_get_for_staff(*, tenant: Tenant, actor: Actor, id) -> Lottery:
    """A lottery of a staff program that is or was open (a draft is not found)."""
    lotteries = _staff_lotteries(tenant=tenant, actor=actor).exclude(status=LotteryStatus.DRAFT)
    return get_visible(lotteries, pk=id)


def staff_draw_list(*, tenant: Tenant, actor: Actor, staff: MerchantStaff, lottery: Lottery):
    """The staff member's draws of a lottery, newest first, ready to be shown in words."""
    _require_own(actor, staff)
    return (
        draw_list(tenant=tenant, actor=actor, lottery=lottery)
        .filter(staff=staff)
        .select_related(*_DRAW_RELATED)
    )
