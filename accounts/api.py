"""Management and integration API of accounts: tokens, users, business units, master data, keys."""

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core.errors import AuthenticationError
from web.api.permissions import ANY_API_KEY
from web.api.views import TenantAPIView

from . import lockout, selectors, services
from . import serializers as s
from .models import ApiKeyScope
from .roles import Action


class TokenView(TenantAPIView):
    permission_classes = [AllowAny]
    # Password guesses meet django-axes (per username and address, accounts/lockout.py) in
    # token_issue's authenticate(); the anonymous per-address rate limit applies as everywhere.

    @extend_schema(
        request=s.TokenRequestSerializer,
        responses={200: s.TokenResponseSerializer},
        tags=["auth"],
        description=(
            "A personal token for the user's membership. After too many wrong passwords for one "
            "username from one client address (LOGIN_FAILURE_LIMIT, 10 by default), that "
            "username is refused from that address with 429 `locked_out`, the right password "
            "included, for the cool-off in `Retry-After` (LOGIN_COOLOFF_MINUTES, 15 by "
            "default). Other addresses are not affected."
        ),
    )
    def post(self, request):
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            membership, key = services.token_issue(
                username=data.validated_data["username"],
                password=data.validated_data["password"],
                tenant_slug=data.validated_data.get("tenant", ""),
                request=request,
            )
        except AuthenticationError:
            if getattr(request, "axes_locked_out", False):  # set by axes in authenticate()
                return lockout.api_lockout_response(request)
            raise
        return Response({"token": key, "tenant": membership.tenant.slug, "role": membership.role})

    def initial(self, request, *args, **kwargs):
        # Logging in needs no tenant yet, so skip the tenant's Idempotency-Key handling.
        super(TenantAPIView, self).initial(request, *args, **kwargs)


class TokenListView(TenantAPIView):
    @extend_schema(tags=["auth"], responses={200: s.PersonalTokenSerializer(many=True)})
    def get(self, request):
        """The caller's own live tokens."""
        qs = selectors.personal_token_list(tenant=self.tenant, actor=self.actor)
        return self.paginated(qs, s.PersonalTokenSerializer)


class TokenDetailView(TenantAPIView):
    @extend_schema(tags=["auth"], responses={204: None})
    def delete(self, request, id):
        """Revoke a token: one's own, or as a user manager one of a member's (audited)."""
        token = selectors.personal_token_get(tenant=self.tenant, actor=self.actor, id=id)
        services.personal_token_revoke(tenant=self.tenant, actor=self.actor, token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserTokenListView(TenantAPIView):
    @extend_schema(tags=["users"], responses={200: s.PersonalTokenSerializer(many=True)})
    def get(self, request, id):
        membership = selectors.membership_get(tenant=self.tenant, actor=self.actor, id=id)
        qs = selectors.membership_token_list(
            tenant=self.tenant, actor=self.actor, membership=membership
        )
        return self.paginated(qs, s.PersonalTokenSerializer)

    @extend_schema(tags=["users"], responses={204: None})
    def delete(self, request, id):
        """Revoke every token of this member (audited)."""
        membership = selectors.membership_get(tenant=self.tenant, actor=self.actor, id=id)
        services.membership_tokens_revoke(
            tenant=self.tenant, actor=self.actor, membership=membership
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(TenantAPIView):
    api_key_scope = ANY_API_KEY  # an integrator checks which tenant its key belongs to

    @extend_schema(tags=["auth"], responses={200: s.MeSerializer})
    def get(self, request):
        if self.actor.membership is None:
            return Response({"api_key": self.actor.api_key.name, "tenant": self.tenant.slug})
        data = s.MembershipSerializer(self.actor.membership).data
        return Response({**data, "tenant": self.tenant.slug})


class UserListView(TenantAPIView):
    @extend_schema(
        tags=["users"],
        parameters=[OpenApiParameter("search", str), OpenApiParameter("role", str)],
        responses={200: s.MembershipSerializer(many=True)},
    )
    def get(self, request):
        qs = selectors.membership_list(
            tenant=self.tenant,
            actor=self.actor,
            search=request.query_params.get("search", ""),
            role=request.query_params.get("role", ""),
        )
        return self.paginated(qs, s.MembershipSerializer)

    @extend_schema(
        tags=["users"], request=s.UserCreateSerializer, responses={201: s.MembershipSerializer}
    )
    def post(self, request):
        data = s.UserCreateSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        membership = services.user_create(
            tenant=self.tenant, actor=self.actor, **data.validated_data
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class UserDetailView(TenantAPIView):
    @extend_schema(tags=["users"], responses={200: s.MembershipSerializer})
    def get(self, request, id):
        membership = selectors.membership_get(tenant=self.tenant, actor=self.actor, id=id)
        return Response(s.MembershipSerializer(membership).data)

    @extend_schema(
        tags=["users"],
        request=s.MembershipUpdateSerializer,
        responses={200: s.MembershipSerializer},
    )
    def patch(self, request, id):
        membership = selectors.membership_get(tenant=self.tenant, actor=self.actor, id=id)
        data = s.MembershipUpdateSerializer(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        membership = services.membership_update(
            tenant=self.tenant, actor=self.actor, membership=membership, **data.validated_data
        )
        return Response(s.MembershipSerializer(membership).data)


class BusinessUnitListView(TenantAPIView):
    @extend_schema(tags=["users"], responses={200: s.BusinessUnitSerializer(many=True)})
    def get(self, request):
        qs = selectors.business_unit_list(tenant=self.tenant, actor=self.actor)
        return self.paginated(qs, s.BusinessUnitSerializer)

    @extend_schema(
        tags=["users"], request=s.BusinessUnitSerializer, responses={201: s.BusinessUnitSerializer}
    )
    def post(self, request):
        data = s.BusinessUnitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unit = services.business_unit_create(
            tenant=self.tenant, actor=self.actor, **data.validated_data
        )
        return Response(s.BusinessUnitSerializer(unit).data, status=status.HTTP_201_CREATED)


# --- master data: GET list, GET one, PUT upsert by code (integration endpoints) ------------------


class _MasterDataListView(TenantAPIView):
    api_key_scope = ApiKeyScope.MASTER_DATA
    selector: Callable[..., Any] | None = None
    output: type[BaseSerializer] | None = None
    filters: tuple[str, ...] = ()

    def get(self, request):
        extra = {name: request.query_params.get(name, "") for name in self.filters}
        qs = self.selector(
            tenant=self.tenant,
            actor=self.actor,
            search=request.query_params.get("search", ""),
            **extra,
        )
        return self.paginated(qs, self.output)


class _MasterDataDetailView(TenantAPIView):
    """GET reads one by code; PUT creates or updates it (201 when created, else 200)."""

    api_key_scope = ApiKeyScope.MASTER_DATA
    getter: Callable[..., Any] | None = None
    upsert: Callable[..., tuple[Any, bool]] | None = None
    input: type[BaseSerializer] | None = None
    output: type[BaseSerializer] | None = None

    def get(self, request, code):
        self.actor.require(Action.MASTER_DATA_READ)  # staff_get alone lets a member see themself
        row = self.getter(tenant=self.tenant, actor=self.actor, code=code)
        return Response(self.output(row).data)

    def put(self, request, code):
        data = self.input(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        kwargs = (
            data.to_service_kwargs() if hasattr(data, "to_service_kwargs") else data.validated_data
        )
        row, created = self.upsert(tenant=self.tenant, actor=self.actor, code=code, **kwargs)
        return Response(
            self.output(row).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


def _list_schema(noun: str, output, *filters: str):
    params = [OpenApiParameter("search", str, description="Matches code or name.")]
    params += [OpenApiParameter(name, str) for name in filters]
    return extend_schema_view(
        get=extend_schema(tags=[noun], parameters=params, responses={200: output(many=True)})
    )


def _detail_schema(noun: str, input, output):
    return extend_schema_view(
        get=extend_schema(tags=[noun], responses={200: output}),
        put=extend_schema(tags=[noun], request=input, responses={200: output, 201: output}),
    )


@_list_schema("regions", s.RegionSerializer)
class RegionListView(_MasterDataListView):
    selector = staticmethod(selectors.region_list)
    output = s.RegionSerializer


@_detail_schema("regions", s.RegionUpsertSerializer, s.RegionSerializer)
class RegionDetailView(_MasterDataDetailView):
    getter = staticmethod(selectors.region_get)
    upsert = staticmethod(services.region_upsert)
    input, output = s.RegionUpsertSerializer, s.RegionSerializer


@_list_schema("merchants", s.MerchantSerializer, "region")
class MerchantListView(_MasterDataListView):
    selector = staticmethod(selectors.merchant_list)
    output = s.MerchantSerializer
    filters = ("region",)


@_detail_schema("merchants", s.MerchantUpsertSerializer, s.MerchantSerializer)
class MerchantDetailView(_MasterDataDetailView):
    getter = staticmethod(selectors.merchant_get)
    upsert = staticmethod(services.merchant_upsert)
    input, output = s.MerchantUpsertSerializer, s.MerchantSerializer


@_list_schema("staff", s.StaffSerializer, "merchant")
class StaffListView(_MasterDataListView):
    selector = staticmethod(selectors.staff_list)
    output = s.StaffSerializer
    filters = ("merchant",)


@_detail_schema("staff", s.StaffUpsertSerializer, s.StaffSerializer)
class StaffDetailView(_MasterDataDetailView):
    getter = staticmethod(selectors.staff_get)
    upsert = staticmethod(services.staff_upsert)
    input, output = s.StaffUpsertSerializer, s.StaffSerializer


@_list_schema("customers", s.CustomerSerializer, "region")
class CustomerListView(_MasterDataListView):
    selector = staticmethod(selectors.customer_list)
    output = s.CustomerSerializer
    filters = ("region",)


@_detail_schema("customers", s.CustomerUpsertSerializer, s.CustomerSerializer)
class CustomerDetailView(_MasterDataDetailView):
    getter = staticmethod(selectors.customer_get)
    upsert = staticmethod(services.customer_upsert)
    input, output = s.CustomerUpsertSerializer, s.CustomerSerializer


# --- API keys and audit log -------------------------------------------------------------------------


class ApiKeyListView(TenantAPIView):
    idempotency_redact = ("key",)  # the key is shown once, never stored for a replay

    @extend_schema(tags=["api-keys"], responses={200: s.ApiKeySerializer(many=True)})
    def get(self, request):
        return self.paginated(
            selectors.api_key_list(tenant=self.tenant, actor=self.actor), s.ApiKeySerializer
        )

    @extend_schema(
        tags=["api-keys"],
        request=s.ApiKeyCreateSerializer,
        responses={201: s.ApiKeyCreatedSerializer},
    )
    def post(self, request):
        data = s.ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        api_key, key = services.api_key_create(
            tenant=self.tenant,
            actor=self.actor,
            name=data.validated_data["name"],
            scopes=data.validated_data["scopes"] or None,
        )
        body = {**s.ApiKeySerializer(api_key).data, "key": key}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyRevokeView(TenantAPIView):
    @extend_schema(tags=["api-keys"], request=None, responses={200: s.ApiKeySerializer})
    def post(self, request, id):
        api_key = selectors.api_key_get(tenant=self.tenant, actor=self.actor, id=id)
        api_key = services.api_key_revoke(tenant=self.tenant, actor=self.actor, api_key=api_key)
        return Response(s.ApiKeySerializer(api_key).data)


class AuditLogView(TenantAPIView):
    @extend_schema(
        tags=["audit"],
        parameters=[
            OpenApiParameter("action", str, description="Prefix, e.g. `budget.`"),
            OpenApiParameter("actor", str),
            OpenApiParameter("object_type", str),
        ],
        responses={200: s.AuditEntrySerializer(many=True)},
    )
    def get(self, request):
        qs = selectors.audit_entry_list(
            tenant=self.tenant,
            actor=self.actor,
            action=request.query_params.get("action", ""),
            actor_label=request.query_params.get("actor", ""),
            object_type=request.query_params.get("object_type", ""),
        )
        return self.paginated(qs, s.AuditEntrySerializer)
