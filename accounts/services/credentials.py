"""API keys of integrators and personal tokens of members: created, issued, revoked."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import AuthenticationError, PermissionDeniedError, ValidationFailed
from core.services import audit_record, snapshot

from ..errors import AccountsErrorCode
from ..models import ApiKey, ApiKeyScope, Membership, PersonalToken, Tenant, User
from ..permissions import Actor
from ..roles import Action
from ._common import _require_grantable


def _require_tenant_wide(actor: Actor) -> None:
    """API keys reach the whole tenant, so a business-unit admin (own BU's users) can't hold them."""
    if actor.business_unit_id is not None:
        raise PermissionDeniedError(_("Only tenant admins manage API keys."))


@transaction.atomic
def api_key_create(
    *, tenant: Tenant, actor: Actor, name: str, scopes: Iterable[str] | None = None
) -> tuple[ApiKey, str]:
    """A new integrator key. Returns (row, key): the key is shown once and stored only hashed."""
    actor.require(Action.USERS_MANAGE)
    _require_tenant_wide(actor)
    scopes = sorted(set(scopes or ApiKeyScope.values))
    unknown = set(scopes) - set(ApiKeyScope.values)
    if unknown:
        raise ValidationFailed(
            _("Unknown scopes."), fields={"scopes": [", ".join(sorted(unknown))]}
        )
    prefix, key = ApiKey.new_secret()
    api_key = ApiKey.objects.create(
        tenant=tenant,
        name=name,
        prefix=prefix,
        key_hash=ApiKey.digest(key),
        scopes=scopes,
        created_by=actor.user,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="api_key.create",
        obj=api_key,
        after={"name": name, "scopes": scopes, "prefix": prefix},
    )
    return api_key, key


@transaction.atomic
def api_key_revoke(*, tenant: Tenant, actor: Actor, api_key: ApiKey) -> ApiKey:
    actor.require(Action.USERS_MANAGE)
    _require_tenant_wide(actor)
    if api_key.revoked_at is None:
        before = snapshot(api_key, fields=["name", "scopes", "revoked_at"])
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            tenant=tenant,
            actor=actor,
            action="api_key.revoke",
            obj=api_key,
            before=before,
            after=snapshot(api_key, fields=["name", "scopes", "revoked_at"]),
        )
    return api_key


def personal_token_create(*, membership: Membership) -> tuple[PersonalToken, str]:
    """A new token of this membership, valid for the tenant's token lifetime."""
    prefix, key = PersonalToken.new_secret()
    token = PersonalToken.objects.create(
        tenant=membership.tenant,
        membership=membership,
        prefix=prefix,
        key_hash=PersonalToken.digest(key),
        expires_at=PersonalToken.expiry_for(membership.tenant),
    )
    return token, key


def _token_snapshot(token: PersonalToken) -> dict:
    data = snapshot(token, fields=["prefix", "created_at", "expires_at", "last_used_at"])
    data["user"] = token.membership.user.get_username()
    return data


def _tokens_revoke(*, tenant: Tenant, actor: Actor, tokens, reason: str) -> int:
    """Delete these tokens of the tenant, one audit entry each. A revoked token is gone: it only
    ever stood for a login, and nothing may bring it back."""
    tokens = list(tokens.select_related("membership__user"))
    for token in tokens:
        audit_record(
            tenant=tenant,
            actor=actor,
            action="personal_token.revoke",
            obj=token,
            before=_token_snapshot(token),
            note=reason,
        )
    PersonalToken.objects.for_tenant(tenant).filter(pk__in=[t.pk for t in tokens]).delete()
    return len(tokens)


def _require_token_manager(actor: Actor, membership: Membership) -> None:
    """One's own tokens are one's own; anybody else's are revoked by whoever may change them."""
    if actor.membership is not None and membership.pk == actor.membership.pk:
        return
    actor.require(Action.USERS_MANAGE)
    _require_grantable(actor, role=membership.role, business_unit_id=membership.business_unit_id)


@transaction.atomic
def personal_token_revoke(*, tenant: Tenant, actor: Actor, token: PersonalToken) -> None:
    """DELETE /auth/tokens/{id}: one's own token, or a member's as their user manager."""
    _require_token_manager(actor, token.membership)
    _tokens_revoke(
        tenant=tenant,
        actor=actor,
        tokens=PersonalToken.objects.for_tenant(tenant).filter(pk=token.pk),
        reason=_("revoked"),
    )


@transaction.atomic
def membership_tokens_revoke(*, tenant: Tenant, actor: Actor, membership: Membership) -> int:
    """DELETE /users/{id}/tokens: every token of one member (a lost laptop, a leaked script)."""
    _require_token_manager(actor, membership)
    return _tokens_revoke(
        tenant=tenant,
        actor=actor,
        tokens=PersonalToken.objects.for_tenant(tenant).filter(membership=membership),
        reason=_("all tokens revoked"),
    )


@transaction.atomic
def user_password_changed(*, user: User) -> int:
    """A new password ends every token the old one issued, in each of the user's tenants.

    Called on every save of a changed password (accounts.signals), so the console, the admin and
    `manage.py changepassword` alike; who changed it is unknown there, so the system signs it.
    """
    # Keyed by the user, across their tenants by design (like membership_list_for_user).
    tenants = Tenant.objects.filter(
        pk__in=PersonalToken.objects.unscoped().filter(membership__user=user).values("tenant_id")
    )
    revoked = 0
    for tenant in tenants:
        revoked += _tokens_revoke(
            tenant=tenant,
            actor=Actor.for_system(tenant),
            tokens=PersonalToken.objects.for_tenant(tenant).filter(membership__user=user),
            reason=_("password changed"),
        )
    return revoked


def token_issue(
    *, username: str, password: str, tenant_slug: str = "", request=None
) -> tuple[Membership, str]:
    """POST /auth/token: a token for one membership; several tenants need `tenant`."""
    from django.contrib.auth import authenticate

    user = authenticate(request, username=username, password=password)  # request: for axes
    if user is None:
        raise AuthenticationError(_("Wrong username or password."))
    memberships = (
        Membership.objects.unscoped()
        .select_related("tenant", "user")
        .filter(user=user, is_active=True, tenant__is_active=True)
    )
    if tenant_slug:
        memberships = memberships.filter(tenant__slug=tenant_slug)
    found = list(memberships[:2])
    if not found:
        raise AuthenticationError(_("You are not a member of this tenant."))
    if len(found) > 1:
        raise ValidationFailed(
            _("You belong to several tenants: send `tenant` with the tenant's slug."),
            code=AccountsErrorCode.TENANT_REQUIRED,
            fields={"tenant": [_("This field is required for a user of several tenants.")]},
        )
    membership = found[0]
    _token, key = personal_token_create(membership=membership)
    return membership, key
