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
from web.api.views import ListCreateView, ListView, ObjectDetailView, TenantAPIView

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


@extend_schema_view(
    get=extend_schema(
        tags=["auth"],
        responses={200: s.PersonalTokenSerializer(many=True)},
        description="The caller's own live tokens.",
    )
)
class TokenListView(ListView):
    selector = staticmethod(selectors.personal_token_list)
    filterable = False
    output = s.PersonalTokenSerializer


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


@extend_schema_view(
    get=extend_schema(
        tags=["users"],
        parameters=[OpenApiParameter("search", str), OpenApiParameter("role", str)],
        responses={200: s.MembershipSerializer(many=True)},
    ),
    post=extend_schema(
        tags=["users"], request=s.UserCreateSerializer, responses={201: s.MembershipSerializer}
    ),
)
class UserListView(ListCreateView):
    selector = staticmethod(selectors.membership_list)
    output = s.MembershipSerializer
    input = s.UserCreateSerializer
    create = staticmethod(services.user_create)


@extend_schema_view(get=extend_schema(tags=["users"], responses={200: s.MembershipSerializer}))
class UserDetailView(ObjectDetailView):
    getter = staticmethod(selectors.membership_get)
    output = s.MembershipSerializer

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


@extend_schema_view(
    get=extend_schema(tags=["users"], responses={200: s.BusinessUnitSerializer(many=True)}),
    post=extend_schema(
        tags=["users"], request=s.BusinessUnitSerializer, responses={201: s.BusinessUnitSerializer}
    ),
)
class BusinessUnitListView(ListCreateView):
    selector = staticmethod(selectors.business_unit_list)
    filterable = False
    output = s.BusinessUnitSerializer
    input = s.BusinessUnitSerializer
    create = staticmethod(services.business_unit_create)


# --- master data: GET list, GET one, PUT upsert by code (integration endpoints) ------------------

SEARCH = OpenApiParameter("search", str, description="Matches code or name.")


class _MasterDataDetailView(ObjectDetailView):
    """GET reads one by code; PUT creates or updates it (201 when created, else 200)."""

    api_key_scope = ApiKeyScope.MASTER_DATA
    upsert: Callable[..., tuple[Any, bool]] | None = None
    input: type[BaseSerializer] | None = None

    def get(self, request, code):
        self.actor.require(Action.MASTER_DATA_READ)  # staff_get alone lets a member see themself
        return super().get(request, code=code)

    def put(self, request, code):
        data = self.input(data=request.data, context={"tenant": self.tenant})
        data.is_valid(raise_exception=True)
        values = data.service_kwargs() if hasattr(data, "service_kwargs") else data.validated_data
        row, created = self.upsert(tenant=self.tenant, actor=self.actor, code=code, **values)
        return Response(
            self.output(row).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema_view(
    get=extend_schema(
        tags=["regions"], parameters=[SEARCH], responses={200: s.RegionSerializer(many=True)}
    )
)
class RegionListView(ListView):
    api_key_scope = ApiKeyScope.MASTER_DATA
    selector = staticmethod(selectors.region_list)
    output = s.RegionSerializer


@extend_schema_view(
    get=extend_schema(tags=["regions"], responses={200: s.RegionSerializer}),
    put=extend_schema(
        tags=["regions"],
        request=s.RegionUpsertSerializer,
        responses={200: s.RegionSerializer, 201: s.RegionSerializer},
    ),
)
class RegionDetailView(_MasterDataDetailView):
    getter = staticmethod(selectors.region_get)
    upsert = staticmethod(services.region_upsert)
    input, output = s.RegionUpsertSerializer, s.RegionSerializer


@extend_schema_view(
    get=extend_schema(
        tags=["merchants"],
        parameters=[SEARCH, OpenApiParameter("region", str)],
        responses={200: s.MerchantSerializer(many=True)},
    )
)
class MerchantListView(ListView):
    api_key_scope = ApiKeyScope.MASTER_DATA
    selector = staticmethod(selectors.merchant_list)
    output = s.MerchantSerializer


@extend_schema_view(
    get=extend_schema(tags=["merchants"], responses={200: s.MerchantSerializer}),
    put=extend_schema(
        tags=["merchants"],
        request=s.MerchantUpsertSerializer,
        responses={200: s.MerchantSerializer, 201: s.MerchantSerializer},
    ),
)
class MerchantDetailView(_MasterDataDetailView):
    getter = staticmethod(selectors.merchant_get)
    upsert = staticmethod(services.merchant_upsert)
    input, output = s.MerchantUpsertSerializer, s.MerchantSerializer


@extend_schema_view(
    get=extend_schema(
        tags=["staff"],
        parameters=[SEARCH, OpenApiParameter("merchant", str)],
        responses={200: s.StaffSerializer(many=True)},
    )
)
class StaffListView(ListView):
    api_key_scope = ApiKeyScope.MASTER_DATA
    selector = staticmethod(selectors.staff_list)
    output = s.StaffSerializer


@extend_schema_view(
    get=extend_schema(tags=["staff"], responses={200: s.StaffSerializer}),
    put=extend_schema(
        tags=["staff"],
        request=s.StaffUpsertSerializer,
        responses={200: s.StaffSerializer, 201: s.StaffSerializer},
    ),
)
class StaffDetailView(_MasterDataDetailView):
    getter = staticmethod(selectors.staff_get)
    upsert = staticmethod(services.staff_upsert)
    input, output = s.StaffUpsertSerializer, s.StaffSerializer


@extend_schema_view(
    get=extend_schema(
        tags=["customers"],
        parameters=[SEARCH, OpenApiParameter("region", str)],
        responses={200: s.CustomerSerializer(many=True)},
    )
)
class CustomerListView(ListView):
    api_key_scope = ApiKeyScope.MASTER_DATA
    selector = staticmethod(selectors.customer_list)
    output = s.CustomerSerializer


@extend_schema_view(
    get=extend_schema(tags=["customers"], responses={200: s.CustomerSerializer}),
    put=extend_schema(
        tags=["customers"],
        request=s.CustomerUpsertSerializer,
        responses={200: s.CustomerSerializer, 201: s.CustomerSerializer},
    ),
)
class CustomerDetailView(_MasterDataDetailView):
    getter = staticmethod(selectors.customer_get)
    upsert = staticmethod(services.customer_upsert)
    input, output = s.CustomerUpsertSerializer, s.CustomerSerializer


# --- API keys and audit log -------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(tags=["api-keys"], responses={200: s.ApiKeySerializer(many=True)})
)
class ApiKeyListView(ListView):
    selector = staticmethod(selectors.api_key_list)
    filterable = False
    output = s.ApiKeySerializer
    idempotency_redact = ("key",)  # the key is shown once, never stored for a replay

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


@extend_schema_view(
    get=extend_schema(
        tags=["audit"],
        parameters=[
            OpenApiParameter("action", str, description="Prefix, e.g. `budget.`"),
            OpenApiParameter("actor", str),
            OpenApiParameter("object_type", str),
        ],
        responses={200: s.AuditEntrySerializer(many=True)},
    )
)
class AuditLogView(ListView):
    selector = staticmethod(selectors.audit_entry_list)
    output = s.AuditEntrySerializer
