"""What several coupon services share: the logger, cents, and the campaign scope checks."""

import logging
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.errors import CampaignErrorCode
from campaigns.models import Campaign
from campaigns.selectors import campaign_list
from core.errors import NotFoundError, PermissionDeniedError

from ..models import CouponBatch

logger = logging.getLogger("pointsops.coupons")

CENT = Decimal("0.01")


def _require_batch_visible(tenant, actor: Actor, batch: CouponBatch) -> None:
    """A batch whose campaign the actor can't see is not found for them, like on GET: a
    regional operator or a business-unit admin redeems and claims only their own (SPEC §7)."""
    if actor.region_ids is None and actor.business_unit_id is None:
        return
    if not campaign_list(tenant=tenant, actor=actor).filter(pk=batch.campaign_id).exists():
        raise NotFoundError(_("Not found."))


def _require_campaign_change(actor: Actor, campaign: Campaign, action: Action) -> None:
    """The action, and for a regional operator every region of the campaign (SPEC §7)."""
    actor.require(action)
    if actor.business_unit_id is not None and campaign.business_unit_id != actor.business_unit_id:
        raise NotFoundError(_("Not found."))  # another unit's campaign: hidden, as on GET
    if actor.region_ids is not None:
        regions = set(campaign.regions.values_list("pk", flat=True))
        if not regions <= actor.region_ids:
            raise PermissionDeniedError(
                _("Some of the campaign's regions are not yours."),
                code=CampaignErrorCode.OUT_OF_SCOPE,
            )
