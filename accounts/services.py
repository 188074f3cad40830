"""Every write of tenants, users, roles, grants, master data and API keys (audited)."""

from collections.abc import Iterable
from datetime import date

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from core.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
)
from core.services import audit_record, snapshot
from core.tenant_setup import tenant_setup_run

from .errors import AccountsErrorCode
from .models import (
    ApiKey,
    ApiKeyScope,
    BusinessUnit,
    Customer,
    Membership,
    Merchant,
    MerchantStaff,
    PersonalToken,
    Region,
    Tenant,
    User,
)
from .permissions import MERCHANT_PERMISSION, REGION_PERMISSION, Actor
from .roles import Action, Role
from .selectors import membership_regions

# --- tenants ----------------------------------------------------------------------------------


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str,
    time_zone: str = "",
    currency: str = "",
) -> Tenant:
    """A new tenant with what the apps set up for it (default channels …) and a first tenant admin who logs in by e-mail."""
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationFailed(_("Tenant “%s” already exists.") % slug, fields={"slug": ["taken"]})
    tenant = Tenant(slug=slug, name=name)
    if time_zone:
        tenant.time_zone = time_zone
    if currency:
        tenant.currency = currency
    tenant.full_clean()
    tenant.save()
    tenant_setup_run(tenant=tenant)  # default channels and whatever else apps register
    system = Actor.for_system(tenant)
    audit_record(tenant=tenant, actor=system, action="tenant.create", obj=tenant)
    user_create(
        tenant=tenant,
        actor=system,
        username=admin_email.lower(),
        email=admin_email,
        password=admin_password,
        role=Role.TENANT_ADMIN,
    )
    return tenant


# --- users, memberships and grants --------------------------------------------------------------


def _membership_snapshot(membership: Membership) -> dict:
    data = snapshot(membership, fields=["role", "business_unit", "merchant", "is_active"])
    data["user"] = membership.user.get_username()
    data["regions"] = sorted(r.code for r in membership_regions(membership=membership))
    return data


def _check_role_fields(
    *, tenant: Tenant, actor: Actor, role: str, business_unit, regions, merchant, staff
) -> None:
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [_("Unknown role.")]
    if role == Role.BU_ADMIN and business_unit is None:
        errors["business_unit"] = [_("A business-unit admin needs a business unit.")]
    if role == Role.REGIONAL_OPERATOR and not regions:
        errors["regions"] = [_("A regional operator needs at least one region.")]
    if role != Role.REGIONAL_OPERATOR and regions:
        errors["regions"] = [_("Only regional operators are limited to regions.")]
    if role in (Role.MERCHANT_ADMIN, Role.MERCHANT_STAFF) and merchant is None:
        errors["merchant"] = [_("Merchant roles need a merchant.")]
    if staff is not None and (role != Role.MERCHANT_STAFF or staff.merchant_id != merchant.pk):
        errors["staff"] = [_("Only merchant staff of the same merchant link to a staff record.")]
    if errors:
        raise ValidationFailed(_("Check the role and its scope."), fields=errors)
    _require_grantable(
        actor, role=role, business_unit_id=business_unit.pk if business_unit else None
    )


def _require_grantable(actor: Actor, *, role: str, business_unit_id: int | None) -> None:
    """Nobody grants a role or scope wider than their own: a business-unit admin gives only the
    business-unit admin role of their own unit; finance, auditors, operators and the rest reach
    beyond any unit and are given by a tenant admin (issue 12 item 1)."""
    if not actor.may_grant(role, business_unit_id):
        raise PermissionDeniedError(
            _(
                "You may give only roles inside your own business unit: a business-unit admin "
                "of your unit. Other roles reach beyond it; ask a tenant admin."
            ),
            code=AccountsErrorCode.ROLE_NOT_GRANTABLE,
        )


def _set_region_grants(*, membership: Membership, regions: Iterable[Region]) -> None:
    wanted = {r.pk: r for r in regions}
    current = {r.pk: r for r in membership_regions(membership=membership)}
    for pk in current.keys() - wanted.keys():
        remove_perm(REGION_PERMISSION, membership.user, current[pk])
    for pk in wanted.keys() - current.keys():
        assign_perm(REGION_PERMISSION, membership.user, wanted[pk])


def _set_merchant_grant(
    *, user: User, tenant: Tenant, merchant: Merchant | None, role: str
) -> None:
    # Revoke by the grants themselves: the membership already points at the new merchant.
    granted = get_objects_for_user(
        user,
        MERCHANT_PERMISSION,
        klass=Merchant.objects.for_tenant(tenant),
        accept_global_perms=False,
    )
    for old in granted:
        if old != merchant or role != Role.MERCHANT_ADMIN:
            remove_perm(MERCHANT_PERMISSION, user, old)
    if merchant is not None and role == Role.MERCHANT_ADMIN:
        assign_perm(MERCHANT_PERMISSION, user, merchant)


@transaction.atomic
def user_create(
    *,
    tenant: Tenant,
    actor: Actor,
    username: str,
    password: str,
    email: str = "",
    role: str,
    first_name: str = "",
    last_name: str = "",
    business_unit: BusinessUnit | None = None,
    regions: Iterable[Region] = (),
    merchant: Merchant | None = None,
    staff: MerchantStaff | None = None,
) -> Membership:
    """A new user with one membership in this tenant (SPEC §8 POST /users)."""
    actor.require(Action.USERS_MANAGE)
    regions = list(regions)
    if actor.business_unit_id is not None and business_unit is None:
        business_unit = BusinessUnit.objects.for_tenant(tenant).get(pk=actor.business_unit_id)
    _check_role_fields(
        tenant=tenant,
        actor=actor,
        role=role,
        business_unit=business_unit,
        regions=regions,
        merchant=merchant,
        staff=staff,
    )
    errors: dict[str, list[str]] = {}
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        errors["password"] = list(exc.messages)
    taken = User.objects.filter(username=username).exists() or (
        email and User.objects.filter(email__iexact=email).exists()
    )
    if taken:
        errors.update(_identity_unavailable(email=email))
    if errors:
        raise ValidationFailed(_("The user could not be created."), fields=errors)
    user.set_password(password)
    try:
        with transaction.atomic():  # a concurrent create of the same name: the same answer
            user.save()
    except IntegrityError:
        raise ValidationFailed(
            _("The user could not be created."), fields=_identity_unavailable(email=email)
        ) from None
    membership = Membership.objects.create(
        tenant=tenant, user=user, role=role, business_unit=business_unit, merchant=merchant
    )
    _apply_grants(membership=membership, regions=regions, staff=staff)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="user.create",
        obj=membership,
        after=_membership_snapshot(membership),
    )
    return membership


def _identity_unavailable(*, email: str) -> dict[str, list[str]]:
    """Usernames and e-mails are global (one login, memberships in several tenants), so a name in
    use may belong to another tenant. The answer says neither which field nor where it is used:
    taken here, taken elsewhere and both read alike (issue 12 item 3, docs/decisions.md)."""
    message = _("This username or e-mail address cannot be used. Choose another.")
    return {"username": [message], "email": [message]} if email else {"username": [message]}


def _apply_grants(*, membership: Membership, regions: list[Region], staff) -> None:
    user, tenant = membership.user, membership.tenant
    _set_region_grants(membership=membership, regions=regions)
    _set_merchant_grant(
        user=user, tenant=tenant, merchant=membership.merchant, role=membership.role
    )
    linked = MerchantStaff.objects.for_tenant(tenant).filter(user=user)
    if staff is not None:
        linked.exclude(pk=staff.pk).update(user=None)
        staff.user = user
        staff.save(update_fields=["user", "updated_at"])
    elif membership.role != Role.MERCHANT_STAFF:  # only merchant staff log in as a staff record
        linked.update(user=None)


@transaction.atomic
def membership_update(
    *,
    tenant: Tenant,
    actor: Actor,
    membership: Membership,
    role: str,
    business_unit: BusinessUnit | None = None,
    regions: Iterable[Region] = (),
    merchant: Merchant | None = None,
    staff: MerchantStaff | None = None,
    is_active: bool = True,
) -> Membership:
    """Change a member's role, scope and grants; the before and after go to the audit log."""
    actor.require(Action.USERS_MANAGE)
    regions = list(regions)
    if actor.business_unit_id is not None and membership.business_unit_id != actor.business_unit_id:
        raise NotFoundError(_("Not found."))
    # Changing someone is taking their current role away: that too needs the wider scope.
    _require_grantable(actor, role=membership.role, business_unit_id=membership.business_unit_id)
    if (
        actor.membership is not None
        and membership.pk == actor.membership.pk
        and (role != membership.role or not is_active)
    ):
        raise ValidationFailed(_("You cannot change your own role or deactivate yourself."))
    _check_role_fields(
        tenant=tenant,
        actor=actor,
        role=role,
        business_unit=business_unit,
        regions=regions,
        merchant=merchant,
        staff=staff,
    )
    before = _membership_snapshot(membership)
    role_changed = role != membership.role
    membership.role = role
    membership.business_unit = business_unit
    membership.merchant = merchant
    membership.is_active = is_active
    membership.save()
    _apply_grants(membership=membership, regions=regions, staff=staff)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="membership.update",
        obj=membership,
        before=before,
        after=_membership_snapshot(membership),
    )
    if not is_active or role_changed:
        # A token handed to a script under the old role must not live on under the new one.
        _tokens_revoke(
            tenant=tenant,
            actor=actor,
            tokens=PersonalToken.objects.for_tenant(tenant).filter(membership=membership),
            reason="membership deactivated" if not is_active else "role changed",
        )
    return membership


@transaction.atomic
def business_unit_create(*, tenant: Tenant, actor: Actor, code: str, name: str) -> BusinessUnit:
    actor.require(Action.USERS_MANAGE)
    if actor.business_unit_id is not None:
        raise PermissionDeniedError(_("Only tenant admins create business units."))
    if BusinessUnit.objects.for_tenant(tenant).filter(code=code).exists():
        raise ValidationFailed(_("Code in use."), fields={"code": [_("This code is taken.")]})
    unit = BusinessUnit.objects.create(tenant=tenant, code=code, name=name)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="business_unit.create",
        obj=unit,
        after=snapshot(unit, fields=["code", "name"]),
    )
    return unit


# --- master data (integrator upserts, SPEC §8) --------------------------------------------------


def _region_ids(region: Region | None) -> list[int]:
    """A row's region as `Actor.owns_wholly` takes it: a row in no region is in none of theirs."""
    return [region.pk] if region is not None else []


def _require_region_scope(actor: Actor, region: Region | None) -> None:
    """A regional operator writes only inside their regions."""
    actor.require_owns_wholly(
        region_ids=_region_ids(region), message=_("This is outside your regions.")
    )


def _upsert(
    *,
    tenant: Tenant,
    actor: Actor,
    model,
    code: str,
    values: dict,
    audit_fields: list[str],
    region_of=None,
):
    """Create or update the row with this code; `region_of(row)` is its region for the scope."""
    actor.require(Action.MASTER_DATA_MANAGE)
    max_length = model._meta.get_field("code").max_length
    if len(code) > max_length:  # the code comes from the URL, past every serializer
        raise ValidationFailed(
            _("Invalid input: code."),
            fields={"code": [_("At most %(n)d characters.") % {"n": max_length}]},
        )
    rows = model.objects.for_tenant(tenant).select_for_update()
    row = rows.filter(code=code).first()
    created = row is None
    if created:
        try:
            # A concurrent upsert of the same code may win the insert: then update its row.
            with transaction.atomic():
                row = model(tenant=tenant, code=code, **values)
                row.save()
        except IntegrityError:
            row = rows.filter(code=code).first()
            if row is None:  # another constraint failed, not the code's
                raise
            created = False
    # An existing row outside the operator's regions is invisible to them (like on GET), so
    # they can neither change it nor move it into their regions.
    hidden = (
        not created
        and region_of is not None
        and actor.is_regional  # the only ones bounded by regions: nobody else reads the region
        and not actor.owns_wholly(region_ids=_region_ids(region_of(row)))
    )
    if hidden:
        raise NotFoundError(_("Not found."))
    before = None if created else snapshot(row, fields=audit_fields)
    if not created:
        for field, value in values.items():
            setattr(row, field, value)
        row.save()
    after = snapshot(row, fields=audit_fields)
    if created or after != before:
        audit_record(
            tenant=tenant,
            actor=actor,
            action=f"{model._meta.model_name}.upsert",
            obj=row,
            before=before,
            after=after,
        )
    return row, created


@transaction.atomic
def region_upsert(
    *, tenant: Tenant, actor: Actor, code: str, name: str, parent: Region | None = None
) -> tuple[Region, bool]:
    if actor.region_ids is not None:
        raise PermissionDeniedError(_("Regional operators cannot change the region tree."))
    if parent is not None:
        node: Region | None = parent
        while node is not None:  # a region may not end up below itself
            if node.code == code:
                raise ValidationFailed(
                    _("A region cannot be its own ancestor."), fields={"parent": [_("Cycle.")]}
                )
            node = node.parent
    return _upsert(
        tenant=tenant,
        actor=actor,
        model=Region,
        code=code,
        values={"name": name, "parent": parent},
        audit_fields=["name", "parent"],
    )


@transaction.atomic
def merchant_upsert(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    name: str,
    region: Region | None = None,
    is_active: bool = True,
) -> tuple[Merchant, bool]:
    _require_region_scope(actor, region)
    return _upsert(
        tenant=tenant,
        actor=actor,
        model=Merchant,
        code=code,
        values={"name": name, "region": region, "is_active": is_active},
        audit_fields=["name", "region", "is_active"],
        region_of=lambda row: row.region,
    )


@transaction.atomic
def staff_upsert(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    name: str,
    merchant: Merchant,
    phone: str = "",
    is_active: bool = True,
) -> tuple[MerchantStaff, bool]:
    _require_region_scope(actor, merchant.region)
    return _upsert(
        tenant=tenant,
        actor=actor,
        model=MerchantStaff,
        code=code,
        values={"name": name, "merchant": merchant, "phone": phone, "is_active": is_active},
        audit_fields=["name", "merchant", "phone", "is_active"],
        region_of=lambda row: row.merchant.region,
    )


@transaction.atomic
def customer_upsert(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    name: str = "",
    registered_on: date | None = None,
    region: Region | None = None,
    tags: list[str] | None = None,
    last_order_on: date | None = None,
    phone_fingerprint: str = "",
    device_fingerprint: str = "",
) -> tuple[Customer, bool]:
    _require_region_scope(actor, region)
    return _upsert(
        tenant=tenant,
        actor=actor,
        model=Customer,
        code=code,
        values={
            "name": name,
            "registered_on": registered_on,
            "region": region,
            "tags": sorted(set(tags or [])),
            "last_order_on": last_order_on,
            "phone_fingerprint": phone_fingerprint,
            "device_fingerprint": device_fingerprint,
        },
        audit_fields=["name", "registered_on", "region", "tags", "last_order_on"],
        region_of=lambda row: row.region,
    )


# --- API keys and personal tokens ---------------------------------------------------------------


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
