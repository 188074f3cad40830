"""A budget's life cycle: draft, submit, approve or reject, reopen, close (SPEC §10).

Every move locks the budget's row (`budgets.locks.lock_budget`) and goes to the audit log; the
approval writes the first entry, so the amount too can be rebuilt from the entries.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import BusinessUnit, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import ConflictError, ValidationFailed, invalid_transition

from ..errors import BudgetErrorCode
from ..locks import lock_budget
from ..models import ZERO, Budget, BudgetEntry, BudgetStatus, EntryKind
from ._common import _audit_budget, _budget_snapshot, _money, _require_checker

# Campaign statuses that may still move money; a budget under one of them cannot be closed.
LIVE_CAMPAIGN_STATUSES = ("scheduled", "running", "paused")
# Statuses of other apps' rows that still hold a reservation (budgets imports no app above it).
LIVE_COUPON_STATUS = "issued"
PENDING_LOT_STATUS = "pending"


def _check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise ValidationFailed(
            _("The budget must end on or after its start."),
            fields={"ends_on": [_("Must not be before starts_on.")]},
        )


@transaction.atomic
def budget_create(
    *,
    tenant: Tenant,
    actor: Actor,
    business_unit: BusinessUnit,
    name: str,
    purpose: str,
    amount: Decimal,
    starts_on: date,
    ends_on: date,
) -> Budget:
    actor.require(Action.BUDGETS_DRAFT)
    if business_unit.tenant_id != tenant.pk:
        raise ValidationFailed(_("Unknown business unit."), fields={"business_unit": ["unknown"]})
    _check_period(starts_on, ends_on)
    budget = Budget.objects.create(
        tenant=tenant,
        business_unit=business_unit,
        name=name,
        purpose=purpose,
        amount=_money(amount),
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=actor.user,
    )
    _audit_budget(tenant, actor, budget, "create")
    return budget


EDITABLE_FIELDS = ("business_unit", "name", "purpose", "amount", "starts_on", "ends_on")


@transaction.atomic
def budget_update(
    *, tenant: Tenant, actor: Actor, budget: Budget, note: str = "", **changes
) -> Budget:
    """Edit a draft; editing a rejected budget takes it back to draft (SPEC §10)."""
    actor.require(Action.BUDGETS_DRAFT)
    budget = lock_budget(tenant, budget)
    if budget.status not in (BudgetStatus.DRAFT, BudgetStatus.REJECTED):
        raise invalid_transition(_("budget"), budget.status, BudgetStatus.DRAFT)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be changed: %s.") % ", ".join(sorted(unknown))
        )
    before = _budget_snapshot(budget)
    for field, value in changes.items():
        if field == "amount":
            value = _money(value)
        setattr(budget, field, value)
    _check_period(budget.starts_on, budget.ends_on)
    budget.status = BudgetStatus.DRAFT
    budget.save()
    _audit_budget(tenant, actor, budget, "update", before=before, note=note)
    return budget


@transaction.atomic
def budget_reopen(*, tenant: Tenant, actor: Actor, budget: Budget, note: str = "") -> Budget:
    """rejected → draft, without changing anything, so it can be submitted again."""
    actor.require(Action.BUDGETS_DRAFT)
    budget = lock_budget(tenant, budget)
    return _move(tenant, actor, budget, BudgetStatus.REJECTED, BudgetStatus.DRAFT, "reopen", note)


def _move(
    tenant: Tenant, actor, budget: Budget, source: str, target: str, verb: str, note: str
) -> Budget:
    if budget.status != source:
        raise invalid_transition(_("budget"), budget.status, target)
    before = _budget_snapshot(budget)
    budget.status = target
    budget.save(update_fields=["status", "updated_at"])
    _audit_budget(tenant, actor, budget, verb, before=before, note=note)
    return budget


@transaction.atomic
def budget_submit(*, tenant: Tenant, actor: Actor, budget: Budget, note: str = "") -> Budget:
    actor.require(Action.BUDGETS_DRAFT)
    budget = lock_budget(tenant, budget)
    budget.submitted_by = actor.user
    budget.submitted_at = timezone.now()
    budget.submit_note = note
    budget.save(update_fields=["submitted_by", "submitted_at", "submit_note", "updated_at"])
    return _move(tenant, actor, budget, BudgetStatus.DRAFT, BudgetStatus.SUBMITTED, "submit", note)


@transaction.atomic
def budget_approve(*, tenant: Tenant, actor: Actor, budget: Budget, note: str = "") -> Budget:
    budget = lock_budget(tenant, budget)
    _require_checker(actor, budget.created_by_id, budget.submitted_by_id)
    if budget.status != BudgetStatus.SUBMITTED:
        raise invalid_transition(_("budget"), budget.status, BudgetStatus.APPROVED)
    budget.approved_by = actor.user
    budget.approved_at = timezone.now()
    budget.decision_note = note
    budget.save(update_fields=["approved_by", "approved_at", "decision_note", "updated_at"])
    # The approved amount is the first entry, so the amount too can be rebuilt from entries.
    BudgetEntry.objects.create(
        tenant=tenant,
        budget=budget,
        kind=EntryKind.APPROVE,
        amount=budget.amount,
        amount_delta=budget.amount,
        reference="approve",
        actor_user=actor.user,
        actor_label=actor.label,
        note=note,
    )
    return _move(
        tenant, actor, budget, BudgetStatus.SUBMITTED, BudgetStatus.APPROVED, "approve", note
    )


@transaction.atomic
def budget_reject(*, tenant: Tenant, actor: Actor, budget: Budget, note: str) -> Budget:
    budget = lock_budget(tenant, budget)
    _require_checker(actor, budget.created_by_id, budget.submitted_by_id)
    if budget.status != BudgetStatus.SUBMITTED:
        raise invalid_transition(_("budget"), budget.status, BudgetStatus.REJECTED)
    if not note.strip():
        raise ValidationFailed(
            _("Say why the budget is rejected."), fields={"note": [_("Required.")]}
        )
    budget.rejected_by = actor.user
    budget.rejected_at = timezone.now()
    budget.decision_note = note
    budget.save(update_fields=["rejected_by", "rejected_at", "decision_note", "updated_at"])
    return _move(
        tenant, actor, budget, BudgetStatus.SUBMITTED, BudgetStatus.REJECTED, "reject", note
    )


@transaction.atomic
def budget_close(*, tenant: Tenant, actor: Actor, budget: Budget, note: str = "") -> Budget:
    """approved → closed: what is still reserved is released and all unused money returns."""
    actor.require(Action.BUDGETS_APPROVE)
    budget = lock_budget(tenant, budget)
    if budget.status != BudgetStatus.APPROVED:
        raise invalid_transition(_("budget"), budget.status, BudgetStatus.CLOSED)
    if budget.campaigns.filter(status__in=LIVE_CAMPAIGN_STATUSES).exists():
        raise ConflictError(
            _("End the campaigns under this budget before closing it."),
            code=BudgetErrorCode.BUDGET_IN_USE,
        )
    # What is still owed must be paid from this budget: coupons that stay valid past their
    # ended campaign (extend_past_campaign) and points still pending. Closing would leave their
    # redemption, expiry or activation with no reservation to move, and refused.
    campaigns = budget.campaigns.all()
    if campaigns.filter(coupon_batches__coupons__status=LIVE_COUPON_STATUS).exists():
        raise ConflictError(
            _(
                "Coupons under this budget are still valid: close it after they expire or are "
                "voided."
            ),
            code=BudgetErrorCode.BUDGET_IN_USE,
        )
    if campaigns.filter(points_rules__awards__lot__status=PENDING_LOT_STATUS).exists():
        raise ConflictError(
            _(
                "Points paid from this budget are still pending: close it after their orders "
                "complete or close."
            ),
            code=BudgetErrorCode.BUDGET_IN_USE,
        )
    if budget.reserved > 0:
        BudgetEntry.objects.create(
            tenant=tenant,
            budget=budget,
            kind=EntryKind.CLOSE,
            amount=budget.reserved,
            reserved_delta=-budget.reserved,
            reference="close",
            actor_user=actor.user,
            actor_label=actor.label,
            note=note,
        )
        budget.reserved = ZERO
    budget.closed_by = actor.user
    budget.closed_at = timezone.now()
    budget.save(update_fields=["reserved", "closed_by", "closed_at", "updated_at"])
    return _move(tenant, actor, budget, BudgetStatus.APPROVED, BudgetStatus.CLOSED, "close", note)
