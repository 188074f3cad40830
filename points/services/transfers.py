"""Transfers of usable points between holders of one program (SPEC §3.2)."""

import uuid

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import NotFoundError, RuleRefusal, ValidationFailed
from core.services import audit_record

from .. import locks
from ..errors import PointsErrorCode
from ..models import EntryKind, LedgerEntry, PointsProgram, Transfer
from ..periods import month_start
from .ledger import Links, _apply_takes, _credit_usable, _entry, _take, account_for_holder


@transaction.atomic
def points_transfer(
    *, tenant: Tenant, actor: Actor, program: PointsProgram, from_holder, to_holder, points: int
) -> Transfer:
    """Move usable points to another holder of the same program, within its limits.

    Operators may move anyone's points; a staff member (portal) only their own.
    """
    if not actor.can(Action.POINTS_ADJUST):
        actor.require(Action.PORTAL_OWN)
        if actor.user is None or getattr(from_holder, "user_id", None) != actor.user.pk:
            raise NotFoundError(_("Not found."))
    # Both ends lie in the actor's data scope: a regional operator moves points only between
    # holders of their regions, a merchant user only within their merchant (SPEC §7).
    data_scope.require_holder(actor, from_holder)
    data_scope.require_holder(actor, to_holder)
    if not program.transferable:
        raise RuleRefusal(
            _("Points of this program cannot be transferred."),
            code=PointsErrorCode.NOT_TRANSFERABLE,
        )
    if points <= 0:
        raise ValidationFailed(_("Transfer a positive number of points."))
    if from_holder.pk == to_holder.pk:
        raise ValidationFailed(_("Transfer to someone else."), fields={"to_staff": ["same"]})
    if program.transfer_per_transfer and points > program.transfer_per_transfer:
        raise RuleRefusal(
            _("At most %d points per transfer.") % program.transfer_per_transfer,
            code=PointsErrorCode.TRANSFER_LIMIT,
        )
    source = account_for_holder(tenant=tenant, program=program, holder=from_holder)
    target = account_for_holder(tenant=tenant, program=program, holder=to_holder)
    locked = locks.lock_accounts(tenant, [source.pk, target.pk])
    source, target = locked[source.pk], locked[target.pk]
    now = timezone.now()
    if program.transfer_per_month:
        sent = (
            LedgerEntry.objects.for_tenant(tenant)
            .filter(
                account=source,
                kind=EntryKind.TRANSFER_OUT,
                created_at__gte=month_start(now, tenant.zone),
            )
            .aggregate(s=Sum("points"))["s"]
            or 0
        )
        if sent + points > program.transfer_per_month:
            raise RuleRefusal(
                _("At most %(limit)d points a month; %(sent)d sent already.")
                % {"limit": program.transfer_per_month, "sent": sent},
                code=PointsErrorCode.TRANSFER_LIMIT,
            )
    if source.balance < points:
        raise RuleRefusal(_("Not enough usable points."), code=PointsErrorCode.INSUFFICIENT_POINTS)
    taken = _take(locks.lock_open_lots(tenant, source), points)
    reference = f"transfer:{source.pk}:{target.pk}:{uuid.uuid4().hex}"
    out_entry = _entry(
        tenant, source, kind=EntryKind.TRANSFER_OUT, points=points, usable_delta=-points,
        reference=f"{reference}:out",
        links=Links(counterpart=target, operator=actor.user, operator_label=actor.label),
    )  # fmt: skip
    _apply_takes(tenant, out_entry, taken)
    # The points keep their earliest expiry: a transfer never extends their life.
    expiries = [lot.expires_at for lot, _part in taken if lot.expires_at]
    in_entry = _credit_usable(
        tenant, target, points, kind=EntryKind.TRANSFER_IN, reference=f"{reference}:in",
        links=Links(counterpart=source, operator=actor.user, operator_label=actor.label),
        now=now, expires_at=min(expiries) if expiries else None,
    )  # fmt: skip
    transfer = Transfer.objects.create(
        tenant=tenant,
        program=program,
        from_account=source,
        to_account=target,
        points=points,
        out_entry=out_entry,
        in_entry=in_entry,
        operator_label=actor.label,
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="points.transfer",
        obj=transfer,
        after={"from": source.pk, "to": target.pk, "points": points},
    )
    return transfer
