"""Who is acting, and the one permission check every service calls (SPEC §7)."""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from django.utils.translation import gettext as _
from guardian.shortcuts import get_objects_for_user

from core.errors import PermissionDeniedError

from .errors import AccountsErrorCode
from .models import ApiKey, ApiKeyScope, Membership, Region, Tenant
from .regions import region_descendant_ids
from .roles import Action, Role, role_can

# What an integrator's key may do, by scope. Keys reach integration endpoints only.
SCOPE_ACTIONS: dict[str, frozenset[Action]] = {
    ApiKeyScope.MASTER_DATA: frozenset({Action.MASTER_DATA_MANAGE, Action.MASTER_DATA_READ}),
    ApiKeyScope.ORDERS: frozenset({Action.ORDERS_WRITE, Action.ORDERS_READ}),
    ApiKeyScope.COUPONS: frozenset(
        {Action.COUPONS_SUPPORT, Action.COUPONS_SUPPORT_READ, Action.COUPONS_ISSUE}
    ),
    ApiKeyScope.POINTS: frozenset({Action.POINTS_READ}),
}

# The roles a business unit bounds (see `Actor.business_unit_id`): only the BU admin's. Every
# other role reaches across units: operator, finance and auditor the whole tenant, a regional
# operator regions and merchant users a merchant, and no unit contains a region or a merchant.
BU_BOUNDED_ROLES = frozenset({Role.BU_ADMIN})

REGION_PERMISSION = "accounts.operate_region"
MERCHANT_PERMISSION = "accounts.manage_merchant"


@dataclass(eq=False)
class Actor:
    """The tenant and the membership or API key behind a request, task or command."""

    tenant: Tenant
    membership: Membership | None = None
    api_key: ApiKey | None = None
    system: bool = False  # management commands and periodic tasks

    @classmethod
    def for_system(cls, tenant: Tenant) -> "Actor":
        return cls(tenant=tenant, system=True)

    @property
    def user(self):
        return self.membership.user if self.membership else None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def label(self) -> str:
        if self.membership:
            return self.membership.user.get_username()
        if self.api_key:
            return f"api-key:{self.api_key.name}"
        return "system"

    def has_scope(self, scope: str) -> bool:
        return self.api_key is not None and scope in self.api_key.scopes

    def can(self, action: Action) -> bool:
        if self.system:
            return True
        if self.api_key is not None:
            return any(action in SCOPE_ACTIONS[s] for s in self.api_key.scopes)
        return self.membership is not None and role_can(self.membership.role, action)

    def require(self, action: Action) -> None:
        if not self.can(action):
            raise PermissionDeniedError(_("You do not have permission to perform this action."))

    def may_grant(self, role: str, business_unit_id: int | None) -> bool:
        """Whether this actor may give (or take from) someone this role and unit: nobody grants a
        role or scope wider than their own (issue 12). Roles' own checks come first."""
        if self.system:
            return True
        if not self.can(Action.USERS_MANAGE):
            return False
        if self.business_unit_id is None:  # a tenant admin: the whole tenant is theirs
            return True
        return role in BU_BOUNDED_ROLES and business_unit_id == self.business_unit_id

    def grantable_roles(self) -> list[str]:
        """The roles this actor may give someone (for the console's choices)."""
        if self.business_unit_id is not None:
            return [r for r in Role.values if r in BU_BOUNDED_ROLES]
        return list(Role.values) if self.can(Action.USERS_MANAGE) else []

    # --- data scope ---------------------------------------------------------------------
    @property
    def is_regional(self) -> bool:
        return self.role == Role.REGIONAL_OPERATOR

    @property
    def business_unit_id(self) -> int | None:
        """The unit a business-unit admin is limited to; None means no such limit."""
        membership = self.membership
        return (
            membership.business_unit_id if membership and membership.role == Role.BU_ADMIN else None
        )

    @property
    def merchant_id(self) -> int | None:
        membership = self.membership
        if membership and membership.role in (Role.MERCHANT_ADMIN, Role.MERCHANT_STAFF):
            return membership.merchant_id
        return None

    @cached_property
    def region_ids(self) -> frozenset[int] | None:
        """Regions a regional operator may touch (granted ones and all below them); None = all."""
        if self.membership is None or not self.is_regional:
            return None
        granted = get_objects_for_user(
            self.membership.user,
            REGION_PERMISSION,
            klass=Region.objects.for_tenant(self.tenant),
            accept_global_perms=False,
        ).values_list("id", flat=True)
        return frozenset(region_descendant_ids(tenant=self.tenant, region_ids=set(granted)))

    def owns_wholly(
        self, *, region_ids: Iterable[int] | None = None, business_unit_id: int | None = None
    ) -> bool:
        """Whether what a write changes is wholly this actor's: the one write-scope rule.

        A regional operator is bounded by regions: every region given must be theirs, and there
        must be at least one (what names no region reaches everywhere). A business-unit admin is
        bounded by their unit: the unit given must be theirs. Pass what the noun is tied to; a
        bound left out (None) is not at stake, so a BU admin's merchant upsert passes regions
        only. Everyone else (tenant-wide roles, API keys, the system) owns everything here; a
        merchant user's bound is their merchant, which `accounts.scope` checks.
        """
        if self.region_ids is not None and region_ids is not None:
            wanted = set(region_ids)
            if not wanted or not wanted <= self.region_ids:
                return False
        if self.business_unit_id is not None and business_unit_id is not None:
            return business_unit_id == self.business_unit_id
        return True

    def require_owns_wholly(
        self,
        *,
        message: str,
        region_ids: Iterable[int] | None = None,
        business_unit_id: int | None = None,
    ) -> None:
        """`owns_wholly`, or 403 out_of_scope with `message` (visible, but not all theirs)."""
        if not self.owns_wholly(region_ids=region_ids, business_unit_id=business_unit_id):
            raise PermissionDeniedError(message, code=AccountsErrorCode.OUT_OF_SCOPE)
