"""Budgets for tests, built through the services so figures and entries stay consistent."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.roles import Role
from budgets import services
from budgets.models import Budget


def draft_budget(world, *, role=Role.TENANT_ADMIN, amount="1000.00", unit=None, **kwargs) -> Budget:
    today = timezone.localdate(timezone=world.tenant.zone)
    fields = {
        "business_unit": unit or world.unit,
        "name": "Double Eleven",
        "purpose": "coupons",
        "amount": Decimal(amount),
        # around today, so campaigns in the next days fall inside it whenever the tests run
        "starts_on": today - timedelta(days=10),
        "ends_on": today + timedelta(days=60),
    }
    fields.update(kwargs)
    return services.budget_create(tenant=world.tenant, actor=world.actor(role), **fields)


def submitted_budget(world, **kwargs) -> Budget:
    budget = draft_budget(world, **kwargs)
    return services.budget_submit(
        tenant=world.tenant, actor=world.actor(Role.TENANT_ADMIN), budget=budget
    )


def approved_budget(world, **kwargs) -> Budget:
    """Drafted and submitted by the tenant admin, approved by finance (maker and checker)."""
    budget = submitted_budget(world, **kwargs)
    return services.budget_approve(
        tenant=world.tenant, actor=world.actor(Role.FINANCE), budget=budget
    )
