"""Who may change a campaign, and so everything that hangs on it (SPEC §7).

The one campaign write-scope check: coupon batches, issuance rules, issuance jobs, coupon
prizes and lottery outcomes call it with their campaign, the campaign services with their own.
A business-unit admin changes only their unit's campaigns (another unit's is not found, as on
GET); a regional operator only one whose every target region is theirs (one they see but share
with other regions is 403 out_of_scope). The rule itself is `Actor.owns_wholly`.
"""

from collections.abc import Iterable

from django.utils.translation import gettext as _

from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import NotFoundError

from .models import Campaign


def _region_ids(campaign: Campaign) -> set[int]:
    return {region.pk for region in campaign.regions.all()}  # prefetched by campaign_list


def campaign_require_regions(*, actor: Actor, region_ids: Iterable[int]) -> None:
    """The regions a campaign targets (or is about to) are all the actor's, else 403."""
    actor.require_owns_wholly(
        region_ids=region_ids, message=_("Some of the campaign's regions are not yours.")
    )


def campaign_require_change(
    *, actor: Actor, campaign: Campaign, action: Action = Action.CAMPAIGNS_MANAGE
) -> None:
    """The action, then the campaign's unit (else 404) and every one of its regions (else 403)."""
    actor.require(action)
    if not actor.owns_wholly(business_unit_id=campaign.business_unit_id):
        raise NotFoundError(_("Not found."))  # another unit's campaign: hidden, as on GET
    campaign_require_regions(actor=actor, region_ids=_region_ids(campaign))


def campaign_changeable(
    *, actor: Actor, campaign: Campaign, action: Action = Action.CAMPAIGNS_MANAGE
) -> bool:
    """Whether `campaign_require_change` lets the actor through (pages hide the buttons)."""
    return actor.can(action) and actor.owns_wholly(
        business_unit_id=campaign.business_unit_id, region_ids=_region_ids(campaign)
    )
