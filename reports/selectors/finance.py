"""Finance (SPEC §5): the reconciliation of coupon redemptions, settlements, export jobs."""

from django.db.models import (
    Count,
    F,
    Q,
    QuerySet,
    Sum,
)

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.regions import region_descendant_ids
from accounts.roles import Action
from budgets.models import BudgetStatus
from budgets.selectors import budget_list
from campaigns.checks import local_days
from core.selectors import get_visible
from coupons.selectors import redemption_list as coupon_redemption_list

from ..models import ExportJob, Settlement, SettlementStatus
from ._common import MONEY_ZERO, ReportWindow, _share


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


def export_get(*, tenant: Tenant, actor: Actor, id) -> ExportJob:
    """One's own export job: its rows were chosen in one's own scope."""
    actor.require(Action.REPORTS_READ)
    mine = ExportJob.objects.for_tenant(tenant).filter(requested_by=actor.user)
    return get_visible(mine, pk=id)


def budget_vs_actual(*, tenant: Tenant, actor: Actor) -> list[dict]:
    """Per business unit, its approved and closed budgets: the amount, what is reserved and
    spent against it, what is left, and the share used (SPEC §5, finance)."""
    actor.require(Action.REPORTS_READ)
    rows = (
        budget_list(tenant=tenant, actor=actor)
        .filter(status__in=[BudgetStatus.APPROVED, BudgetStatus.CLOSED])
        .values("business_unit__code", "business_unit__name")
        .annotate(
            budgets=Count("pk"),
            amount=Sum("amount"),
            reserved=Sum("reserved"),
            spent=Sum("spent"),
        )
        .order_by("business_unit__code")
    )
    return [
        {
            **row,
            "available": row["amount"] - row["reserved"] - row["spent"],
            "used": _share(row["reserved"] + row["spent"], row["amount"]),
        }
        for row in rows
    ]
