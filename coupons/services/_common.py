"""What several coupon services share: the logger, cents, and the batch visibility check."""

import logging
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.permissions import Actor
from campaigns.selectors import campaign_list
from core.errors import NotFoundError

from ..models import CouponBatch

logger = logging.getLogger("pointsops.coupons")

CENT = Decimal("0.01")


def _require_batch_visible(tenant: Tenant, actor: Actor, batch: CouponBatch) -> None:
    """A batch whose campaign the actor can't see is not found for them, like on GET: a
    regional operator or a business-unit admin redeems and claims only their own (SPEC §7)."""
    if actor.region_ids is None and actor.business_unit_id is None:
        return
    if not campaign_list(tenant=tenant, actor=actor).filter(pk=batch.campaign_id).exists():
        raise NotFoundError(_("Not found."))
