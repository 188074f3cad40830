"""Tenant A never sees a row of tenant B, on every API route (ARCHITECTURE §2).

The routes come from the URL resolver, so a route added later is walked without editing this
file. Path parameters are filled with tenant B's identifiers through the registry of
`core.testing` (`<app>/tests/isolation.py`); a route with a parameter nobody registered fails.
"""

import importlib
import json
import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from accounts.models import Region
from core.models import TenantScoped
from core.testing import ROUTE_PARAMS, RouteParam

API_PREFIX = "api/v1/"
PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
READ_METHODS = {"GET"}
# PUT of master data upserts by code, so B's code from A creates A's own row: not a lookup.
PROBED_WRITE_METHODS = {"POST", "PATCH", "DELETE"}


@dataclass
class Route:
    template: str  # "api/v1/regions/<str:code>"
    view: type
    methods: list[str]

    @property
    def params(self) -> list[str]:
        return [m.group("name") for m in PARAM.finditer(self.template)]

    def url(self, values: dict[str, str]) -> str:
        return "/" + PARAM.sub(lambda m: str(values[m.group("name")]), self.template)

    def __str__(self):
        return f"/{self.template} ({self.view.__module__}.{self.view.__name__})"


def _walk(patterns, prefix=""):
    """(route template, view) of every URL pattern at or below /api/v1/."""
    for entry in patterns:
        if isinstance(entry.pattern, RoutePattern):
            route = prefix + str(entry.pattern)
        else:
            regex = prefix + str(entry.pattern).lstrip("^")
            assert not regex.startswith(API_PREFIX[:4]), f"/{regex}: use path() in the API"
            continue
        on_the_way = route.startswith(API_PREFIX) or API_PREFIX.startswith(route)
        if isinstance(entry, URLResolver) and on_the_way:
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith(API_PREFIX):
            yield route, entry.callback


def api_routes() -> list[Route]:
    routes = []
    for template, callback in _walk(get_resolver().url_patterns):
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        assert view is not None, f"/{template}: API routes are class-based views"
        methods = [
            m.upper()
            for m in view.http_method_names
            if m not in ("head", "options") and hasattr(view, m)
        ]
        routes.append(Route(template, view, methods))
    return routes


def _load_registrations() -> None:
    for config in apps.get_app_configs():
        try:
            importlib.import_module(f"{config.name}.tests.isolation")
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith(config.name):
                raise


def _param_source(route: Route, name: str) -> RouteParam:
    for view in route.view.__mro__:
        if (view, name) in ROUTE_PARAMS:
            return ROUTE_PARAMS[(view, name)]
    path = route.template.removeprefix(API_PREFIX)
    prefixes = [t for t, p in ROUTE_PARAMS if isinstance(t, str) and p == name]
    for prefix in sorted(prefixes, key=len, reverse=True):
        if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
            return ROUTE_PARAMS[(prefix, name)]
    raise AssertionError(
        f"{route}: no source for the path parameter `{name}`. Declare it in "
        f"{route.view.__module__.split('.')[0]}/tests/isolation.py with "
        f"core.testing.route_param({route.view.__name__} or a path prefix, {name!r}, <Model>, "
        "field=…, make=…)."
    )


def _identifier(source: RouteParam, tenant, other) -> str:
    """An identifier of a row of `tenant` that names nothing in `other` (codes may repeat)."""
    taken = source.model.objects.for_tenant(other).values(source.field)
    row = (
        source.model.objects.for_tenant(tenant)
        .exclude(**{f"{source.field}__in": taken})
        .order_by("pk")
        .first()
    )
    assert row is not None, (
        f"Tenant {tenant.slug} has no {source.model.__name__} of its own "
        f"{source.field}: give its route_param a make= that creates one."
    )
    return str(getattr(row, source.field))


# --- what counts as "tenant B's data" -------------------------------------------------------------

TEXT_FIELDS = (models.CharField, models.TextField)  # SlugField and EmailField included


def _tenant_models() -> list[type[TenantScoped]]:
    return [
        m
        for m in apps.get_models()
        if issubclass(m, TenantScoped) and not m._meta.proxy and not m._meta.abstract
    ]


def _text_values(tenant) -> set[str]:
    values = {tenant.slug, tenant.name}
    for model in _tenant_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if not names:
            continue
        for row in model.objects.for_tenant(tenant).values_list(*names):
            values.update(v for v in row if isinstance(v, str))
        if any(f.name == "user" for f in model._meta.concrete_fields):
            users = model.objects.for_tenant(tenant).exclude(user=None)
            for username, email in users.values_list("user__username", "user__email"):
                values.update((username, email))
    return values


def unique_values(mine: set[str], theirs: set[str]) -> set[str]:
    """Their values that can't turn up in a response by coincidence with mine."""
    return {
        v
        for v in theirs - mine
        if len(v) >= 4 and not any(v in m for m in mine) and not v.isdigit()
    }


def leaked(response, secrets: set[str]) -> set[str]:
    body = response.content.decode(errors="replace")
    if response.get("Content-Type", "").startswith("application/json"):
        body = json.dumps(response.json(), ensure_ascii=False)
    return {v for v in secrets if v in body}


def _state(tenant) -> dict:
    """Every row of the tenant and when it last changed, to prove a probe changed nothing."""
    state = {}
    for model in _tenant_models():
        fields = ["pk"] + (["updated_at"] if hasattr(model, "updated_at") else [])
        state[model._meta.label] = sorted(
            model.objects.for_tenant(tenant).values_list(*fields), key=str
        )
    return state


# --- the test ----------------------------------------------------------------------------------------


@pytest.fixture
def tenants(world, other_world):
    _load_registrations()
    for source in {s for s in ROUTE_PARAMS.values() if s.make is not None}:
        for w in (world, other_world):
            source.make(w)
    return world, other_world


def test_every_api_route_hides_the_other_tenant(tenants):
    a, b = tenants
    routes = api_routes()
    assert any(r.params for r in routes) and any(not r.params for r in routes)

    sources, missing = {}, []
    for route in routes:
        for name in route.params:
            try:
                sources[(route.template, name)] = _param_source(route, name)
            except AssertionError as exc:
                missing.append(str(exc))
    assert not missing, "\n".join(missing)
    ids_a = {k: _identifier(source, a.tenant, b.tenant) for k, source in sources.items()}
    ids_b = {k: _identifier(source, b.tenant, a.tenant) for k, source in sources.items()}

    clients = {"tenant admin token": a.client("tenant_admin"), "API key": a.key_client()}
    secrets = unique_values(_text_values(a.tenant), _text_values(b.tenant))
    own = unique_values(_text_values(b.tenant), _text_values(a.tenant))
    assert b.region.code in secrets and a.region.code in own
    b_before = _state(b.tenant)

    failures, own_seen, probed = [], False, 0
    for route in routes:
        mine = route.url({n: ids_a[(route.template, n)] for n in route.params})
        theirs = route.url({n: ids_b[(route.template, n)] for n in route.params})
        for label, client in clients.items():
            for method in route.methods:
                if method in READ_METHODS:
                    response = client.get(theirs)
                elif method in PROBED_WRITE_METHODS and route.params:
                    response = client.generic(method, theirs, "{}", "application/json")
                else:
                    continue
                probed += 1
                where = f"{label} {method} {theirs} → {response.status_code}"
                if route.params and response.status_code not in (400, 403, 404, 405, 409, 422):
                    failures.append(f"{where}: expected 404/403 for tenant B's identifier")
                elif not route.params and response.status_code >= 500:
                    failures.append(f"{where}: server error")
                if found := leaked(response, secrets):
                    failures.append(f"{where}: tenant B's data in the body: {sorted(found)}")
                if method in READ_METHODS and label == "tenant admin token":
                    control = client.get(mine)
                    if route.params and control.status_code == 404:
                        failures.append(
                            f"GET {mine} → 404 for tenant A's own identifier: the route_param "
                            f"of {route} names the wrong model or field"
                        )
                    own_seen = own_seen or (
                        control.status_code == 200 and bool(leaked(control, own))
                    )

    assert probed >= len(routes), "every API route was called"
    assert own_seen, "tenant A's own rows show up somewhere (the leak detector works)"
    assert not failures, "\n".join(failures)
    assert _state(b.tenant) == b_before, "a request of tenant A changed tenant B's rows"


def test_the_tenant_comes_from_the_credential_never_from_the_body(world, other_world):
    sneaky = {"tenant": other_world.tenant.slug, "tenant_id": other_world.tenant.pk}
    for n, client in enumerate((world.key_client(), world.client("tenant_admin"))):
        url = f"/api/v1/regions/from-body-{n}?tenant={other_world.tenant.slug}"
        response = client.put(url, {"name": "X", **sneaky}, format="json")
        assert response.status_code == 201
    assert Region.objects.for_tenant(world.tenant).filter(code__startswith="from-body").count() == 2
    assert not Region.objects.for_tenant(other_world.tenant).filter(code__startswith="from-body")
