"""Manual corrections of an account (SPEC §3.2): within the tenant's bound at once, above it
through a request a second person approves or rejects (maker-checker)."""

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from budgets.errors import MakerChecker
from core.errors import RuleRefusal, ValidationFailed, invalid_transition
from core.services import audit_record, snapshot

from .. import locks
from ..errors import PointsErrorCode
from ..models import (
    AdjustmentRequestStatus,
    EntryKind,
    LedgerEntry,
    PointsAccount,
    PointsAdjustmentRequest,
)
from ..periods import lot_expires_at
from .ledger import Links, _apply_takes, _credit_usable, _entry, _take

BIGINT_MAX = 2**63 - 1
ACCOUNT_FIGURES = ["balance", "pending", "lifetime_earned", "tier"]


def _check_adjustment(actor: Actor, account: PointsAccount, points: int, reason: str) -> None:
    actor.require(Action.POINTS_ADJUST)
    data_scope.require_holder(actor, account.holder)
    if not reason.strip():
        raise ValidationFailed(_("Say why."), fields={"reason": [_("Required.")]})
    if points == 0:
        raise ValidationFailed(_("Adjust by some points."), fields={"points": [_("Not 0.")]})


def _too_large(tenant: Tenant) -> RuleRefusal:
    bound = tenant.max_points_adjustment
    return RuleRefusal(
        _("One adjustment may change at most %(max)d points without a second approval.")
        % {"max": bound},
        code=PointsErrorCode.ADJUSTMENT_TOO_LARGE,
        fields={"points": [_("At most %(max)d.") % {"max": bound}]},
    )


@transaction.atomic
def points_adjust(
    *, tenant: Tenant, actor: Actor, account: PointsAccount, points: int, reason: str
) -> LedgerEntry:
    """A manual correction with a reason and an author, audited (SPEC §3.2), within the
    tenant's max_points_adjustment; a larger one goes through points_adjustment_submit."""
    _check_adjustment(actor, account, points, reason)
    if abs(points) > tenant.max_points_adjustment:
        raise _too_large(tenant)
    return _apply_adjustment(
        tenant, actor, account.pk, points,
        reference=f"adjust:{account.pk}:{uuid.uuid4().hex}", reason=reason, source="",
    )  # fmt: skip


def points_adjustment_submit(
    *, tenant: Tenant, actor: Actor, account: PointsAccount, points: int, reason: str
) -> LedgerEntry | PointsAdjustmentRequest:
    """Within the tenant's bound the correction applies at once; above it, it waits for a
    second person (maker-checker), who approves or rejects it."""
    if abs(points) <= tenant.max_points_adjustment:
        return points_adjust(
            tenant=tenant, actor=actor, account=account, points=points, reason=reason
        )
    _check_adjustment(actor, account, points, reason)
    with transaction.atomic():
        request = PointsAdjustmentRequest.objects.create(
            tenant=tenant, account=account, points=points, reason=reason,
            requested_by=actor.user, requested_by_label=actor.label,
        )  # fmt: skip
        audit_record(
            tenant=tenant, actor=actor, action="points_adjustment.request", obj=request,
            after=_request_snapshot(request), note=reason,
        )  # fmt: skip
    return request


def _request_snapshot(request: PointsAdjustmentRequest) -> dict:
    return snapshot(request, fields=["account", "points", "reason", "status"])


def _request_to_decide(tenant: Tenant, actor: Actor, request: PointsAdjustmentRequest, target: str):
    """The request, locked and still pending, decided by someone other than its author."""
    request = locks.lock_adjustment_request(tenant, request.pk)
    actor.require(Action.POINTS_ADJUST)
    data_scope.require_holder(actor, request.account.holder)
    if request.status != AdjustmentRequestStatus.PENDING:
        raise invalid_transition(_("adjustment request"), request.status, target)
    if actor.user is None or actor.user.pk == request.requested_by_id:
        raise MakerChecker(_("Another person approves or rejects the adjustment you asked for."))
    return request


def _decide(tenant: Tenant, actor: Actor, request, status: str, note: str, before: dict) -> None:
    request.status = status
    request.decided_by = actor.user
    request.decided_at = timezone.now()
    request.decision_note = note
    request.save()
    audit_record(
        tenant=tenant, actor=actor, action=f"points_adjustment.{status}", obj=request,
        before=before, after=_request_snapshot(request), note=note or request.reason,
    )  # fmt: skip


@transaction.atomic
def points_adjustment_approve(
    *, tenant: Tenant, actor: Actor, request: PointsAdjustmentRequest, note: str = ""
) -> PointsAdjustmentRequest:
    """Apply a pending large adjustment; twice is a conflict, the author is refused."""
    request = _request_to_decide(tenant, actor, request, AdjustmentRequestStatus.APPROVED)
    before = _request_snapshot(request)
    request.entry = _apply_adjustment(
        tenant, actor, request.account_id, request.points,
        reference=f"adjust:request:{request.pk}", reason=request.reason,
        source=f"points_adjustment_request:{request.pk}",
    )  # fmt: skip
    _decide(tenant, actor, request, AdjustmentRequestStatus.APPROVED, note, before)
    return request


@transaction.atomic
def points_adjustment_reject(
    *, tenant: Tenant, actor: Actor, request: PointsAdjustmentRequest, note: str
) -> PointsAdjustmentRequest:
    request = _request_to_decide(tenant, actor, request, AdjustmentRequestStatus.REJECTED)
    if not note.strip():
        raise ValidationFailed(_("Say why."), fields={"note": [_("Required.")]})
    before = _request_snapshot(request)
    _decide(tenant, actor, request, AdjustmentRequestStatus.REJECTED, note, before)
    return request


def _apply_adjustment(
    tenant: Tenant,
    actor: Actor,
    account_id: int,
    points: int,
    *,
    reference: str,
    reason: str,
    source: str,
) -> LedgerEntry:
    account = locks.lock_account(tenant, account_id)
    before = snapshot(account, fields=ACCOUNT_FIGURES)
    now = timezone.now()
    links = Links(operator=actor.user, operator_label=actor.label, reason=reason, source=source)
    if points > 0:
        if account.balance + points > BIGINT_MAX or account.lifetime_earned + points > BIGINT_MAX:
            raise RuleRefusal(
                _("The account cannot hold that many points."),
                code=PointsErrorCode.ADJUSTMENT_TOO_LARGE,
                fields={"points": [_("Too large for this account.")]},
            )
        entry = _credit_usable(
            tenant, account, points, kind=EntryKind.ADJUST, reference=reference, links=links,
            now=now, expires_at=lot_expires_at(account.program, now, tenant.zone),
        )  # fmt: skip
    else:
        if account.balance < -points:
            raise RuleRefusal(
                _("The account has only %d usable points.") % account.balance,
                code=PointsErrorCode.INSUFFICIENT_POINTS,
            )
        taken = _take(locks.lock_open_lots(tenant, account), -points)
        entry = _entry(
            tenant, account, kind=EntryKind.ADJUST, points=-points, usable_delta=points,
            reference=reference, links=links,
        )  # fmt: skip
        _apply_takes(tenant, entry, taken)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points_account.adjust",
        obj=account,
        before=before,
        after=snapshot(account, fields=ACCOUNT_FIGURES),
        note=reason,
    )
    return entry
