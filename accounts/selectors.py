"""Reads of accounts and master data, always inside the tenant and the actor's data scope."""

from collections.abc import Mapping

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import get_objects_for_user

from core.errors import PermissionDeniedError
from core.models import AuditEntry
from core.selectors import filtered, get_visible

from .filters import (
    AuditFilter,
    CustomerFilter,
    MembershipFilter,
    MerchantFilter,
    RegionFilter,
    StaffFilter,
)
from .models import (
    ApiKey,
    BusinessUnit,
    Customer,
    Membership,
    Merchant,
    MerchantStaff,
    PersonalToken,
    Region,
    Tenant,
)
from .permissions import REGION_PERMISSION, Actor
from .roles import Action


def membership_regions(*, membership: Membership) -> list[Region]:
    """The regions granted to a regional operator (django-guardian object permissions)."""
    return list(
        get_objects_for_user(
            membership.user,
            REGION_PERMISSION,
            klass=Region.objects.for_tenant(membership.tenant_id),
            accept_global_perms=False,
        )
    )


# --- users and business units -------------------------------------------------------------------


def membership_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    actor.require(Action.USERS_READ)
    qs = Membership.objects.for_tenant(tenant).select_related("user", "business_unit", "merchant")
    if actor.business_unit_id is not None:
        qs = qs.filter(business_unit_id=actor.business_unit_id)
    return filtered(MembershipFilter, filters, qs)


def membership_get(*, tenant: Tenant, actor: Actor, id: int) -> Membership:
    return get_visible(membership_list(tenant=tenant, actor=actor), pk=id)


def business_unit_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    actor.require(Action.MASTER_DATA_READ)
    qs = BusinessUnit.objects.for_tenant(tenant)
    if actor.business_unit_id is not None:
        qs = qs.filter(pk=actor.business_unit_id)
    return qs


def business_unit_get(*, tenant: Tenant, actor: Actor, code: str) -> BusinessUnit:
    return get_visible(business_unit_list(tenant=tenant, actor=actor), code=code)


# --- master data ---------------------------------------------------------------------------------


def region_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    actor.require(Action.MASTER_DATA_READ)
    qs = Region.objects.for_tenant(tenant).select_related("parent")
    if actor.region_ids is not None:
        qs = qs.filter(pk__in=actor.region_ids)
    return filtered(RegionFilter, filters, qs)


def region_get(*, tenant: Tenant, actor: Actor, code: str) -> Region:
    return get_visible(region_list(tenant=tenant, actor=actor), code=code)


def merchant_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    actor.require(Action.MASTER_DATA_READ)
    qs = Merchant.objects.for_tenant(tenant).select_related("region", "customer")
    if actor.region_ids is not None:
        qs = qs.filter(region_id__in=actor.region_ids)
    if actor.merchant_id is not None:
        qs = qs.filter(pk=actor.merchant_id)
    return filtered(MerchantFilter, filters, qs, tenant=tenant)


def merchant_get(*, tenant: Tenant, actor: Actor, code: str) -> Merchant:
    return get_visible(merchant_list(tenant=tenant, actor=actor), code=code)


def _staff_in_scope(tenant: Tenant, actor: Actor) -> QuerySet:
    qs = MerchantStaff.objects.for_tenant(tenant).select_related("merchant", "user")
    if actor.region_ids is not None:
        qs = qs.filter(merchant__region_id__in=actor.region_ids)
    if actor.merchant_id is not None:
        qs = qs.filter(merchant_id=actor.merchant_id)
    return qs


def staff_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    actor.require(Action.MASTER_DATA_READ)
    return filtered(StaffFilter, filters, _staff_in_scope(tenant, actor))


def staff_get(*, tenant: Tenant, actor: Actor, code: str) -> MerchantStaff:
    """A staff member the actor may see: within their regions and merchant, and for a merchant
    staff member (who reads neither master data nor others' points) only themself."""
    qs = _staff_in_scope(tenant, actor)
    if not (actor.can(Action.MASTER_DATA_READ) or actor.can(Action.POINTS_READ)):
        qs = qs.filter(user=actor.user) if actor.user is not None else qs.none()
    return get_visible(qs, code=code)


def customer_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    actor.require(Action.MASTER_DATA_READ)
    if actor.merchant_id is not None:  # merchant users read their staff, not the customer base
        return Customer.objects.for_tenant(tenant).none()
    qs = Customer.objects.for_tenant(tenant).select_related("region")
    if actor.region_ids is not None:
        qs = qs.filter(region_id__in=actor.region_ids)
    return filtered(CustomerFilter, filters, qs, tenant=tenant)


def customer_get(*, tenant: Tenant, actor: Actor, code: str) -> Customer:
    return get_visible(customer_list(tenant=tenant, actor=actor), code=code)


# --- API keys and the audit log ---------------------------------------------------------------------


def api_key_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    actor.require(Action.USERS_READ)
    if actor.business_unit_id is not None:  # keys are tenant-wide; a BU admin has own BU's users
        raise PermissionDeniedError(_("Only tenant admins and auditors see API keys."))
    return ApiKey.objects.for_tenant(tenant).select_related("created_by")


def api_key_get(*, tenant: Tenant, actor: Actor, id: int) -> ApiKey:
    return get_visible(api_key_list(tenant=tenant, actor=actor), pk=id)


def audit_entry_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    actor.require(Action.AUDIT_READ)
    qs = AuditEntry.objects.for_tenant(tenant)
    if actor.business_unit_id is not None:
        users = Membership.objects.for_tenant(tenant).filter(
            business_unit_id=actor.business_unit_id
        )
        qs = qs.filter(actor_user__in=users.values("user_id"))
    return filtered(AuditFilter, filters, qs)


# --- personal tokens ---------------------------------------------------------------------------------


def _live_tokens(tenant: Tenant) -> QuerySet:
    # An expired token is no credential any more: it is neither listed nor revoked.
    return (
        PersonalToken.objects.for_tenant(tenant)
        .filter(expires_at__gt=timezone.now())
        .select_related("membership__user")
    )


def personal_token_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    """GET /auth/tokens: the live tokens of the calling member."""
    if actor.membership is None:
        raise PermissionDeniedError(_("Only users have personal tokens."))
    return _live_tokens(tenant).filter(membership=actor.membership)


def personal_token_get(*, tenant: Tenant, actor: Actor, id: int) -> PersonalToken:
    """One's own token, or one of a member the actor sees (changing it is the service's call)."""
    if actor.membership is None:
        raise PermissionDeniedError(_("Only users have personal tokens."))
    mine = Q(membership=actor.membership)
    if actor.can(Action.USERS_READ):
        mine |= Q(membership__in=membership_list(tenant=tenant, actor=actor))
    return get_visible(_live_tokens(tenant).filter(mine), pk=id)


def membership_token_list(*, tenant: Tenant, actor: Actor, membership: Membership) -> QuerySet:
    """GET /users/{id}/tokens: a member's live tokens, for whoever reads users (membership_get)."""
    actor.require(Action.USERS_READ)
    return _live_tokens(tenant).filter(membership=membership)


# --- console and portal ---------------------------------------------------------------------------


def membership_list_for_user(*, user) -> QuerySet:
    """The tenants a user may enter (the tenant picker). Spans tenants by design: it is keyed by
    the logged-in user, never by a tenant taken from the request."""
    return (
        Membership.objects.unscoped()
        .select_related("tenant", "business_unit", "merchant")
        .filter(user=user, is_active=True, tenant__is_active=True)
        .order_by("tenant__name")
    )


def membership_staff(*, membership: Membership) -> MerchantStaff | None:
    """The staff record a merchant-staff member is linked to, if any."""
    return (
        MerchantStaff.objects.for_tenant(membership.tenant_id)
        .select_related("merchant", "merchant__region")
        .filter(user_id=membership.user_id)
        .first()
    )


def staff_own_get(*, tenant: Tenant, actor: Actor) -> MerchantStaff | None:
    """The portal's own staff record of a merchant-staff member (None: not linked yet)."""
    actor.require(Action.PORTAL_OWN)
    if actor.membership is None:  # the system actor is no member: no staff record of its own
        return None
    return membership_staff(membership=actor.membership)


def console_counts(*, tenant: Tenant, actor: Actor) -> dict[str, int]:
    """The dashboard's figures: only those the actor's role may read, each in its data scope."""
    counts: dict[str, int] = {}
    if actor.can(Action.USERS_READ):
        counts["users"] = membership_list(tenant=tenant, actor=actor).filter(is_active=True).count()
    if actor.can(Action.USERS_READ) and actor.business_unit_id is None:  # keys are tenant-wide
        counts["api_keys"] = (
            api_key_list(tenant=tenant, actor=actor).filter(revoked_at__isnull=True).count()
        )
    if actor.can(Action.MASTER_DATA_READ):
        counts["regions"] = region_list(tenant=tenant, actor=actor).count()
        counts["merchants"] = merchant_list(tenant=tenant, actor=actor).count()
        counts["staff"] = staff_list(tenant=tenant, actor=actor).count()
        counts["customers"] = customer_list(tenant=tenant, actor=actor).count()
    return counts
