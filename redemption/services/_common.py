"""What prizes, redemptions and lotteries share: who redeems, the batch a prize hands out, the
staff program, and the prize row's lock."""

from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import ApiKeyScope, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.scope import campaign_require_change
from campaigns.selectors import campaign_get
from core.errors import NotFoundError, ValidationFailed
from coupons.models import CouponBatch
from points.errors import PointsErrorCode
from points.models import Holder

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
