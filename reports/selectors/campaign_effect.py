"""The campaign effect (SPEC §5): what a campaign's coupons did, and its budget's burn."""

from datetime import timedelta
from typing import cast

from django.db.models import (
    Count,
    Exists,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncDate

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.regions import region_descendant_ids
from accounts.roles import Action
from budgets.models import BudgetEntry
from campaigns.checks import local_days
from campaigns.models import Campaign
from coupons.models import Coupon, CouponRedemption, CouponStatus
from coupons.selectors import batch_list as coupon_batch_list
from orders.models import Order

from ._common import MONEY_ZERO, ReportWindow, _share
from .finance import _reconciled, _reconciliation_redemptions


def _days_of(tenant: Tenant, window: ReportWindow) -> list:
    days = window.days(tenant)
    first, last = days["from"], days["to"]
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def campaign_effect(*, tenant: Tenant, actor: Actor, window: ReportWindow) -> dict:
    """What a campaign's coupons did in the period: issued, redeemed (the rate: of the
    coupons issued in the period, the share redeemed now), discount net of rollbacks, the
    orders and order amount attributed, new customers (registered in the period, redeeming
    for the first time in it); by batch, by channel (the order's) and by day; and the burn
    of the campaign's budget per day. Within the actor's scope; a region narrows the
    customers issued to and the orders' regions, a merchant the redemptions."""
    actor.require(Action.REPORTS_READ)
    campaign = cast(Campaign, window.campaign)  # the filters give one
    zone = tenant.zone
    batches = coupon_batch_list(tenant=tenant, actor=actor).filter(campaign=campaign)
    if window.batch is not None:
        batches = batches.filter(pk=window.batch.pk)
    coupons = Coupon.objects.for_tenant(tenant).filter(
        batch__in=batches.values("pk"), issued_at__gte=window.start, issued_at__lt=window.end
    )
    if actor.region_ids is not None:
        coupons = coupons.filter(customer__region_id__in=actor.region_ids)
    if window.region is not None:
        below = region_descendant_ids(tenant=tenant, region_ids=[window.region.pk])
        coupons = coupons.filter(customer__region_id__in=below)
    redemptions = _reconciliation_redemptions(tenant, actor, window).filter(
        batch__in=batches.values("pk")
    )
    redeemed = Q(redeemed_at__gte=window.start, redeemed_at__lt=window.end)
    live = redeemed & Q(rolled_back_at__isnull=True)

    issued = dict(coupons.values_list("batch_id").annotate(n=Count("pk")).order_by())
    issued_redeemed = coupons.filter(status=CouponStatus.REDEEMED).count()
    by_batch = {
        row["batch_id"]: row
        for row in redemptions.values("batch_id").annotate(**_reconciled(window)).order_by()
    }
    orders = dict(
        redemptions.filter(live).values("order_ref").annotate(amount=Max("order_amount"))
        .values_list("order_ref", "amount")
    )  # fmt: skip
    totals = redemptions.aggregate(**_reconciled(window))
    totals["net_discount"] = totals["redeemed_discount"] - totals["rolled_back_discount"]
    issued_total = sum(issued.values())
    totals |= {
        "issued": issued_total,
        "redemption_rate": _share(issued_redeemed, issued_total),
        "orders": len(orders),
        "order_amount": sum(orders.values(), MONEY_ZERO),
        "new_customers": _new_customers(tenant, redemptions, window),
    }
    channels = (
        redemptions.filter(live)
        .annotate(
            channel=Subquery(
                Order.objects.for_tenant(tenant)
                .filter(external_id=OuterRef("order_ref"))
                .values("channel__code")[:1]
            )
        )
        .values("channel")
        .annotate(
            redemptions=Count("pk"), discount=Sum("discount"), order_amount=Sum("order_amount")
        )
        .order_by("channel")
    )
    per_day_issued = dict(
        coupons.annotate(day=TruncDate("issued_at", tzinfo=zone)).values("day")
        .annotate(n=Count("pk")).values_list("day", "n").order_by()
    )  # fmt: skip
    per_day_redeemed = {
        row["day"]: row
        for row in redemptions.filter(redeemed)
        .annotate(day=TruncDate("redeemed_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("pk"), discount=Sum("discount"))
        .order_by()
    }
    days = _days_of(tenant, window)
    return {
        "campaign": {"id": campaign.pk, "name": campaign.name},
        "period": window.days(tenant),
        "totals": totals,
        "batches": [
            {
                "batch": batch.pk,
                "name": batch.name,
                "issued": issued.get(batch.pk, 0),
                "claimed": batch.claimed,  # a counter of the batch's whole life
                **{
                    name: by_batch.get(batch.pk, {}).get(name, 0)
                    for name in ("redemptions", "redeemed_discount", "rollbacks")
                },
            }
            for batch in batches.order_by("name", "pk")
        ],
        "channels": [{**row, "channel": row["channel"] or ""} for row in channels],
        "days": [
            {
                "day": day,
                "issued": per_day_issued.get(day, 0),
                "redemptions": per_day_redeemed.get(day, {}).get("n", 0),
                "discount": per_day_redeemed.get(day, {}).get("discount") or MONEY_ZERO,
            }
            for day in days
        ],
        "burn_down": _burn_down(tenant, campaign, days),
    }


def _new_customers(tenant: Tenant, redemptions: QuerySet, window: ReportWindow) -> int:
    """Customers registered in the period whose first redemption ever is in it."""
    days = window.days(tenant)
    earlier = CouponRedemption.objects.for_tenant(tenant).filter(
        customer=OuterRef("customer"), redeemed_at__lt=window.start
    )
    return (
        redemptions.filter(
            redeemed_at__gte=window.start,
            redeemed_at__lt=window.end,
            customer__registered_on__gte=days["from"],
            customer__registered_on__lte=days["to"],
        )
        .exclude(Exists(earlier))
        .values("customer")
        .distinct()
        .count()
    )


def _burn_down(tenant: Tenant, campaign: Campaign, days: list) -> list[dict]:
    """The campaign's budget at the end of each day: amount, reserved, spent (the running sums
    of its entries, from before the first day on)."""
    zone = tenant.zone
    entries = BudgetEntry.objects.for_tenant(tenant).filter(budget_id=campaign.budget_id)
    start, _end = local_days(tenant, days[0], days[0])
    deltas = ("amount_delta", "reserved_delta", "spent_delta")
    opening = entries.filter(created_at__lt=start).aggregate(
        **{name: Sum(name, default=MONEY_ZERO) for name in deltas}
    )
    per_day = {
        row["day"]: row
        for row in entries.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(**{name: Sum(name) for name in deltas})
        .order_by()
    }
    running, rows = dict(opening), []
    for day in days:
        for name in deltas:
            running[name] += per_day.get(day, {}).get(name) or MONEY_ZERO
        rows.append(
            {
                "day": day,
                "amount": running["amount_delta"],
                "reserved": running["reserved_delta"],
                "spent": running["spent_delta"],
            }
        )
    return rows
