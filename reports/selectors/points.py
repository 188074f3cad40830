"""The points report (SPEC §5): the table the failed campaign's review assembled by hand."""

from collections import Counter
from datetime import datetime, timedelta
from typing import cast

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.utils import timezone

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.regions import region_descendant_ids
from accounts.roles import Action
from accounts.selectors import staff_list
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
from points.periods import month_start

from ._common import ReportWindow, _per_staff, _share

# Points per holder, as the review counted them (and the campaign check's simulation does).
POINTS_BUCKETS = ((0, 0, "0"), (1, 99, "1-99"), (100, 999, "100-999"), (1000, 9999, "1,000-9,999"))
POINTS_BUCKET_TOP = (10_000, "≥ 10,000")


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
