"""The base of every tenant API view: resolves the actor once and honours Idempotency-Key."""

import hashlib
import json
from typing import Any, cast

from django.http.request import RawPostDataException
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.models import Tenant
from accounts.permissions import Actor
from core.services import idempotency_begin, idempotency_finish, request_fingerprint

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _Replay(Exception):
    def __init__(self, row):
        self.row = row


class TenantAPIView(APIView):
    api_key_scope: str | None = None  # integration endpoints: the API-key scope they need
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS
    # Response fields never stored for an Idempotency-Key replay (secrets shown once).
    idempotency_redact: tuple[str, ...] = ()

    @property
    def actor(self) -> Actor:
        # IsTenantMember lets a request in only when authentication left an Actor as its auth.
        return cast(Actor, self.request.auth)

    @property
    def tenant(self) -> Tenant:
        return self.actor.tenant

    def paginated(self, queryset, serializer_class):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        rows = serializer_class(page, many=True, context={"request": self.request})
        return paginator.get_paginated_response(rows.data)

    # --- Idempotency-Key (SPEC §8) ------------------------------------------------------
    def initial(self, request, *args, **kwargs):
        self._idempotency_row = None
        super().initial(request, *args, **kwargs)
        key = request.headers.get("Idempotency-Key")
        if not key or request.method not in WRITE_METHODS:
            return
        row, is_new = idempotency_begin(
            tenant=self.actor.tenant,
            principal=self._principal(),
            key=key[:255],
            request_hash=request_fingerprint(
                method=request.method,
                path=request.get_full_path(),  # the query string is part of the request
                body=self._body_bytes(request),
            ),
        )
        if not is_new:
            raise _Replay(row)
        self._idempotency_row = row

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            response = Response(exc.row.response_body, status=exc.row.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        row = getattr(self, "_idempotency_row", None)
        if row is not None:
            self._idempotency_row = None
            body = response.data
            if self.idempotency_redact and isinstance(body, dict):
                body = {k: v for k, v in body.items() if k not in self.idempotency_redact}
            idempotency_finish(row=row, status=response.status_code, body=body)
        return response

    def _principal(self) -> str:
        if self.actor.api_key is not None:
            return f"key:{self.actor.api_key.pk}"
        return f"user:{self.request.user.pk}"

    @staticmethod
    def _body_bytes(request) -> bytes:
        if request.content_type.startswith("multipart/"):
            # An upload may be larger than a body read into memory may be (RequestDataTooBig):
            # hash the fields as parsed and each file by its content, read in chunks.
            values = {
                key: request.data.getlist(key) for key in request.data if key not in request.FILES
            }
            for key, upload in request.FILES.items():
                digest = hashlib.sha256()
                for chunk in upload.chunks():
                    digest.update(chunk)
                upload.seek(0)
                values[key] = [upload.name, digest.hexdigest()]
            return json.dumps(values, sort_keys=True, default=str).encode()
        try:
            return request._request.body
        except RawPostDataException:  # the stream was read already: hash what it parsed to
            return json.dumps(request.data, sort_keys=True, default=str).encode()


# The three shapes most routes take. A subclass names its selector or getter, serializers and
# service; its schema comes from `extend_schema_view` on the subclass, so each route keeps its
# own tags, parameters and responses. (Comments, not docstrings: the schema would show them.)


# GET /<noun>/{id} → the one object the getter finds within the actor's scope (404 otherwise).
class ObjectDetailView(TenantAPIView):
    getter: Any = None  # `<noun>_get(*, tenant, actor, **path)`; path parameters by name
    output: Any = None

    def get(self, request, **path):
        obj = self.getter(tenant=self.tenant, actor=self.actor, **path)
        return Response(self.output(obj, context={"request": request}).data)


# GET /<noun> → a page of the scoped list, narrowed by the query string through the selector's
# FilterSet (`<noun>_list(*, tenant, actor, filters)`; a bad value is a 400 naming it).
class ListView(TenantAPIView):
    selector: Any = None
    output: Any = None
    filterable = True  # False: the selector takes no filters (a short list, read whole)

    def get(self, request):
        filters = {"filters": request.query_params} if self.filterable else {}
        qs = self.selector(tenant=self.tenant, actor=self.actor, **filters)
        return self.paginated(qs, self.output)


# GET as ListView; POST /<noun> → the input serializer (with the tenant and actor in its
# context) → the create service → 201 with the object.
class ListCreateView(ListView):
    input: Any = None
    create: Any = None  # `<noun>_create(*, tenant, actor, **values)`

    def post(self, request):
        data = self.input(data=request.data, context={"tenant": self.tenant, "actor": self.actor})
        data.is_valid(raise_exception=True)
        values = data.service_kwargs() if hasattr(data, "service_kwargs") else data.validated_data
        obj = self.create(tenant=self.tenant, actor=self.actor, **values)
        return Response(self.output(obj).data, status=status.HTTP_201_CREATED)


# POST /<noun>/{id}/<verb> → one life-cycle service → 200 with the object after it.
# (A comment, not a docstring: the schema would show a docstring as every action's description.)
class ObjectActionView(TenantAPIView):
    getter = None  # the selector that finds the object by id within the actor's scope
    service = None
    param = ""  # the keyword the service takes the object under
    input = None  # the body's serializer; None: the body carries at most a free `note`
    output = None

    def post(self, request, id):
        obj = self.getter(tenant=self.tenant, actor=self.actor, id=id)
        if self.input is None:
            note = request.data.get("note") if hasattr(request.data, "get") else None
            values = {"note": "" if note is None else str(note)}  # a null note is no note
        else:
            data = self.input(data=request.data)
            data.is_valid(raise_exception=True)
            values = data.validated_data
        obj = self.service(tenant=self.tenant, actor=self.actor, **{self.param: obj}, **values)
        return Response(self.output(obj).data)


def object_action_view(
    name: str, *, getter, service, param: str, output, input=None, tags, description: str = ""
):
    """One ObjectActionView subclass with its own `post`, so each action carries its own schema."""

    def post(self, request, id):
        return ObjectActionView.post(self, request, id)

    post = extend_schema(
        tags=tags, request=input, responses={200: output}, description=description
    )(post)
    attrs = {
        "getter": staticmethod(getter),
        "service": staticmethod(service),
        "param": param,
        "input": input,
        "output": output,
        "post": post,
    }
    return type(name, (ObjectActionView,), attrs)
