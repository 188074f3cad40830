"""The reports' panels of the console's home page: today's redemptions and points, and what
waits for finance (budgets to approve, settlements to close, the points liability)."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from accounts.selectors import staff_list
from budgets.models import BudgetStatus
from budgets.selectors import budget_list
from campaigns.checks import local_days
from points.models import EntryKind, Holder, LedgerEntry, PointsAccount
from points.selectors import program_list

from . import selectors
from .models import SettlementStatus


def today(request) -> dict:
    """Coupons redeemed and points earned today (the tenant's day), within the actor's scope."""
    actor = request.actor
    tenant = actor.tenant
    day = timezone.localdate(timezone=tenant.zone)
    start, end = local_days(tenant, day, day)
    window = selectors.ReportWindow(start=start, end=end)
    staff = staff_list(tenant=tenant, actor=actor)
    earned = (
        LedgerEntry.objects.for_tenant(tenant)
        .filter(kind=EntryKind.EARN, account__staff__in=staff, created_at__gte=start)
        .aggregate(points=Sum("points", default=0))["points"]
    )
    return {
        "coupons": selectors.reconciliation_totals(tenant=tenant, actor=actor, window=window),
        "points_earned": earned,
        "day": day,
    }


def finance(request) -> dict:
    """What waits for this finance user, and what the staff points owe."""
    actor = request.actor
    tenant = actor.tenant
    mine = actor.user.pk if actor.user else None
    waiting = budget_list(tenant=tenant, actor=actor).filter(status=BudgetStatus.SUBMITTED)
    settlements = selectors.settlement_list(tenant=tenant, actor=actor)
    liability = Decimal("0.00")
    for program in program_list(tenant=tenant, actor=actor).filter(holder=Holder.STAFF):
        held = PointsAccount.objects.for_tenant(tenant).filter(program=program)
        points = held.aggregate(total=Sum("balance", default=0) + Sum("pending", default=0))
        liability += points["total"] * program.point_value
    last_closed = settlements.filter(status=SettlementStatus.CLOSED, merchant__isnull=True).first()
    unsettled_from = last_closed.last_day + timedelta(days=1) if last_closed else None
    return {
        "budgets_waiting": waiting.exclude(Q(created_by_id=mine) | Q(submitted_by_id=mine)).count(),
        "settlements_waiting": settlements.filter(status=SettlementStatus.PREPARED)
        .exclude(prepared_by_id=mine)
        .count(),
        "unsettled_from": unsettled_from,
        "liability": liability.quantize(Decimal("0.01")),
        "budgets": selectors.budget_vs_actual(tenant=tenant, actor=actor),
    }
