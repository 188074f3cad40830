"""Reads of budgets, inside the tenant and the actor's data scope (SPEC §7)."""

from collections.abc import Mapping

from django.db.models import Q, QuerySet

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.models import AuditEntry
from core.selectors import filtered, get_visible

from .filters import AdjustmentFilter, BudgetFilter
from .models import AdjustmentStatus, Budget, BudgetAdjustment, BudgetEntry, BudgetStatus


def budget_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    """Budgets the actor may read: all of the tenant's, or a business-unit admin's own unit's."""
    actor.require(Action.BUDGETS_READ)
    qs = Budget.objects.for_tenant(tenant).select_related(
        "tenant",
        "business_unit",
        "created_by",
        "submitted_by",
        "approved_by",
        "rejected_by",
        "closed_by",
    )
    if actor.business_unit_id is not None:
        qs = qs.filter(business_unit_id=actor.business_unit_id)
    return filtered(BudgetFilter, filters, qs)


def budget_get(*, tenant: Tenant, actor: Actor, id: int) -> Budget:
    return get_visible(budget_list(tenant=tenant, actor=actor), pk=id)


def budget_approval_queue(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """What waits for finance: submitted budgets, oldest first."""
    return (
        budget_list(tenant=tenant, actor=actor)
        .filter(status=BudgetStatus.SUBMITTED)
        .order_by("submitted_at", "pk")
    )


def budget_entry_list(*, tenant: Tenant, actor: Actor, budget: Budget) -> QuerySet:
    """The budget's ledger. A regional operator reads every budget but not the campaigns of
    other regions: their entries are left out (the budget's totals still count them)."""
    budget_get(tenant=tenant, actor=actor, id=budget.pk)  # the same scope as the budget
    qs = (
        BudgetEntry.objects.for_tenant(tenant)
        .filter(budget=budget)
        .select_related("campaign", "actor_user")
    )
    if actor.region_ids is not None:
        campaigns = budget_campaign_list(tenant=tenant, actor=actor, budget=budget)
        qs = qs.filter(Q(campaign__isnull=True) | Q(campaign__in=campaigns.values("pk")))
    return qs


def budget_campaign_list(*, tenant: Tenant, actor: Actor, budget: Budget) -> QuerySet:
    """The campaigns under the budget that the actor may read."""
    from campaigns.selectors import campaign_list  # campaigns import budgets

    return campaign_list(tenant=tenant, actor=actor).filter(budget=budget)


def budget_adjustment_list(
    *, tenant: Tenant, actor: Actor, budget: Budget | None = None, filters: Mapping | None = None
) -> QuerySet:
    budgets = budget_list(tenant=tenant, actor=actor)
    qs = (
        BudgetAdjustment.objects.for_tenant(tenant)
        .filter(budget__in=budgets.values("pk"))
        .select_related("budget", "created_by", "decided_by")
    )
    if budget is not None:
        qs = qs.filter(budget=budget)
    return filtered(AdjustmentFilter, filters, qs)


def budget_adjustment_get(*, tenant: Tenant, actor: Actor, id: int) -> BudgetAdjustment:
    return get_visible(budget_adjustment_list(tenant=tenant, actor=actor), pk=id)


def budget_adjustment_queue(*, tenant: Tenant, actor: Actor) -> QuerySet:
    return (
        budget_adjustment_list(tenant=tenant, actor=actor)
        .filter(status=AdjustmentStatus.PENDING)
        .order_by("created_at", "pk")
    )


def budget_history(*, tenant: Tenant, actor: Actor, budget: Budget) -> QuerySet:
    """The budget's audit trail and its adjustments': who did what, when and why.

    Whoever may read the budget reads how it came about; the rest of the audit log stays behind
    AUDIT_READ.
    """
    budget_get(tenant=tenant, actor=actor, id=budget.pk)
    adjustment_ids = [
        str(pk)
        for pk in BudgetAdjustment.objects.for_tenant(tenant)
        .filter(budget=budget)
        .values_list("pk", flat=True)
    ]
    return (
        AuditEntry.objects.for_tenant(tenant)
        .filter(
            Q(object_type=Budget._meta.label_lower, object_id=str(budget.pk))
            | Q(object_type=BudgetAdjustment._meta.label_lower, object_id__in=adjustment_ids)
        )
        .order_by("-created_at", "-id")
    )
