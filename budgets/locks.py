"""The row locks of budgets, each taken by one named helper.

Locks are always taken in one order so two transactions can never wait on each other:
an adjustment → its budget. Budget rows come last in every app's order: other apps move money
only through the money service (`budget_reserve/_release/_spend/_refund`), after every row of
their own, and it locks one budget per call, inside the statement that moves the money
(FOR NO KEY UPDATE, like the UPDATE it comes with; see `services.money._move_and_record`). A caller
that moves money on several budgets in one transaction must move them in budget pk order.

The life-cycle moves (submit, approve, close…) and the adjustment decisions lock their budget
with a plain FOR UPDATE, which also makes the foreign-key check of a new row naming the budget
(a campaign, an entry) wait for the move to commit; they lock nothing after it.
"""

from .models import Budget, BudgetAdjustment


def lock_budget(tenant, budget: Budget) -> Budget:
    """One budget row, locked until the transaction ends: life-cycle moves never interleave.
    Taken after the adjustment that changes it, if any; nothing is locked after it."""
    return Budget.objects.for_tenant(tenant).select_for_update().get(pk=budget.pk)


def lock_adjustment(tenant, adjustment: BudgetAdjustment) -> BudgetAdjustment:
    """One adjustment row and, in the same statement (the join), its budget's row: adjustment
    first, then budget."""
    return (
        BudgetAdjustment.objects.for_tenant(tenant)
        .select_for_update()
        .select_related("budget")
        .get(pk=adjustment.pk)
    )
