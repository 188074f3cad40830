"""Report reads. The merchant view (SPEC §5): what each of a merchant's staff earned, holds,
spent and redeemed, so rewards to staff are never hidden from the merchant who pays for them."""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Merchant, MerchantStaff, Region, Tenant
from accounts.permissions import Actor
from accounts.regions import region_descendant_ids
from accounts.roles import Action
from accounts.selectors import staff_list
from campaigns.checks import local_days
from campaigns.models import Campaign
from core.selectors import filtered, get_visible
from coupons.models import CouponBatch
from coupons.selectors import redemption_list as coupon_redemption_list
from orders.models import Order
from points.engine import CENT
from points.models import (
    AwardStatus,
    EntryKind,
    LedgerEntry,
    Lot,
    LotStatus,
    OrderAward,
    PointsAccount,
    PointsProgram,
    RuleKind,
)
from points.periods import EXPIRING_SOON_DAYS, month_start
from points.selectors import account_list
from redemption.models import LotteryDraw, PrizeRedemption, RedemptionStatus
from redemption.selectors import redemption_list

from .filters import StaffOverviewFilter
from .models import Settlement, SettlementStatus

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


def _per_staff(queryset: QuerySet, staff_path: str, total) -> Coalesce:
    """A correlated subquery: `total` over the rows of `queryset` whose `staff_path` is the
    outer staff member, 0 when there are none. One per figure keeps the overview one query."""
    return Coalesce(
        Subquery(
            queryset.filter(**{staff_path: OuterRef("pk")})
            .order_by()
            .values(staff_path)
            .annotate(total=total)
            .values("total")
        ),
        Value(0),
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


# --- the points report (SPEC §5): the table the failed campaign's review assembled by hand ---

# Points per holder, as the review counted them (and the campaign check's simulation does).
POINTS_BUCKETS = ((0, 0, "0"), (1, 99, "1-99"), (100, 999, "100-999"), (1000, 9999, "1,000-9,999"))
POINTS_BUCKET_TOP = (10_000, "≥ 10,000")


@dataclass(frozen=True)
class ReportWindow:
    """A report's parameters, validated (reports.serializers): the period [start, end) of the
    tenant's days, optionally a region (with all below it) or a merchant, and what the report
    itself is of."""

    start: datetime
    end: datetime
    region: Region | None = None
    merchant: Merchant | None = None
    program: PointsProgram | None = None  # the points report's (always given there)
    campaign: Campaign | None = None  # the reconciliation's, optional
    batch: CouponBatch | None = None

    def days(self, tenant: Tenant) -> dict:
        """The period as the tenant's first and last day, both included."""
        last = self.end - timedelta(microseconds=1)
        return {
            "from": timezone.localtime(self.start, tenant.zone).date(),
            "to": timezone.localtime(last, tenant.zone).date(),
        }


def _report_staff(tenant: Tenant, actor: Actor, window: ReportWindow) -> QuerySet:
    """The staff the report covers: those the actor may see, narrowed by region or merchant."""
    actor.require(Action.REPORTS_READ)
    staff = staff_list(tenant=tenant, actor=actor)
    if window.region is not None:
        below = region_descendant_ids(tenant=tenant, region_ids=[window.region.pk])
        staff = staff.filter(merchant__region_id__in=below)
    if window.merchant is not None:
        staff = staff.filter(merchant=window.merchant)
    return staff


def points_report_rows(*, tenant: Tenant, actor: Actor, window: ReportWindow) -> QuerySet:
    """One row per eligible staff member (staff of a merchant with orders in the period), by
    merchant and code, with the period's figures in the program: `earned`, `taken_back`
    (cancelled or reversed by closed orders), `net` (earned less taken back), `expired`,
    `spent` (net of refunds), `regions` (regions unlocked: distinct regions where a first-N
    rule paid them), and now: `balance`, `pending`."""
    program = cast(PointsProgram, window.program)
    staff = _report_staff(tenant, actor, window)
    ordering = Order.objects.for_tenant(tenant).filter(
        placed_at__gte=window.start, placed_at__lt=window.end
    )
    eligible = staff.filter(merchant_id__in=ordering.values("merchant_id"))
    entries = LedgerEntry.objects.for_tenant(tenant).filter(
        account__program=program, created_at__gte=window.start, created_at__lt=window.end
    )
    accounts = PointsAccount.objects.for_tenant(tenant).filter(program=program)
    unlocked = OrderAward.objects.for_tenant(tenant).filter(
        account__program=program,
        rule__kind=RuleKind.REGION_FIRST_N,
        status=AwardStatus.ACTIVE,
        points__gt=0,
        placed_at__gte=window.start,
        placed_at__lt=window.end,
    )
    points = Sum("points")
    earned = _per_staff(entries.filter(kind=EntryKind.EARN), "account__staff", points)
    taken_back = _per_staff(
        entries.filter(kind__in=[EntryKind.CANCEL, EntryKind.REVERSE]), "account__staff", points
    )
    return (
        eligible.annotate(
            earned=earned,
            taken_back=taken_back,
            expired=_per_staff(entries.filter(kind=EntryKind.EXPIRE), "account__staff", points),
            spent=_per_staff(
                entries.filter(kind__in=[EntryKind.SPEND, EntryKind.REFUND]),
                "account__staff",
                Sum(
                    Case(
                        When(kind=EntryKind.REFUND, then=-F("points")),
                        default=F("points"),
                        output_field=BigIntegerField(),
                    )
                ),
            ),
            regions=_per_staff(unlocked, "account__staff", Count("region_id", distinct=True)),
            balance=_per_staff(accounts, "staff", Sum("balance")),
            pending=_per_staff(accounts, "staff", Sum("pending")),
        )
        .annotate(net=F("earned") - F("taken_back"))
        .select_related("merchant")
        .order_by("merchant__code", "code", "pk")
    )


def _bucket(points: int) -> str:
    return next((b[2] for b in POINTS_BUCKETS if b[0] <= points <= b[1]), POINTS_BUCKET_TOP[1])


def points_report(
    *, tenant: Tenant, actor: Actor, window: ReportWindow, now: datetime | None = None
) -> dict:
    """The points report of `window`: over the eligible staff (points_report_rows), the
    distribution of points per staff member (`histogram`), the share who earned anything,
    regions unlocked per staff member; the period's flows (earned, taken back, expired,
    spent, adjusted) and the redemption rate; and now: outstanding points, their money value
    at the program's point value (liability), and the points expiring by the end of this month
    and in the next one."""
    now = now or timezone.now()
    program = cast(PointsProgram, window.program)  # the points report's filters give one
    histogram = Counter({label: 0 for *_, label in POINTS_BUCKETS} | {POINTS_BUCKET_TOP[1]: 0})
    unlocked: Counter = Counter()
    eligible = earning = redeeming = 0
    for row in points_report_rows(tenant=tenant, actor=actor, window=window).values(
        "earned", "taken_back", "net", "expired", "spent", "regions", "balance", "pending"
    ):
        eligible += 1
        earning += row["net"] > 0
        redeeming += row["spent"] > 0
        histogram[_bucket(max(row["net"], 0))] += 1
        if row["regions"]:
            unlocked[row["regions"]] += 1
    # The flows and the stock count every staff member in scope, eligible in the period or not
    # (points expire and are spent without an order).
    staff = _report_staff(tenant, actor, window)
    accounts = PointsAccount.objects.for_tenant(tenant).filter(program=program, staff__in=staff)
    stock = accounts.aggregate(balance=Sum("balance", default=0), pending=Sum("pending", default=0))
    flows = _points_flows(tenant, accounts, window)
    # A lot due at a month's first midnight is gone by the end of the month before it.
    next_month = _month_after(now, tenant.zone)
    after_next = _month_after(next_month, tenant.zone)
    expiring = (
        Lot.objects.for_tenant(tenant)
        .filter(account__in=accounts, status__in=[LotStatus.OPEN, LotStatus.PENDING])
        .aggregate(
            this_month=_remaining(expires_at__gt=now, expires_at__lte=next_month),
            next_month=_remaining(expires_at__gt=next_month, expires_at__lte=after_next),
        )
    )
    outstanding = stock["balance"] + stock["pending"]
    return {
        "program": {"id": program.pk, "name": program.name, "point_value": program.point_value},
        "period": window.days(tenant),
        "eligible_staff": eligible,
        "earning_staff": earning,
        "share_earning": _share(earning, eligible),
        "histogram": [{"bucket": label, "staff": n} for label, n in histogram.items()],
        "regions_unlocked": [{"regions": k, "staff": unlocked[k]} for k in sorted(unlocked)],
        **flows,
        "redemption_rate": _share(flows["spent"], flows["earned"]),
        "redeeming_staff": redeeming,
        "share_redeeming": _share(redeeming, earning),
        "balance": stock["balance"],
        "pending": stock["pending"],
        "outstanding": outstanding,
        "liability": (outstanding * program.point_value).quantize(CENT),
        "expiring_this_month": expiring["this_month"],
        "expiring_next_month": expiring["next_month"],
        "next_month": next_month,
    }


def _remaining(**due) -> Sum:
    return Sum("remaining", filter=Q(**due), default=0)


def _points_flows(tenant: Tenant, accounts: QuerySet, window: ReportWindow) -> dict:
    """The period's ledger flows of `accounts`, in one aggregate query."""
    entries = LedgerEntry.objects.for_tenant(tenant).filter(
        account__in=accounts, created_at__gte=window.start, created_at__lt=window.end
    )

    def total(*kinds):
        return Sum("points", filter=Q(kind__in=kinds), default=0)

    flows = entries.aggregate(
        earned=total(EntryKind.EARN),
        taken_back=total(EntryKind.CANCEL, EntryKind.REVERSE),
        expired=total(EntryKind.EXPIRE),
        spent_gross=total(EntryKind.SPEND),
        refunded=total(EntryKind.REFUND),
        # credits and debits by hand (and lottery wins): the only kind whose sign varies
        adjusted=Sum(
            F("usable_delta") + F("pending_delta"), filter=Q(kind=EntryKind.ADJUST), default=0
        ),
    )
    return {
        "earned": flows["earned"],
        "taken_back": flows["taken_back"],
        "net": flows["earned"] - flows["taken_back"],
        "expired": flows["expired"],
        "spent": flows["spent_gross"] - flows["refunded"],
        "adjusted": flows["adjusted"],
    }


def _month_after(moment: datetime, zone) -> datetime:
    """The start of the calendar month after `moment`'s, in the tenant's zone."""
    return month_start(month_start(moment, zone) + timedelta(days=32), zone)


def _share(part: int, whole: int) -> Decimal:
    """part / whole to four places (0 when there is no whole)."""
    return (Decimal(part) / whole).quantize(Decimal("0.0001")) if whole else Decimal(0)


# --- finance: the reconciliation of coupon redemptions (SPEC §5) ------------------------------

MONEY_ZERO = Decimal("0.00")


def _reconciled(window: ReportWindow) -> dict:
    """The reconciliation's figures, as aggregates over redemptions: those redeemed
    in the period (count, discount, order amount), those rolled back in it (count, discount,
    whenever they were redeemed), and the net discount."""
    redeemed = Q(redeemed_at__gte=window.start, redeemed_at__lt=window.end)
    rolled_back = Q(rolled_back_at__gte=window.start, rolled_back_at__lt=window.end)
    return {
        "redemptions": Count("pk", filter=redeemed),
        # named apart from the columns they sum: an annotation would shadow its column
        "redeemed_discount": Sum("discount", filter=redeemed, default=MONEY_ZERO),
        "redeemed_order_amount": Sum("order_amount", filter=redeemed, default=MONEY_ZERO),
        "rollbacks": Count("pk", filter=rolled_back),
        "rolled_back_discount": Sum("discount", filter=rolled_back, default=MONEY_ZERO),
        # of those, the ones redeemed before the period: adjustments of an earlier one
        "late_rollbacks": Count("pk", filter=rolled_back & Q(redeemed_at__lt=window.start)),
    }


def _reconciliation_redemptions(tenant: Tenant, actor: Actor, window: ReportWindow) -> QuerySet:
    """The actor's redemptions (coupons.selectors.redemption_list) that the period touches,
    narrowed by campaign, batch, merchant and region (the order's, with all below it)."""
    actor.require(Action.REPORTS_READ)
    qs = coupon_redemption_list(tenant=tenant, actor=actor).filter(
        Q(redeemed_at__gte=window.start, redeemed_at__lt=window.end)
        | Q(rolled_back_at__gte=window.start, rolled_back_at__lt=window.end)
    )
    if window.campaign is not None:
        qs = qs.filter(batch__campaign=window.campaign)
    if window.batch is not None:
        qs = qs.filter(batch=window.batch)
    if window.merchant is not None:
        qs = qs.filter(merchant=window.merchant)
    if window.region is not None:
        qs = qs.filter(
            region_id__in=region_descendant_ids(tenant=tenant, region_ids=[window.region.pk])
        )
    return qs.order_by()


def reconciliation_rows(*, tenant: Tenant, actor: Actor, window: ReportWindow) -> QuerySet:
    """One row per merchant and batch with redemptions or rollbacks in the period, by merchant
    code and batch: `merchant__code`, `merchant__name` (None: redeemed without a merchant),
    `batch_id`, `batch__name`, `batch__campaign__name`, the figures of _reconciled and
    `net_discount` (discount less the rolled back)."""
    return (
        _reconciliation_redemptions(tenant, actor, window)
        .values(
            "merchant__code", "merchant__name", "batch_id", "batch__name", "batch__campaign__name"
        )
        .annotate(**_reconciled(window))
        .annotate(net_discount=F("redeemed_discount") - F("rolled_back_discount"))
        .order_by(F("merchant__code").asc(nulls_first=True), "batch__name", "batch_id")
    )


def reconciliation_totals(*, tenant: Tenant, actor: Actor, window: ReportWindow) -> dict:
    """The rows' sums, in one aggregate query."""
    totals = _reconciliation_redemptions(tenant, actor, window).aggregate(**_reconciled(window))
    totals["net_discount"] = totals["redeemed_discount"] - totals["rolled_back_discount"]
    return totals


def reconciliation(*, tenant: Tenant, actor: Actor, window: ReportWindow) -> dict:
    """The period, its totals and its rows (reconciliation_rows)."""
    return {
        "period": window.days(tenant),
        "totals": reconciliation_totals(tenant=tenant, actor=actor, window=window),
        "rows": list(reconciliation_rows(tenant=tenant, actor=actor, window=window)),
    }


# --- settlements ------------------------------------------------------------------------------


def settlement_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """The tenant's settlements, latest period first (money figures: finance, admins, auditors
    — a regional operator's report scope cannot hold a tenant-wide statement)."""
    actor.require(Action.REPORTS_READ)
    if actor.region_ids is not None or actor.merchant_id is not None:
        return Settlement.objects.for_tenant(tenant).none()
    return Settlement.objects.for_tenant(tenant).select_related(
        "merchant", "prepared_by", "closed_by"
    )


def settlement_get(*, tenant: Tenant, actor: Actor, id) -> Settlement:
    return get_visible(settlement_list(tenant=tenant, actor=actor), pk=id)


def settlement_figures(*, tenant: Tenant, settlement: Settlement) -> dict:
    """What a settlement states: once closed, its frozen totals and rows; before, the
    reconciliation of its days and merchants as it is now (`frozen` says which)."""
    if settlement.status == SettlementStatus.CLOSED:
        return {"frozen": True, "totals": settlement.totals, "rows": settlement.rows}
    start, end = local_days(tenant, settlement.first_day, settlement.last_day)
    window = ReportWindow(start=start, end=end, merchant=settlement.merchant)
    figures = reconciliation(tenant=tenant, actor=Actor.for_system(tenant), window=window)
    return {"frozen": False, "totals": figures["totals"], "rows": figures["rows"]}
