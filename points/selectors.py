"""Reads of points: programs, rules, accounts with their figures, ledger entries."""

from datetime import datetime, timedelta

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from accounts.selectors import staff_get
from core.errors import NotFoundError

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


def _not_found():
    return NotFoundError(_("Not found."))


def program_list(*, tenant: Tenant, actor: Actor) -> QuerySet:
    readers = (Action.POINTS_READ, Action.CAMPAIGNS_READ, Action.PORTAL_OWN)
    if not any(actor.can(action) for action in readers):
        actor.require(Action.POINTS_READ)
    return PointsProgram.objects.for_tenant(tenant).order_by("name", "id")


def program_get(*, tenant: Tenant, actor: Actor, id) -> PointsProgram:
    program = program_list(tenant=tenant, actor=actor).filter(pk=id).first()
    if program is None:
        raise _not_found()
    return program


def rule_list(*, tenant: Tenant, actor: Actor, campaign=None, program=None) -> QuerySet:
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
    if campaign:
        qs = qs.filter(campaign_id=campaign)
    if program:
        qs = qs.filter(program_id=program)
    return qs


def rule_get(*, tenant: Tenant, actor: Actor, id) -> PointsRule:
    rule = rule_list(tenant=tenant, actor=actor).filter(pk=id).first()
    if rule is None:
        raise _not_found()
    return rule


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
    *, tenant: Tenant, actor: Actor, program=None, q: str = "", now: datetime | None = None
) -> QuerySet:
    """Accounts the actor may read, each with `expiring_soon` (points due in the next 30 days).

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
    if program:
        qs = qs.filter(program_id=program)
    if q:
        qs = qs.filter(
            Q(staff__code__icontains=q)
            | Q(staff__name__icontains=q)
            | Q(merchant__code__icontains=q)
            | Q(customer__code__icontains=q)
        )
    return qs


def account_get(*, tenant: Tenant, actor: Actor, id) -> PointsAccount:
    account = account_list(tenant=tenant, actor=actor).filter(pk=id).first()
    if account is None:
        raise _not_found()
    return account


def staff_accounts(*, tenant: Tenant, actor: Actor, code: str) -> QuerySet:
    staff = staff_get(tenant=tenant, actor=actor, code=code)
    return account_list(tenant=tenant, actor=actor).filter(staff=staff)


def entry_list(*, tenant: Tenant, actor: Actor, account=None, staff_code: str = "") -> QuerySet:
    """Ledger entries, newest first, with what caused them."""
    qs = (
        LedgerEntry.objects.for_tenant(tenant)
        .select_related("account__program", "order", "rule", "campaign", "counterpart")
        .order_by("-id")
    )
    if account is not None:
        return qs.filter(account=account)
    accounts = staff_accounts(tenant=tenant, actor=actor, code=staff_code)
    return qs.filter(account__in=accounts.values("pk"))


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


def adjustment_request_list(*, tenant: Tenant, actor: Actor, status: str = "") -> QuerySet:
    """Large adjustments asking for a second person, of accounts the actor may adjust."""
    actor.require(Action.POINTS_ADJUST)
    accounts = account_list(tenant=tenant, actor=actor).values("pk")
    qs = (
        PointsAdjustmentRequest.objects.for_tenant(tenant)
        .filter(account__in=accounts)
        .select_related("account__program", "account__staff", "account__merchant")
        .select_related("account__customer", "decided_by", "entry")
        .order_by("-created_at", "-id")
    )
    return qs.filter(status=status) if status else qs


def adjustment_request_get(*, tenant: Tenant, actor: Actor, id) -> PointsAdjustmentRequest:
    request = adjustment_request_list(tenant=tenant, actor=actor).filter(pk=id).first()
    if request is None:
        raise _not_found()
    return request
