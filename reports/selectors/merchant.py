"""The merchant view (SPEC §5): what each of a merchant's staff earned, holds, spent and
redeemed, so rewards to staff are never hidden from the merchant who pays for them."""

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.utils import timezone

from accounts.models import MerchantStaff, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from accounts.selectors import staff_list
from core.selectors import filtered, get_visible
from points.models import (
    EntryKind,
    LedgerEntry,
    Lot,
    LotStatus,
    PointsAccount,
)
from points.periods import EXPIRING_SOON_DAYS
from points.selectors import account_list
from redemption.models import LotteryDraw, PrizeRedemption, RedemptionStatus
from redemption.selectors import redemption_list

from ..filters import StaffOverviewFilter
from ._common import _per_staff

# The overview's figures, in the order the pages and the export show them.
STAFF_FIGURES = (
    "earned",
    "pending",
    "spent",
    "balance",
    "expiring",
    "redemptions",
    "draws",
)


def _annotated(queryset: QuerySet, *, tenant: Tenant, now: datetime) -> QuerySet:
    accounts = PointsAccount.objects.for_tenant(tenant)
    entries = LedgerEntry.objects.for_tenant(tenant)
    # Spent on prizes and draws, net of cancelled redemptions' refunds. A lottery's points win
    # is a credit (an `adjust`), so it shows in the balance, not as less spent.
    net_spent = Sum(
        Case(
            When(kind=EntryKind.REFUND, then=-F("points")),
            default=F("points"),
            output_field=BigIntegerField(),
        )
    )
    return queryset.annotate(
        earned=_per_staff(accounts, "staff", Sum("lifetime_earned")),
        pending=_per_staff(accounts, "staff", Sum("pending")),
        balance=_per_staff(accounts, "staff", Sum("balance")),
        account_count=_per_staff(accounts, "staff", Count("pk")),  # programs they are in
        spent=_per_staff(
            entries.filter(kind__in=[EntryKind.SPEND, EntryKind.REFUND]),
            "account__staff",
            net_spent,
        ),
        # As the account pages count "expiring soon" (points.selectors): open lots due by then.
        expiring=_per_staff(
            Lot.objects.for_tenant(tenant).filter(
                status=LotStatus.OPEN,
                expires_at__lte=now + timedelta(days=EXPIRING_SOON_DAYS),
            ),
            "account__staff",
            Sum("remaining"),
        ),
        redemptions=_per_staff(
            PrizeRedemption.objects.for_tenant(tenant).filter(status=RedemptionStatus.REDEEMED),
            "staff",
            Count("pk"),
        ),
        draws=_per_staff(LotteryDraw.objects.for_tenant(tenant), "staff", Count("pk")),
        last_activity=Subquery(
            entries.filter(account__staff=OuterRef("pk")).order_by("-id").values("created_at")[:1]
        ),
    )


def merchant_staff_overview(
    *,
    tenant: Tenant,
    actor: Actor,
    filters: Mapping | None = None,
    now: datetime | None = None,
) -> QuerySet:
    """The staff the actor may see (a merchant admin: their merchant's), by name, each with
    its figures in the same query: `earned` (lifetime), `pending`, `spent` (net of refunds),
    `balance` (usable), `expiring` (in the next 30 days), `redemptions` (not cancelled),
    `draws` and `last_activity` (the latest ledger entry, None if none); all summed over the
    staff member's points accounts, of which there are `account_count` (one per program).
    `filters`: q, is_active, sort (StaffOverviewFilter)."""
    actor.require(Action.POINTS_READ)
    staff = staff_list(tenant=tenant, actor=actor).order_by("name", "code", "pk")
    qs = _annotated(staff, tenant=tenant, now=now or timezone.now())
    return filtered(StaffOverviewFilter, filters, qs)


def merchant_staff_totals(
    *,
    tenant: Tenant,
    actor: Actor,
    filters: Mapping | None = None,
    now: datetime | None = None,
) -> dict:
    """The overview's column sums, in one aggregate query: `staff` (how many), each figure of
    STAFF_FIGURES and `last_activity` (the latest of all)."""
    overview = merchant_staff_overview(tenant=tenant, actor=actor, filters=filters, now=now)
    # Each sum under an alias of its own: named like the annotation it sums, Django would read
    # the outer column instead of the annotation ("column earned does not exist").
    sums = {f"total_{name}": Sum(name, default=0) for name in STAFF_FIGURES}
    totals = overview.order_by().aggregate(
        total_staff=Count("pk"), **sums, total_last_activity=Max("last_activity")
    )
    return {name.removeprefix("total_"): value for name, value in totals.items()}


def merchant_staff_get(
    *, tenant: Tenant, actor: Actor, code: str, now: datetime | None = None
) -> MerchantStaff:
    """One staff member of the overview, with its figures; another merchant's (or tenant's)
    staff member is not found, the same as a missing one."""
    return get_visible(merchant_staff_overview(tenant=tenant, actor=actor, now=now), code=code)


def staff_redemption_list(*, tenant: Tenant, actor: Actor, staff: MerchantStaff) -> QuerySet:
    """The staff member's prize redemptions the actor may read, newest first."""
    return redemption_list(tenant=tenant, actor=actor).filter(staff=staff)


def staff_draw_list(*, tenant: Tenant, actor: Actor, staff: MerchantStaff) -> QuerySet:
    """The staff member's lottery draws on accounts the actor may read, newest first: scoped
    as redemption.selectors.draw_list, across every lottery."""
    return (
        LotteryDraw.objects.for_tenant(tenant)
        .select_related("lottery", "outcome__prize", "coupon__batch", "spend_entry", "award_entry")
        .filter(staff=staff, account__in=account_list(tenant=tenant, actor=actor).values("pk"))
        .order_by("-id")
    )
