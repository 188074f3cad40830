"""Real threads against PostgreSQL: the money service holds its invariant under contention."""

from decimal import Decimal
from functools import partial

import pytest
from django.db.models import Sum

from budgets import services
from budgets.errors import BudgetErrorCode
from budgets.models import Budget, BudgetEntry
from core.testing import run_at_once

from .factories import approved_budget

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("concurrency"),
]
THREADS = 20


def at_once(work, count=THREADS) -> list:
    """work(0) … work(count - 1), each in its own thread, started together."""
    return run_at_once([partial(work, i) for i in range(count)])


def test_twenty_threads_never_push_reserved_plus_spent_past_the_amount(world):
    budget = approved_budget(world, amount="1000.00")

    def work(i):
        # half reserve, half pay straight from available: both compete for the same room
        if i % 2:
            services.budget_reserve(
                tenant=world.tenant, budget=budget, amount="75.00", reference=f"r{i}"
            )
        else:
            services.budget_spend(
                tenant=world.tenant,
                budget=budget,
                amount="75.00",
                reference=f"s{i}",
                from_reserved=False,
            )
        return "ok"

    results = at_once(work)
    budget = Budget.objects.for_tenant(world.tenant).get(pk=budget.pk)
    accepted = results.count("ok")
    assert accepted == 13  # 13 x 75 = 975 fits in 1000, a 14th would not
    assert results.count(BudgetErrorCode.BUDGET_EXCEEDED) == THREADS - accepted
    assert budget.reserved + budget.spent == Decimal("975.00") <= budget.amount
    sums = (
        BudgetEntry.objects.for_tenant(world.tenant)
        .filter(budget=budget)
        .aggregate(reserved=Sum("reserved_delta"), spent=Sum("spent_delta"))
    )
    assert (sums["reserved"], sums["spent"]) == (budget.reserved, budget.spent)
    assert services.budgets_verify(tenant=world.tenant) == []


def test_concurrent_retries_of_one_reference_move_the_money_once(world):
    budget = approved_budget(world, amount="1000.00")

    def work(i):
        entry = services.budget_reserve(
            tenant=world.tenant, budget=budget, amount="10.00", reference="batch:1"
        )
        return entry.pk

    results = at_once(work, count=10)
    assert len(set(results)) == 1
    budget = Budget.objects.for_tenant(world.tenant).get(pk=budget.pk)
    assert budget.reserved == Decimal("10.00")
    assert services.budgets_verify(tenant=world.tenant) == []


def test_concurrent_retries_of_a_refused_reference_move_nothing_and_leave_no_entry(world):
    budget = approved_budget(world, amount="100.00")

    def work(i):
        # Each is refused before it writes anything, so none holds the reference.
        return services.budget_reserve(
            tenant=world.tenant, budget=budget, amount="150.00", reference="too-much"
        )

    results = at_once(work, count=10)
    assert results == [BudgetErrorCode.BUDGET_EXCEEDED] * 10
    assert not BudgetEntry.objects.for_tenant(world.tenant).filter(reference="too-much").exists()
    budget = Budget.objects.for_tenant(world.tenant).get(pk=budget.pk)
    assert budget.reserved == Decimal("0.00")
    # Nothing holds the reference: a later call under it that fits moves the money, once.
    entries = at_once(
        lambda i: (
            services.budget_reserve(
                tenant=world.tenant, budget=budget, amount="60.00", reference="too-much"
            ).pk
        ),
        count=10,
    )
    assert len(set(entries)) == 1
    budget.refresh_from_db()
    assert budget.reserved == Decimal("60.00")
    assert services.budgets_verify(tenant=world.tenant) == []
