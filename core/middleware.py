"""Hostile input refused before any view runs, for the API and the console pages alike.

PostgreSQL refuses a NUL character in text ("A string literal cannot contain NUL"), JSON nested
thousands deep overflows Python's stack, and a body of any size would be read into memory. Each
was a 500 (issue 12); here each is a 4xx in the API's error shape, in one place for every route.
"""

import json
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from core.errors import CoreErrorCode

NUL = "\x00"


def _contains_nul(value) -> bool:
    """Any NUL in a parsed JSON document's strings, keys included (iterative: no recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def body_limit(request) -> int:
    """The largest body the route takes: the setting its view names in `max_body_size_setting`
    (an upload route), else DATA_UPLOAD_MAX_MEMORY_SIZE."""
    default = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return default
    view = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
    name = getattr(view, "max_body_size_setting", None)
    return getattr(settings, name) if name else default


class HostileInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    def _refusal(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = body_limit(request)
        if length > limit:
            return self._answer(request, 413, *too_large(limit))
        if NUL in request.path or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
            return self._answer(request, 400, "invalid", _("The request contains a NUL character."))
        content_type = request.content_type or ""
        if content_type == "application/x-www-form-urlencoded" and length:
            try:
                if any(NUL in k or NUL in v for k, vs in request.POST.lists() for v in [k, *vs]):
                    return self._answer(
                        request, 400, "invalid", _("The request contains a NUL character.")
                    )
            except RequestDataTooBig:
                return self._answer(request, 413, *too_large(limit))
        elif content_type.endswith("json") and length:
            try:
                body = request.body  # read once here; Django keeps it for the view's parser
            except RequestDataTooBig:
                return self._answer(request, 413, *too_large(limit))
            try:
                document = json.loads(body)
            except RecursionError:
                return self._answer(request, 400, "parse_error", _("JSON nested too deep."))
            except ValueError:
                return None  # malformed: the view's parser answers parse_error
            if _contains_nul(document):
                return self._answer(
                    request, 400, "invalid", _("The request contains a NUL character.")
                )
        return None

    @staticmethod
    def _answer(request, status: int, code: str, detail: str):
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"code": str(code), "detail": str(detail), "fields": {}}, status=status
            )
        return HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")


def too_large(limit: int) -> tuple[str, str]:
    return (
        CoreErrorCode.REQUEST_TOO_LARGE,
        _("The request body is larger than %(size)s bytes.") % {"size": limit},
    )
