"""Users, their memberships of a tenant, and the region and merchant grants of their role."""

from collections.abc import Iterable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from core.errors import NotFoundError, ValidationFailed
from core.services import audit_record, snapshot

from ..models import (
    BusinessUnit,
    Membership,
    Merchant,
    MerchantStaff,
    PersonalToken,
    Region,
    Tenant,
    User,
)
from ..permissions import MERCHANT_PERMISSION, REGION_PERMISSION, Actor
from ..roles import Action, Role
from ..selectors import membership_regions
from ._common import _require_grantable
from .credentials import _tokens_revoke


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
