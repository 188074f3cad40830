"""Changes to an approved budget's amount: asked by one finance user, decided by another."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import ConflictError, ValidationFailed, invalid_transition
from core.services import audit_record, snapshot

from ..errors import BudgetErrorCode, BudgetExceeded
from ..locks import lock_adjustment, lock_budget
from ..models import (
    AdjustmentStatus,
    Budget,
    BudgetAdjustment,
    BudgetEntry,
    BudgetStatus,
    EntryKind,
)
from ._common import _audit_budget, _budget_snapshot, _money, _require_checker


def _adjustment_snapshot(adjustment: BudgetAdjustment) -> dict:
    return snapshot(adjustment, fields=["budget", "amount_delta", "reason", "status"])


@transaction.atomic
def budget_adjustment_create(
    *, tenant: Tenant, actor: Actor, budget: Budget, amount_delta: Decimal, reason: str
) -> BudgetAdjustment:
    """Ask to change an approved budget's amount; it applies when another finance user approves."""
    actor.require(Action.BUDGETS_DRAFT)
    amount_delta = _money(amount_delta, field="amount_delta", positive=False)
    if amount_delta == 0:
        raise ValidationFailed(
            _("An adjustment changes the amount."), fields={"amount_delta": [_("Must not be 0.")]}
        )
    if not reason.strip():
        raise ValidationFailed(_("Say why."), fields={"reason": [_("Required.")]})
    if budget.status != BudgetStatus.APPROVED:
        raise ConflictError(
            _("Only an approved budget is adjusted; edit a draft directly."),
            code=BudgetErrorCode.BUDGET_NOT_ACTIVE,
        )
    adjustment = BudgetAdjustment.objects.create(
        tenant=tenant,
        budget=budget,
        amount_delta=amount_delta,
        reason=reason,
        created_by=actor.user,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="budget_adjustment.create",
        obj=adjustment,
        after=_adjustment_snapshot(adjustment),
        note=reason,
    )
    return adjustment


def _pending_adjustment(
    tenant: Tenant, adjustment: BudgetAdjustment, target: str
) -> BudgetAdjustment:
    adjustment = lock_adjustment(tenant, adjustment)
    if adjustment.status != AdjustmentStatus.PENDING:
        raise invalid_transition(_("adjustment"), adjustment.status, target)
    return adjustment


@transaction.atomic
def budget_adjustment_approve(
    *, tenant: Tenant, actor: Actor, adjustment: BudgetAdjustment, note: str = ""
) -> BudgetAdjustment:
    adjustment = _pending_adjustment(tenant, adjustment, AdjustmentStatus.APPROVED)
    _require_checker(actor, adjustment.created_by_id)
    budget = lock_budget(tenant, adjustment.budget)
    before_budget = _budget_snapshot(budget)
    before = _adjustment_snapshot(adjustment)
    delta = adjustment.amount_delta
    # A decrease may not cut below what is already committed (the CHECK would refuse it too).
    if budget.status != BudgetStatus.APPROVED:
        raise ConflictError(
            _("The budget is no longer open."), code=BudgetErrorCode.BUDGET_NOT_ACTIVE
        )
    if budget.amount + delta < budget.reserved + budget.spent:
        raise BudgetExceeded(_("The budget has already committed more than this would leave."))
    BudgetEntry.objects.create(
        tenant=tenant,
        budget=budget,
        kind=EntryKind.ADJUST,
        amount=abs(delta),
        amount_delta=delta,
        reference=f"adjustment:{adjustment.pk}",
        actor_user=actor.user,
        actor_label=actor.label,
        note=adjustment.reason,
    )
    budget.amount += delta
    budget.save(update_fields=["amount", "updated_at"])
    adjustment.status = AdjustmentStatus.APPROVED
    adjustment.decided_by = actor.user
    adjustment.decided_at = timezone.now()
    adjustment.decision_note = note
    adjustment.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="budget_adjustment.approve",
        obj=adjustment,
        before=before,
        after=_adjustment_snapshot(adjustment),
        note=note,
    )
    _audit_budget(tenant, actor, budget, "adjust", before=before_budget, note=adjustment.reason)
    return adjustment


@transaction.atomic
def budget_adjustment_reject(
    *, tenant: Tenant, actor: Actor, adjustment: BudgetAdjustment, note: str
) -> BudgetAdjustment:
    adjustment = _pending_adjustment(tenant, adjustment, AdjustmentStatus.REJECTED)
    _require_checker(actor, adjustment.created_by_id)
    if not note.strip():
        raise ValidationFailed(_("Say why."), fields={"note": [_("Required.")]})
    before = _adjustment_snapshot(adjustment)
    adjustment.status = AdjustmentStatus.REJECTED
    adjustment.decided_by = actor.user
    adjustment.decided_at = timezone.now()
    adjustment.decision_note = note
    adjustment.save()
    audit_record(
        tenant=tenant,
        actor=actor,
        action="budget_adjustment.reject",
        obj=adjustment,
        before=before,
        after=_adjustment_snapshot(adjustment),
        note=note,
    )
    return adjustment
