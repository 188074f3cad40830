"""The points report (SPEC §5): the table the failed campaign's review assembled by hand."""

from collections import Counter
from datetime import datetime, timedelta
from typing import cast

from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
    Sum,
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

from ._common import ReportWindow, _share

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
    """The eligible staff (of a merchant with orders in the period), by merchant and code;
    `staff_figures` gives each one's figures."""
    staff = _report_staff(tenant, actor, window)
    ordering = Order.objects.for_tenant(tenant).filter(
        placed_at__gte=window.start, placed_at__lt=window.end
    )
    return (
        staff.filter(merchant_id__in=ordering.values("merchant_id"))
        .select_related("merchant")
        .order_by("merchant__code", "code", "pk")
    )


POINTS_FIGURES = (
    "earned",
    "taken_back",
    "net",
    "expired",
    "spent",
    "regions",
    "balance",
    "pending",
)


def staff_figures(*, tenant: Tenant, window: ReportWindow, staff: QuerySet) -> dict[int, dict]:
    """Per staff member of `staff`, the period's figures in the program: `earned`,
    `taken_back` (cancelled or reversed by closed orders), `net` (earned less taken back),
    `expired`, `spent` (net of refunds), `regions` (regions unlocked: distinct regions where a
    first-N rule paid them), and now: `balance`, `pending`. Three grouped queries, each one
    pass over the period's rows (not a lookup per staff member); staff with none are absent."""
    program = cast(PointsProgram, window.program)
    in_period = {"created_at__gte": window.start, "created_at__lt": window.end}

    def points(*kinds):
        return Sum("points", filter=Q(kind__in=kinds), default=0)

    flows = (
        LedgerEntry.objects.for_tenant(tenant)
        .filter(account__program=program, account__staff__in=staff.values("pk"), **in_period)
        .values("account__staff")
        .annotate(
            earned=points(EntryKind.EARN),
            taken_back=points(EntryKind.CANCEL, EntryKind.REVERSE),
            expired=points(EntryKind.EXPIRE),
            spent_gross=points(EntryKind.SPEND),
            refunded=points(EntryKind.REFUND),
        )
        .order_by()
    )
    unlocked = (
        OrderAward.objects.for_tenant(tenant)
        .filter(
            account__program=program,
            account__staff__in=staff.values("pk"),
            rule__kind=RuleKind.REGION_FIRST_N,
            status=AwardStatus.ACTIVE,
            points__gt=0,
            placed_at__gte=window.start,
            placed_at__lt=window.end,
        )
        .values("account__staff")
        .annotate(regions=Count("region_id", distinct=True))
        .order_by()
    )
    held = (
        PointsAccount.objects.for_tenant(tenant)
        .filter(program=program, staff__in=staff.values("pk"))
        .values("staff")
        .annotate(balance=Sum("balance"), pending=Sum("pending"))
        .order_by()
    )
    figures: dict[int, dict] = {}

    def of(staff_id: int) -> dict:
        return figures.setdefault(staff_id, dict.fromkeys(POINTS_FIGURES, 0))

    for row in flows:
        one = of(row["account__staff"])
        one.update(earned=row["earned"], taken_back=row["taken_back"], expired=row["expired"])
        one["net"] = row["earned"] - row["taken_back"]
        one["spent"] = row["spent_gross"] - row["refunded"]
    for row in unlocked:
        of(row["account__staff"])["regions"] = row["regions"]
    for row in held:
        of(row["staff"]).update(balance=row["balance"], pending=row["pending"])
    return figures


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
    staff = points_report_rows(tenant=tenant, actor=actor, window=window)
    figures = staff_figures(tenant=tenant, window=window, staff=staff)
    none = dict.fromkeys(POINTS_FIGURES, 0)
    for staff_id in staff.values_list("pk", flat=True):
        row = figures.get(staff_id, none)
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
