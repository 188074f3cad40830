"""API authentication: integrator keys, personal tokens and console sessions.

Each returns (user, Actor): the actor carries the tenant, which therefore always comes from the
credential and never from the request body.
"""

import hmac
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from .models import ApiKey, Membership, PersonalToken
from .permissions import Actor

LAST_USED_RESOLUTION = timedelta(minutes=1)  # don't turn every call into a write on one hot row


class ApiKeyUser:
    """Stands in for request.user when an integrator's key authenticated the call."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.username = f"api-key:{api_key.name}"

    def __str__(self):
        return self.username


def _split_credential(raw: str, expected_kind: str) -> str | None:
    """'pk_<prefix>_<secret>' → prefix, if it is of the expected kind."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != expected_kind:
        return None
    return parts[1]


def _touch(model, row) -> None:
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        model.objects.for_tenant(row.tenant_id).filter(pk=row.pk).update(last_used_at=now)


class _HeaderCredential(authentication.BaseAuthentication):
    keyword = ""

    def credential(self, request) -> str | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        keyword, _sep, value = header.partition(" ")
        if keyword != self.keyword:
            return None
        value = value.strip()
        if not value:
            raise exceptions.AuthenticationFailed(_("Empty credential."))
        return value

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class ApiKeyAuthentication(_HeaderCredential):
    keyword = "Api-Key"

    def authenticate(self, request):
        raw = self.credential(request)
        if raw is None:
            return None
        prefix = _split_credential(raw, "pk")
        api_key = (
            ApiKey.objects.unscoped().select_related("tenant").filter(prefix=prefix).first()
            if prefix
            else None
        )
        if (
            api_key is None
            or not hmac.compare_digest(api_key.key_hash, ApiKey.digest(raw))
            or not api_key.is_active
            or not api_key.tenant.is_active
        ):
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        _touch(ApiKey, api_key)
        return ApiKeyUser(api_key), Actor(tenant=api_key.tenant, api_key=api_key)


class PersonalTokenAuthentication(_HeaderCredential):
    keyword = "Token"

    def authenticate(self, request):
        raw = self.credential(request)
        if raw is None:
            return None
        prefix = _split_credential(raw, "pt")
        token = (
            PersonalToken.objects.unscoped()
            .select_related("tenant", "membership__user", "membership__tenant")
            .filter(prefix=prefix)
            .first()
            if prefix
            else None
        )
        if (
            token is None
            or not hmac.compare_digest(token.key_hash, PersonalToken.digest(raw))
            or token.is_expired
            or not token.membership.is_active
            or not token.membership.user.is_active
            or not token.tenant.is_active
        ):
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        _touch(PersonalToken, token)
        return token.membership.user, Actor(tenant=token.tenant, membership=token.membership)


SESSION_TENANT_KEY = "tenant_id"


def membership_for_session(request, user) -> Membership | None:
    """The membership of the tenant the user picked after login (or their only one)."""
    memberships = (
        Membership.objects.unscoped()
        .select_related("tenant", "user")
        .filter(user=user, is_active=True, tenant__is_active=True)
    )
    tenant_id = request.session.get(SESSION_TENANT_KEY)
    if tenant_id is not None:
        return memberships.filter(tenant_id=tenant_id).first()
    only = list(memberships[:2])
    return only[0] if len(only) == 1 else None


class TenantSessionAuthentication(authentication.SessionAuthentication):
    """Console users calling the API from the browser: the session's chosen tenant."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _auth = result
        membership = membership_for_session(request._request, user)
        if membership is None:
            return user, None
        return user, Actor(tenant=membership.tenant, membership=membership)
