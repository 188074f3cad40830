"""What every new tenant starts with, contributed by the apps that own it.

`accounts.services.tenant_create` makes the tenant and runs these steps in the same transaction;
an app adds its part with `@tenant_setup_step` on a service that takes `tenant` (campaigns adds
the default channels), so accounts needs to know none of them. Each step must be safe to run
again, like a seed step of `core.demo`.
"""

from collections.abc import Callable

_steps: list[Callable] = []


def tenant_setup_step(step: Callable) -> Callable:
    if step not in _steps:
        _steps.append(step)
    return step


def tenant_setup_run(*, tenant) -> None:
    for step in _steps:
        step(tenant=tenant)
