"""OpenAPI: the credentials, code references and the one error shape, for every operation.

Imported by CoreConfig.ready() so the extensions are registered before a schema is built;
`postprocess_error_responses` runs as a drf-spectacular post-processing hook (settings).
"""

import importlib
from enum import StrEnum

from django.apps import apps
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes

# --- credentials ------------------------------------------------------------------------------


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Tenant API key: `Authorization: Api-Key pk_…` (integration endpoints).",
        }


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.PersonalTokenAuthentication"
    name = "Token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Personal token from POST /api/v1/auth/token: `Authorization: Token pt_…`.",
        }


class TenantSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.TenantSessionAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class TenantCodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "web.api.fields.TenantCodeField"
    match_subclasses = True  # e.g. an order's merchant, taken from its staff member's row

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.STR)
        schema["description"] = f"`code` of a {self.target.model._meta.verbose_name}."
        return schema


class SlugReferenceSchema(OpenApiSerializerFieldExtension):
    """A read-only `SlugRelatedField` on a plain Serializer (no Meta.model to infer it from):
    a reference by code, so a string."""

    target_class = "rest_framework.relations.SlugRelatedField"

    def map_serializer_field(self, auto_schema, direction):
        serializer = self.target.parent
        while serializer is not None and not hasattr(serializer, "fields"):
            serializer = serializer.parent  # many=True: the ManyRelatedField in between
        meta = getattr(serializer, "Meta", None)
        if self.target.queryset is not None or getattr(meta, "model", None) is not None:
            return auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return build_basic_type(OpenApiTypes.STR)


# --- errors (SPEC §8, §10) ------------------------------------------------------------------------

# DRF's own codes by status; a validation error's `code` is the field error's code when there is
# one (`required`, `blank`, `max_length`, `does_not_exist` …), else `invalid`.
FRAMEWORK_CODES: dict[int, tuple[str, ...]] = {
    400: ("invalid", "required", "parse_error", "blank", "null", "does_not_exist"),
    401: ("not_authenticated", "authentication_failed"),
    403: ("permission_denied",),
    404: ("not_found",),
    405: ("method_not_allowed",),
    409: (),
    415: ("unsupported_media_type",),
    422: (),
    429: ("throttled",),
    500: ("internal_error",),
}
STATUS_TEXT = {
    400: "Bad input; `fields` maps each field to its messages.",
    401: "No or invalid credentials.",
    403: "The role, the API key's scope or the endpoint kind does not allow this.",
    404: "Missing, or belonging to another tenant or outside the caller's data scope.",
    409: "Conflict with the current state (Idempotency-Key reuse, life-cycle move, …).",
    422: "A business rule refuses the request.",
    429: "Rate limit of the API key or user reached; see `Retry-After`.",
    500: "Our bug; the body never carries a traceback.",
}
ALL_OPERATIONS = (400, 401, 403, 404, 429, 500)
WRITE_OPERATIONS = (409, 422)
WRITE_METHODS = {"post", "put", "patch", "delete"}


def domain_error_codes() -> list[str]:
    """Every code of every app's `errors.py` enum, so a new app's codes are documented too."""
    codes: set[str] = set()
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.errors")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.errors":
                raise
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum:
                codes.update(member.value for member in value)
    return sorted(codes)


def _error_schema(domain_codes: list[str]) -> dict:
    framework = sorted({code for codes in FRAMEWORK_CODES.values() for code in codes})
    domain_codes = [code for code in domain_codes if code not in framework]
    return {
        "type": "object",
        "description": "The one error shape of the API.",
        "properties": {
            "code": {
                "type": "string",
                "description": (
                    "Machine-readable code. Framework codes: "
                    + ", ".join(f"`{c}`" for c in framework)
                    + ". Domain codes: "
                    + ", ".join(f"`{c}`" for c in domain_codes)
                    + "."
                ),
                "x-codes": framework + domain_codes,
            },
            "detail": {"type": "string", "description": "Human-readable text."},
            "fields": {
                "type": "object",
                "description": "Field name (dotted for nested input) → messages.",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
        "required": ["code", "detail", "fields"],
    }


def _error_response(status: int) -> dict:
    codes = FRAMEWORK_CODES[status]
    text = STATUS_TEXT[status]
    if codes:
        text += " Codes: " + ", ".join(f"`{c}`" for c in codes)
        text += " or a domain code." if status in (400, 403) else "."
    else:
        text += " Code: a domain code (see the Error schema)."
    response = {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 429:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        }
    return response


IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": (
        "Same key and body: the first response is replayed (`Idempotent-Replayed: true`); "
        "another body: 409 `idempotency_conflict`; while the first is running: it waits, "
        "then 409 `idempotency_in_progress`."
    ),
}


def postprocess_error_responses(result, generator, request, public, **kwargs):
    """Add the Error component and the error responses to every operation."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = _error_schema(domain_error_codes())
    responses = components.setdefault("responses", {})
    for status in FRAMEWORK_CODES:
        if status in STATUS_TEXT:
            responses[f"Error{status}"] = _error_response(status)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = ALL_OPERATIONS + (WRITE_OPERATIONS if method in WRITE_METHODS else ())
            for status in statuses:
                operation["responses"].setdefault(
                    str(status), {"$ref": f"#/components/responses/Error{status}"}
                )
            # Logging in has no tenant yet, hence no Idempotency-Key (TokenView).
            if method in WRITE_METHODS and not path.endswith("/auth/token"):
                params = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in params):
                    params.append(IDEMPOTENCY_HEADER)
    return result
