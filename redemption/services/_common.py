"""What prizes, redemptions and lotteries share: who redeems, the batch a prize hands out, the
staff program, the customer a coupon goes to, request keys, and the prize row's lock."""

from contextlib import contextmanager

from django.db import IntegrityError
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import ApiKeyScope, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.scope import campaign_require_change
from campaigns.selectors import campaign_get
from core.errors import ConflictError, CoreErrorCode, NotFoundError, RuleRefusal, ValidationFailed
from core.ratelimit import holder_rate_check
from coupons.models import CouponBatch
from points.errors import PointsErrorCode
from points.models import Holder

from ..errors import RedemptionErrorCode
from ..models import Prize


def _lock_prize(tenant: Tenant, prize_id: int) -> Prize:
    return (
        Prize.objects.for_tenant(tenant)
        .select_for_update(of=("self",), no_key=True)
        .select_related("program")
        .get(pk=prize_id)
    )


def _require_redeemer(actor: Actor, staff) -> None:
    """Operators and integrators (key scope `points`) redeem for anyone in their scope; a
    merchant staff member (portal) for themselves only."""
    if actor.can(Action.POINTS_ADJUST) or actor.has_scope(ApiKeyScope.POINTS):
        data_scope.require_staff(actor, staff)  # a regional operator: their regions' staff
        return
    actor.require(Action.PORTAL_OWN)
    if actor.user is None or staff.user_id != actor.user.pk:
        raise NotFoundError(_("Not found."))


def _require_batch_usable(tenant: Tenant, actor: Actor, batch: CouponBatch | None) -> None:
    """A coupon prize or outcome hands out the batch's coupons, so the actor must be able to
    issue from it: its campaign visible (else not found) and changeable (SPEC §7)."""
    if batch is None:
        return
    campaign = campaign_get(tenant=tenant, actor=actor, id=batch.campaign_id)
    campaign_require_change(actor=actor, campaign=campaign)


def _require_staff_program(program) -> None:
    if program.holder != Holder.STAFF:
        raise ValidationFailed(
            _("This is for another kind of holder."), code=PointsErrorCode.WRONG_HOLDER
        )


def _linked_customer(staff):
    """Where a staff member's coupon goes: their merchant as the platform's customer (SPEC §4).
    422 no_linked_customer without that link, before anything is spent."""
    customer = staff.merchant.customer
    if customer is None:
        raise RuleRefusal(
            _(
                "A coupon needs the customer record of %(merchant)s, and it has none yet. Ask "
                "your operator to link one to the merchant."
            )
            % {"merchant": staff.merchant.name},
            code=RedemptionErrorCode.NO_LINKED_CUSTOMER,
        )
    return customer


def _key_reused() -> ConflictError:
    return ConflictError(
        _("This request key was used for something else."),
        code=CoreErrorCode.IDEMPOTENCY_CONFLICT,
    )


@contextmanager
def _one_row_per_request_key():
    """Around the insert: the same key sent at once for two prizes (two row locks, so neither
    saw the other in `_replayed`) loses on the unique constraint, as the same 409."""
    try:
        yield
    except IntegrityError as exc:
        if "request_key" not in str(exc):
            raise
        raise _key_reused() from exc


def _replayed(model, tenant: Tenant, account, request_key: str, **same):
    """The row a request key already made for this account, or None. Called under the row
    lock that serialises the write (prize or lottery), so a double tap finds the first one;
    the key reused for another prize or lottery is a 409 idempotency_conflict."""
    if not request_key:
        return None
    row = model.objects.for_tenant(tenant).filter(account=account, request_key=request_key).first()
    if row is None:
        return None
    if any(getattr(row, name) != value for name, value in same.items()):
        raise _key_reused()
    return row


def _throttle(actor: Actor, action: str, staff) -> None:
    """People and integrators redeem and draw at a person's pace (429 throttled past
    HOLDER_RATES); the platform's own jobs (seed, commands) are not held up."""
    if not actor.system:
        holder_rate_check(tenant_id=staff.tenant_id, action=action, holder_id=staff.pk)
