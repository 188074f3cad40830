"""Where the tenant-isolation test finds the other tenant's identifiers for budgets' routes."""

from decimal import Decimal

from accounts.roles import Role
from budgets import services
from budgets.models import Budget, BudgetAdjustment
from budgets.tests.factories import approved_budget
from core.testing import route_param


def _adjustment(world):
    return services.budget_adjustment_create(
        tenant=world.tenant,
        actor=world.actor(Role.TENANT_ADMIN),
        budget=approved_budget(world, name=f"{world.tenant.slug} adjusted budget"),
        amount_delta=Decimal("10.00"),
        reason=f"{world.tenant.slug} reason",
    )


route_param(
    "budgets/<int:id>",
    "id",
    Budget,
    make=lambda world: approved_budget(world, name=f"{world.tenant.slug} budget"),
)
route_param("budget-adjustments/<int:id>", "id", BudgetAdjustment, make=_adjustment)
