"""Test helpers every app shares.

Throttling: `throttle_rates(...)` below. Races: `run_at_once(works)` below.

The tenant-isolation test (tests/test_tenant_isolation.py) walks every API route and fills each
path parameter with an identifier of the *other* tenant. An app tells it where such identifiers
come from in `<app>/tests/isolation.py`:

    from core.testing import route_param
    route_param(BudgetDetailView, "id", Budget, make=lambda world: BudgetFactory(tenant=world.tenant))
    route_param("budgets/<int:id>", "id", Budget, make=…)  # every route below this path

`make(world)` is called for each of the two test tenants and creates a row of that model whose
identifier the other tenant doesn't share; `field` is the model field the parameter carries
(`pk` for ids, `code`, …).
"""

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections
from django.test import override_settings

from core.errors import DomainError
from core.models import TenantScoped


@dataclass(frozen=True)
class RouteParam:
    model: type[TenantScoped]
    field: str = "pk"
    make: Callable[[Any], Any] | None = None


# (view class or route prefix below /api/v1/, parameter name) → where its values come from
ROUTE_PARAMS: dict[tuple[type | str, str], RouteParam] = {}


def route_param(
    target, param: str, model: type[TenantScoped], *, field: str = "pk", make=None
) -> None:
    """Declare which model (and field) the path parameter `param` names, for one view class
    (and its subclasses) or for every route whose path starts with the prefix `target`."""
    ROUTE_PARAMS[(target, param)] = RouteParam(model=model, field=field, make=make)


@contextmanager
def throttle_rates(**rates: str):
    """Lower the API rate limits, e.g. throttle_rates(api_key="2/min"), on a fresh cache.

    The cache keeps its backend (Redis under `make test`) but gets a key prefix of its own, so
    counts left by earlier tests or by parallel test processes on the same Redis don't count.
    """
    rest: dict[str, Any] = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **rates}
    default = {**settings.CACHES["default"], "KEY_PREFIX": f"test-throttle-{uuid.uuid4().hex}"}
    with override_settings(REST_FRAMEWORK=rest, CACHES={**settings.CACHES, "default": default}):
        yield


def run_at_once(
    works: Sequence[Callable[[], Any]],
    *,
    delays: Sequence[float] = (),
    expected: tuple[type[Exception], ...] = (DomainError,),
) -> list:
    """Run every work in its own thread, all released at the same moment (real threads against
    PostgreSQL: each opens its own connection), and return their outcomes in order.

    An outcome is the work's return value, or the `code` of an `expected` error it raised (a
    refusal the race is about). Any other exception (a deadlock, a bug) is raised here once
    every thread has ended, so it fails the test instead of vanishing in a thread. `delays[i]`
    holds work i back after the start, to land it during or after the others.
    """
    start = threading.Barrier(len(works))
    outcomes: list = [None] * len(works)
    unexpected: list[BaseException] = []

    def run(i: int, work: Callable[[], Any]) -> None:
        try:
            start.wait()
            if i < len(delays) and delays[i]:
                time.sleep(delays[i])
            outcomes[i] = work()
        except expected as exc:
            outcomes[i] = getattr(exc, "code", type(exc).__name__)
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if unexpected:
        raise unexpected[0]
    return outcomes
