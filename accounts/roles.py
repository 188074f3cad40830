"""Roles of SPEC §7 and the table of what each may do. The one place that says who can do what."""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    TENANT_ADMIN = "tenant_admin", _("Tenant admin")
    BU_ADMIN = "bu_admin", _("Business-unit admin")
    OPERATOR = "operator", _("Operator")
    REGIONAL_OPERATOR = "regional_operator", _("Regional operator")
    FINANCE = "finance", _("Finance")
    AUDITOR = "auditor", _("Auditor (read-only)")
    MERCHANT_ADMIN = "merchant_admin", _("Merchant admin")
    MERCHANT_STAFF = "merchant_staff", _("Merchant staff")


class Action(StrEnum):
    USERS_MANAGE = "users.manage"  # users, roles, grants, API keys, business units
    USERS_READ = "users.read"
    MASTER_DATA_MANAGE = "master_data.manage"  # regions, merchants, staff, customers
    MASTER_DATA_READ = "master_data.read"
    BUDGETS_DRAFT = "budgets.draft"  # draft and submit
    BUDGETS_APPROVE = "budgets.approve"  # approve and reject (never one's own)
    BUDGETS_READ = "budgets.read"
    CAMPAIGNS_MANAGE = "campaigns.manage"  # campaigns, batches, rules, prizes, lotteries
    CAMPAIGNS_READ = "campaigns.read"
    COUPONS_ISSUE = "coupons.issue"  # issue coupons, run jobs
    COUPONS_SUPPORT = "coupons.support"  # coupon lookup and rollback
    COUPONS_SUPPORT_READ = "coupons.support_read"
    ORDERS_WRITE = "orders.write"  # integrators only (API key scope `orders`)
    ORDERS_READ = "orders.read"
    POINTS_ADJUST = "points.adjust"
    POINTS_READ = "points.read"
    REPORTS_READ = "reports.read"
    SETTLEMENTS_MANAGE = "settlements.manage"  # prepare and close periods (never one's own)
    PORTAL_OWN = "portal.own"  # own points, prizes, lottery
    PORTAL_MERCHANT = "portal.merchant"  # the merchant's staff, read
    AUDIT_READ = "audit.read"


A = Action
_OPERATING = {
    A.MASTER_DATA_MANAGE,
    A.MASTER_DATA_READ,
    A.BUDGETS_READ,
    A.CAMPAIGNS_MANAGE,
    A.CAMPAIGNS_READ,
    A.COUPONS_ISSUE,
    A.COUPONS_SUPPORT,
    A.COUPONS_SUPPORT_READ,
    A.ORDERS_READ,
    A.POINTS_ADJUST,
    A.POINTS_READ,
    A.REPORTS_READ,
}

# SPEC §7, row by row. Data scope (own BU, own regions, own merchant) is applied by the
# selectors through `accounts.permissions`, not here.
ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.TENANT_ADMIN: frozenset(
        _OPERATING | {A.USERS_MANAGE, A.USERS_READ, A.BUDGETS_DRAFT, A.AUDIT_READ}
    ),
    Role.BU_ADMIN: frozenset(_OPERATING | {A.USERS_MANAGE, A.USERS_READ, A.AUDIT_READ}),
    Role.OPERATOR: frozenset(_OPERATING),
    Role.REGIONAL_OPERATOR: frozenset(_OPERATING),
    Role.FINANCE: frozenset(
        {
            A.MASTER_DATA_READ,
            A.BUDGETS_DRAFT,
            A.BUDGETS_APPROVE,
            A.BUDGETS_READ,
            A.SETTLEMENTS_MANAGE,
            A.CAMPAIGNS_READ,
            A.COUPONS_SUPPORT_READ,
            A.ORDERS_READ,
            A.POINTS_READ,
            A.REPORTS_READ,
            A.AUDIT_READ,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            A.USERS_READ,
            A.MASTER_DATA_READ,
            A.BUDGETS_READ,
            A.CAMPAIGNS_READ,
            A.COUPONS_SUPPORT_READ,
            A.ORDERS_READ,
            A.POINTS_READ,
            A.REPORTS_READ,
            A.AUDIT_READ,
        }
    ),
    Role.MERCHANT_ADMIN: frozenset(
        {A.MASTER_DATA_READ, A.ORDERS_READ, A.REPORTS_READ, A.PORTAL_MERCHANT, A.POINTS_READ}
    ),
    Role.MERCHANT_STAFF: frozenset({A.PORTAL_OWN}),
}

CONSOLE_ROLES = frozenset(
    {
        Role.TENANT_ADMIN,
        Role.BU_ADMIN,
        Role.OPERATOR,
        Role.REGIONAL_OPERATOR,
        Role.FINANCE,
        Role.AUDITOR,
    }
)
PORTAL_ROLES = frozenset({Role.MERCHANT_ADMIN, Role.MERCHANT_STAFF})


def role_can(role: str, action: Action) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())
