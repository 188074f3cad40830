"""Reads of points: programs, rules, accounts with their figures, ledger entries."""

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from accounts.selectors import staff_get
from core.selectors import filtered, get_visible

from .filters import AccountFilter, AdjustmentRequestFilter, EntryFilter, RuleFilter
from .models import (
    AwardStatus,
    LedgerEntry,
    Lot,
    LotStatus,
    OrderAward,
    PointsAccount,
    PointsAdjustmentRequest,
    PointsProgram,
    PointsRule,
)
from .periods import EXPIRING_SOON_DAYS


def program_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    readers = (Action.POINTS_READ, Action.CAMPAIGNS_READ, Action.PORTAL_OWN)
    if not any(actor.can(action) for action in readers):
        actor.require(Action.POINTS_READ)
    return PointsProgram.objects.for_tenant(tenant).order_by("name", "id")


def program_get(*, tenant: Tenant, actor: Actor, id) -> PointsProgram:
    return get_visible(program_list(tenant=tenant, actor=actor), pk=id)


def rule_list(*, tenant: Tenant, actor: Actor, filters: Mapping | None = None) -> QuerySet:
    """Rules the actor may read, newest first, each with `points_awarded`; `filters`:
    campaign, program (RuleFilter)."""
    actor.require(Action.CAMPAIGNS_READ)
    awarded = (
        OrderAward.objects.unscoped()
        .filter(rule=OuterRef("pk"), status=AwardStatus.ACTIVE)
        .order_by()
        .values("rule")
        .annotate(s=Sum("points"))
        .values("s")
    )
    qs = (
        PointsRule.objects.for_tenant(tenant)
        .select_related("campaign", "program")
        .prefetch_related("regions")
        .annotate(points_awarded=Coalesce(Subquery(awarded), 0))
        .order_by("-id")
    )
    if actor.region_ids is not None:
        qs = qs.filter(regions__in=actor.region_ids).distinct()
    if actor.business_unit_id is not None:
        qs = qs.filter(campaign__business_unit_id=actor.business_unit_id)
    return filtered(RuleFilter, filters, qs)


def rule_get(*, tenant: Tenant, actor: Actor, id) -> PointsRule:
    return get_visible(rule_list(tenant=tenant, actor=actor), pk=id)


def _expiring_subquery(now: datetime):
    return Coalesce(
        Subquery(
            Lot.objects.unscoped()
            .filter(
                account=OuterRef("pk"),
                status=LotStatus.OPEN,
                expires_at__lte=now + timedelta(days=EXPIRING_SOON_DAYS),
            )
            .order_by()
            .values("account")
            .annotate(s=Sum("remaining"))
            .values("s")
        ),
        0,
    )


def account_list(
    *,
    tenant: Tenant,
    actor: Actor,
    filters: Mapping | None = None,
    now: datetime | None = None,
) -> QuerySet:
    """Accounts the actor may read, each with `expiring_soon` (points due in the next 30 days);
    `filters`: program, search (AccountFilter).

    Regional operators see holders of their regions, merchant users their merchant's staff, a
    merchant staff member only their own accounts.
    """
    if not (actor.can(Action.POINTS_READ) or actor.can(Action.PORTAL_OWN)):
        actor.require(Action.POINTS_READ)
    now = now or timezone.now()
    qs = (
        PointsAccount.objects.for_tenant(tenant)
        .select_related("program", "staff__merchant", "merchant", "customer")
        .annotate(expiring_soon=_expiring_subquery(now))
        .order_by("id")
    )
    if actor.region_ids is not None:
        qs = qs.filter(
            Q(staff__merchant__region_id__in=actor.region_ids)
            | Q(merchant__region_id__in=actor.region_ids)
            | Q(customer__region_id__in=actor.region_ids)
        )
    if actor.merchant_id is not None:
        qs = qs.filter(Q(staff__merchant_id=actor.merchant_id) | Q(merchant_id=actor.merchant_id))
    if not actor.can(Action.POINTS_READ):  # merchant staff: their own accounts only
        qs = qs.filter(staff__user=actor.user)
    return filtered(AccountFilter, filters, qs)


def account_get(*, tenant: Tenant, actor: Actor, id) -> PointsAccount:
    return get_visible(account_list(tenant=tenant, actor=actor), pk=id)


def staff_accounts(*, tenant: Tenant, actor: Actor, code: str) -> QuerySet:
    staff = staff_get(tenant=tenant, actor=actor, code=code)
    return account_list(tenant=tenant, actor=actor).filter(staff=staff)


def entry_list(
    *,
    tenant: Tenant,
    actor: Actor,
    account=None,
    staff_code: str = "",
    filters: Mapping | None = None,
) -> QuerySet:
    """Ledger entries, newest first, with what caused them: of the account, or of the staff
    member's accounts; `filters`: program (EntryFilter)."""
    qs = (
        LedgerEntry.objects.for_tenant(tenant)
        .select_related("account__program", "order", "rule", "campaign", "counterpart")
        .order_by("-id")
    )
    if account is not None:
        qs = qs.filter(account=account)
    else:
        accounts = staff_accounts(tenant=tenant, actor=actor, code=staff_code)
        qs = qs.filter(account__in=accounts.values("pk"))
    return filtered(EntryFilter, filters, qs)


def expiring_soon(*, tenant: Tenant, account: PointsAccount, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return (
        Lot.objects.for_tenant(tenant)
        .filter(
            account=account,
            status=LotStatus.OPEN,
            expires_at__lte=now + timedelta(days=EXPIRING_SOON_DAYS),
        )
        .aggregate(s=Sum("remaining"))["s"]
        or 0
    )


def adjustment_request_list(
    *, tenant: Tenant, actor: Actor, filters: Mapping | None = None
) -> QuerySet:
    """Large adjustments asking for a second person, of accounts the actor may adjust, newest
    first; `filters`: status (AdjustmentRequestFilter)."""
    actor.require(Action.POINTS_ADJUST)
    accounts = account_list(tenant=tenant, actor=actor).values("pk")
    qs = (
        PointsAdjustmentRequest.objects.for_tenant(tenant)
        .filter(account__in=accounts)
        .select_related("account__program", "account__staff", "account__merchant")
        .select_related("account__customer", "decided_by", "entry")
        .order_by("-created_at", "-id")
    )
    return filtered(AdjustmentRequestFilter, filters, qs)


def adjustment_request_get(*, tenant: Tenant, actor: Actor, id) -> PointsAdjustmentRequest:
    return get_visible(adjustment_request_list(tenant=tenant, actor=actor), pk=id)
