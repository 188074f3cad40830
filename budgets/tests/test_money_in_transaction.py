"""The money service inside a caller's transaction: a refusal leaves that transaction usable.

The service takes no savepoint of its own around the budget's UPDATE (one round trip less while
the row is locked), so these pin down what a savepoint used to guarantee.
"""

from decimal import Decimal

import pytest
from django.db import transaction

from budgets import services
from budgets.errors import BudgetErrorCode
from budgets.models import Budget, BudgetEntry
from core.errors import ConflictError

from .factories import approved_budget

pytestmark = pytest.mark.django_db


def _entries(world, budget):
    return BudgetEntry.objects.for_tenant(world.tenant).filter(budget=budget)


def test_a_caught_refusal_leaves_no_entry_and_the_transaction_usable(world):
    budget = approved_budget(world, amount="100.00")
    with transaction.atomic():
        with pytest.raises(ConflictError) as refused:
            services.budget_reserve(
                tenant=world.tenant, budget=budget, amount="150.00", reference="too-much"
            )
        assert refused.value.code == BudgetErrorCode.BUDGET_EXCEEDED
        # The same transaction goes on: the refusal wrote no entry, a fitting one moves money.
        assert not _entries(world, budget).filter(reference="too-much").exists()
        services.budget_reserve(tenant=world.tenant, budget=budget, amount="60.00", reference="ok")
    budget.refresh_from_db()
    assert budget.reserved == Decimal("60.00")
    assert not services.budgets_verify(tenant=world.tenant)


def test_a_caught_reused_reference_leaves_the_transaction_usable(world):
    budget = approved_budget(world, amount="100.00")
    services.budget_reserve(tenant=world.tenant, budget=budget, amount="10.00", reference="r1")
    with transaction.atomic():
        with pytest.raises(ConflictError) as reused:
            services.budget_reserve(
                tenant=world.tenant, budget=budget, amount="20.00", reference="r1"
            )
        assert reused.value.code == BudgetErrorCode.REFERENCE_REUSED
        services.budget_spend(tenant=world.tenant, budget=budget, amount="10.00", reference="s1")
    budget.refresh_from_db()
    assert (budget.reserved, budget.spent) == (Decimal("0.00"), Decimal("10.00"))


def test_the_callers_budget_holds_the_figures_the_update_left(world):
    budget = approved_budget(world, amount="100.00")
    stale = Budget.objects.for_tenant(world.tenant).get(pk=budget.pk)
    services.budget_reserve(tenant=world.tenant, budget=budget, amount="30.00", reference="a")
    # Another holder of the same row moves money; its instance sees the committed figures.
    services.budget_spend(tenant=world.tenant, budget=stale, amount="30.00", reference="b")
    assert (stale.amount, stale.reserved, stale.spent) == (
        Decimal("100.00"),
        Decimal("0.00"),
        Decimal("30.00"),
    )
    assert stale.status == "approved"
