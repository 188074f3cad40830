"""One error shape for every API failure: {"code", "detail", "fields"} (SPEC §8, §10)."""

import logging
import math

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.fields import get_error_detail
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import CoreErrorCode, DomainError
from core.middleware import too_large

logger = logging.getLogger("pointsops.api")


def error_body(code: str, detail: str, fields: dict | None = None) -> dict:
    return {"code": str(code), "detail": str(detail), "fields": fields or {}}


def _flatten_fields(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field" | "parent.child": ["message", …]}."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for name, value in detail.items():
            out.update(_flatten_fields(value, f"{prefix}{name}."))
        return out
    if isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten_fields(item, f"{prefix}{index}."))
        return out
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix.rstrip(".") or "non_field_errors": [str(m) for m in messages]}


def _codes(detail) -> set[str]:
    if isinstance(detail, dict):
        return set().union(*(_codes(v) for v in detail.values())) if detail else set()
    if isinstance(detail, list):
        return set().union(*(_codes(v) for v in detail)) if detail else set()
    return {getattr(detail, "code", None) or "invalid"}


def _validation_response(exc: exceptions.ValidationError) -> Response:
    fields = _flatten_fields(exc.detail)
    codes = _codes(exc.detail)
    code = codes.pop() if len(codes) == 1 else "invalid"
    if list(fields) == ["non_field_errors"]:
        detail = fields["non_field_errors"][0]
    else:
        detail = "Invalid input: " + ", ".join(sorted(fields)) + "."
    return Response(error_body(code, detail, fields), status=exc.status_code)


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every exception, the unexpected ones included, gets the shape."""
    if isinstance(exc, RequestDataTooBig):  # a body without Content-Length, or form fields
        set_rollback()
        code, detail = too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return Response(error_body(code, detail), status=413)
    if isinstance(exc, TooManyFieldsSent):
        exc = exceptions.ValidationError(str(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):  # a model's full_clean() in a service
        exc = exceptions.ValidationError(get_error_detail(exc))

    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.code, exc.detail, exc.fields), status=exc.status)

    if isinstance(exc, exceptions.ValidationError):
        set_rollback()
        return _validation_response(exc)

    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        code = getattr(exc.detail, "code", None) or exc.default_code
        set_rollback()
        return Response(error_body(code, exc.detail), status=exc.status_code, headers=headers)

    # Anything else is our bug: log it with its traceback, tell the client nothing about it.
    logger.exception("Unhandled API error", exc_info=exc)
    set_rollback()
    return Response(error_body(CoreErrorCode.INTERNAL_ERROR, "Internal server error."), status=500)


def json_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request):
    return JsonResponse(
        error_body(CoreErrorCode.INTERNAL_ERROR, "Internal server error."), status=500
    )
