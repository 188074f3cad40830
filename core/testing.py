"""Test helpers every app shares.

Throttling: `throttle_rates(...)` below.

The tenant-isolation test (tests/test_tenant_isolation.py) walks every API route and fills each
path parameter with an identifier of the *other* tenant. An app tells it where such identifiers
come from in `<app>/tests/isolation.py`:

    from core.testing import route_param
    route_param(BudgetDetailView, "id", Budget, make=lambda world: BudgetFactory(tenant=world.tenant))

`make(world)` creates a row for one of the two test tenants when the shared `world` fixture has
none of that model; `field` is the model field the parameter carries (`pk` for ids, `code`, …).
"""

import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.test import override_settings


@dataclass(frozen=True)
class RouteParam:
    model: type
    field: str = "pk"
    make: Callable[[Any], Any] | None = None


ROUTE_PARAMS: dict[tuple[type, str], RouteParam] = {}


def route_param(view, param: str, model, *, field: str = "pk", make=None) -> None:
    """Declare which model (and field) the path parameter `param` of `view` names."""
    ROUTE_PARAMS[(view, param)] = RouteParam(model=model, field=field, make=make)


@contextmanager
def throttle_rates(**rates: str):
    """Lower the API rate limits, e.g. throttle_rates(api_key="2/min"), on a fresh cache.

    The cache keeps its backend (Redis under `make test`) but gets a key prefix of its own, so
    counts left by earlier tests or by parallel test processes on the same Redis don't count.
    """
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **rates}
    default = {**settings.CACHES["default"], "KEY_PREFIX": f"test-throttle-{uuid.uuid4().hex}"}
    with override_settings(REST_FRAMEWORK=rest, CACHES={**settings.CACHES, "default": default}):
        yield
