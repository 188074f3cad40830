"""No write route answers 5xx to a hostile value in any one field (issue 12, SPEC §10).

Built on tests/test_write_routes_no_5xx.py: the same routes, valid examples and documented
fields (from the OpenAPI schema, so a route or field added later is covered). Each field in
turn gets, by its documented type, a NUL character and a 10,000-character string (strings),
2**70 and 2**31 (integers: past a bigint and an int4 column), or a 40-digit decimal (decimals,
numbers). Any 5xx fails; the right 4xx is each route's own tests' business.
"""

import json
import logging

import pytest
from django.db import transaction

from core.testing import throttle_rates
from tests.test_write_routes_no_5xx import (
    EXAMPLES,
    NO_JSON_BODY,
    ROUTES,
    _body_paths,
    _cause,
    _client,
    _Errors,
    _key,
    _label,
    _request_schema,
    _resolve,
    schema,  # noqa: F401  the fixture
)

LONG = "x" * 10_000


def _typed_paths(api, node, prefix=(), depth=0) -> dict[tuple, dict]:
    """Every documented field of a request with its (resolved) schema."""
    out: dict[tuple, dict] = {}
    if depth > 4:
        return out
    for name, prop in _resolve(api, node).get("properties", {}).items():
        if prop.get("readOnly"):
            continue
        path = (*prefix, name)
        prop = _resolve(api, prop)
        out[path] = prop
        if prop.get("type") == "object" or "properties" in prop:
            out.update(_typed_paths(api, prop, path, depth + 1))
        elif prop.get("type") == "array":
            item = _resolve(api, prop.get("items", {}))
            out[(*path, 0)] = item
            if "properties" in item:
                out.update(_typed_paths(api, item, (*path, 0), depth + 1))
    return out


def _hostile_values(prop: dict | None, example) -> list:
    prop = prop or {}
    kind = prop.get("type")
    if kind is None and "oneOf" in prop:
        kind = next((o.get("type") for o in prop["oneOf"] if o.get("type")), None)
    if kind is None:  # undocumented: judge by the example's value
        kind = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(example))
    if kind == "integer":
        return [2**70, 2**31, -(2**70)]
    if kind == "number" or (kind == "string" and prop.get("format") == "decimal"):
        return ["9" * 40, 1e30, "1e30"]
    if kind == "string":
        return ["\x00", "a\x00b", LONG]
    return []


def _get(body, path):
    for step in path:
        if isinstance(body, dict):
            body = body.get(step)
        elif isinstance(body, list) and isinstance(step, int) and step < len(body):
            body = body[step]
        else:
            return None
    return body


def _set(body: dict, path: tuple, value):
    """A copy of the body with the field at `path` set; None when its parent isn't sent."""
    body = json.loads(json.dumps(body, default=str))
    parent = body
    for step in path[:-1]:
        parent = _get(parent, (step,))
        if not isinstance(parent, dict | list):
            return None
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        parent[last] = value
        return body
    if isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        parent[last] = value
        return body
    return None


@pytest.mark.parametrize(
    ("route", "method"),
    [pytest.param(r, m, id=f"{m} {_key(r)}") for r, m in ROUTES if _key(r) not in NO_JSON_BODY],
)
def test_no_5xx_for_a_hostile_value_in_any_field(world, schema, route, method):  # noqa: F811
    examples = EXAMPLES[_key(route)]
    failures = []
    for example in examples if isinstance(examples, list) else [examples]:
        if example.method not in (None, method):
            continue
        ctx = example.setup(world)
        url = route.url({name: ctx[name] for name in route.params})
        body = example.body(world, ctx)
        client = _client(world, example.client)
        typed = _typed_paths(schema, _request_schema(schema, route, method) or {})
        paths = list(dict.fromkeys(_body_paths(body) + list(typed)))
        errors = _Errors()
        logger = logging.getLogger("pointsops.api")
        logger.addHandler(errors)
        try:
            with throttle_rates(
                user="100000/min", api_key="100000/min", anon="100000/min", login="100000/min"
            ):
                for path in paths:
                    for value in _hostile_values(typed.get(path), _get(body, path)):
                        payload = _set(body, path, value)
                        if payload is None:
                            continue
                        errors.records.clear()
                        with transaction.atomic():
                            response = client.generic(
                                method, url, json.dumps(payload), content_type="application/json"
                            )
                            transaction.set_rollback(True)
                        if response.status_code >= 500:
                            failures.append(
                                f"{method} {url} with {_label(path)}={str(value)[:12]!r} → "
                                f"{response.status_code} {_cause(errors)}"
                            )
        finally:
            logger.removeHandler(errors)
    assert not failures, "\n".join(failures)
