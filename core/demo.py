"""The demo tenant (SPEC §9): a registry of seed steps that every app adds its part to.

An app contributes to `manage.py seed_demo` from its own `<app>/demo.py`:

    from core.demo import DemoContext, demo_step

    @demo_step(order=30)
    def seed_budgets(ctx: DemoContext) -> str:
        ...  # create what is missing for ctx.tenant, leave what exists
        return "budgets: 1 created, 0 already there"

`seed_demo` imports every installed app's `demo` module (the way the admin autodiscovers
`admin.py`) and runs the steps by `order`: accounts' master data and users first (orders 10 to 20), then
budgets, campaigns, coupons, orders, points, redemption. Each step must be safe to run twice,
because a newcomer's second `make run` seeds again: look up what exists by code and create only
what is missing. Steps use the size (`ctx.size`) for their volumes and `ctx.rng(name)` for
their random choices, so a second run generates the same rows and finds them present.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class DemoSize:
    """How much of everything one size loads. `tiny` exists for the tests of the command."""

    name: str
    merchants: int
    customers: int
    staff_per_merchant: tuple[int, int]  # inclusive range


SIZES: dict[str, DemoSize] = {
    "tiny": DemoSize("tiny", merchants=6, customers=60, staff_per_merchant=(2, 3)),
    # The default of `make run`: every kind of object, well inside a minute on SQLite.
    "demo": DemoSize("demo", merchants=500, customers=8_000, staff_per_merchant=(2, 5)),
    # SPEC §9 at full scale, meant for PostgreSQL.
    "full": DemoSize("full", merchants=3_000, customers=120_000, staff_per_merchant=(2, 5)),
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    where: str  # "console" or "portal"
    note: str = ""


@dataclass
class DemoContext:
    # accounts.models.Tenant and accounts.permissions.Actor.for_system(tenant): the steps write
    # through the services as the system. `Any` because core imports no app, not even for types.
    tenant: Any
    actor: Any
    size: DemoSize
    today: date
    logins: list[DemoLogin] = field(default_factory=list)
    log: Callable[[str], None] = print

    def rng(self, name: str) -> random.Random:
        """A generator seeded by the step's name: the same rows on every run, per step."""
        return random.Random(f"pointsops-demo:{name}:{self.size.name}")


@dataclass(frozen=True)
class DemoStep:
    order: int
    name: str
    func: Callable[[DemoContext], str]


_STEPS: dict[str, DemoStep] = {}


def demo_step(*, order: int):
    """Register a seed step; its return value is the one-line report seed_demo prints."""

    def register(func: Callable[[DemoContext], str]):
        name = f"{func.__module__}.{func.__qualname__}"
        _STEPS[name] = DemoStep(order=order, name=name, func=func)
        return func

    return register


def demo_steps() -> list[DemoStep]:
    autodiscover_modules("demo")
    return sorted(_STEPS.values(), key=lambda step: (step.order, step.name))


def demo_today(tenant) -> date:
    return timezone.localdate(timezone=tenant.zone)
