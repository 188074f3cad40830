"""Test helpers every app shares.

The tenant-isolation test (tests/test_tenant_isolation.py) walks every API route and fills each
path parameter with an identifier of the *other* tenant. An app tells it where such identifiers
come from in `<app>/tests/isolation.py`:

    from core.testing import route_param
    route_param(BudgetDetailView, "id", Budget, make=lambda world: BudgetFactory(tenant=world.tenant))

`make(world)` creates a row for one of the two test tenants when the shared `world` fixture has
none of that model; `field` is the model field the parameter carries (`pk` for ids, `code`, …).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RouteParam:
    model: type
    field: str = "pk"
    make: Callable[[Any], Any] | None = None


ROUTE_PARAMS: dict[tuple[type, str], RouteParam] = {}


def route_param(view, param: str, model, *, field: str = "pk", make=None) -> None:
    """Declare which model (and field) the path parameter `param` of `view` names."""
    ROUTE_PARAMS[(view, param)] = RouteParam(model=model, field=field, make=make)
