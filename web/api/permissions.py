from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from accounts.permissions import Actor

ANY_API_KEY = "*"  # api_key_scope of endpoints every key may call, whatever its scopes


class IsTenantMember(BasePermission):
    """The caller acts inside one tenant: a membership (session or token) or an API key.

    API keys reach only the integration endpoints, which name the scope they need in
    `api_key_scope`; management endpoints leave it None and need a user.
    """

    def has_permission(self, request, view):
        actor = request.auth
        if not isinstance(actor, Actor):
            if not (request.user and request.user.is_authenticated):
                raise exceptions.NotAuthenticated()
            raise exceptions.PermissionDenied(
                _("Choose a tenant first (POST /api/v1/auth/token with `tenant`).")
            )
        if actor.api_key is not None:
            scope = getattr(view, "api_key_scope", None)
            if scope is None:
                raise exceptions.PermissionDenied(
                    _("API keys call the integration endpoints only; this one needs a user.")
                )
            if scope != ANY_API_KEY and scope not in actor.api_key.scopes:
                raise exceptions.PermissionDenied(_("This API key lacks the scope “%s”.") % scope)
        return True
