"""The actor's data scope applied to the *second* object a write names (SPEC §7).

A service fetches its first object through a scoped selector; everything else a write names
(a transfer's target, a coupon's customer, a redemption's merchant, a batch's scope) is checked
here, in the service, so the API, the console and tasks share the rule. Anything the actor can't
see answers "not found", the same as a missing row (the Zulip rule of `accounts.selectors`).
System actors and API keys are tenant-wide: `actor.region_ids` and `actor.merchant_id` are None.
"""

from collections.abc import Iterable

from django.utils.translation import gettext as _

from core.errors import NotFoundError

from .models import Customer, Merchant, MerchantStaff, Region
from .permissions import Actor


def _not_found() -> NotFoundError:
    return NotFoundError(_("Not found."))


def region_in_scope(actor: Actor, region_id: int | None) -> bool:
    """A regional operator's regions and all below them; everyone else: any region."""
    return actor.region_ids is None or (region_id is not None and region_id in actor.region_ids)


def require_regions(actor: Actor, regions: Iterable[Region | int]) -> None:
    ids = {getattr(r, "pk", r) for r in regions}
    if actor.region_ids is not None and not ids <= actor.region_ids:
        raise _not_found()


def require_merchant(actor: Actor, merchant: Merchant) -> None:
    if not region_in_scope(actor, merchant.region_id):
        raise _not_found()
    if actor.merchant_id is not None and merchant.pk != actor.merchant_id:
        raise _not_found()


def require_staff(actor: Actor, staff: MerchantStaff) -> None:
    require_merchant(actor, staff.merchant)


def require_customer(actor: Actor, customer: Customer) -> None:
    if not region_in_scope(actor, customer.region_id):
        raise _not_found()
    if actor.merchant_id is not None:  # merchant users never see the customer base
        raise _not_found()


def require_holder(actor: Actor, holder) -> None:
    """A points holder: a staff member, a merchant or a customer."""
    if isinstance(holder, MerchantStaff):
        require_staff(actor, holder)
    elif isinstance(holder, Merchant):
        require_merchant(actor, holder)
    elif isinstance(holder, Customer):
        require_customer(actor, holder)
    else:  # a new kind of holder must say what its scope is
        raise TypeError(f"No data scope for {type(holder).__name__}")
