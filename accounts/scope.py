"""The actor's data scope applied to the *second* object a write names (SPEC §7).

A service fetches its first object through a scoped selector; everything else a write names
(a transfer's target, a coupon's customer, a redemption's merchant, a batch's scope) is checked
here, in the service, so the API, the console and tasks share the rule. Anything the actor can't
see answers "not found", the same as a missing row (the Zulip rule of `accounts.selectors`).
Each helper first asserts that the object is of the actor's tenant, as Zulip's access helpers
assert the realm: a caller that resolved a reference without its tenant fails here, even for
a system actor. System actors and API keys are otherwise tenant-wide: `actor.region_ids` and
`actor.merchant_id` are None.
"""

from collections.abc import Iterable

from django.utils.translation import gettext as _

from core.errors import NotFoundError

from .models import Customer, Merchant, MerchantStaff, Region
from .permissions import Actor


def _not_found() -> NotFoundError:
    return NotFoundError(_("Not found."))


def _require_tenant(actor: Actor, obj: Region | Merchant | MerchantStaff | Customer) -> None:
    if obj.tenant_id != actor.tenant.pk:
        raise _not_found()


def region_in_scope(actor: Actor, region_id: int | None) -> bool:
    """A regional operator's regions and all below them; everyone else: any region."""
    return actor.region_ids is None or (region_id is not None and region_id in actor.region_ids)


def require_regions(actor: Actor, regions: Iterable[Region]) -> None:
    for region in regions:
        _require_tenant(actor, region)
        if not region_in_scope(actor, region.pk):
            raise _not_found()


def require_merchant(actor: Actor, merchant: Merchant) -> None:
    _require_tenant(actor, merchant)
    if not region_in_scope(actor, merchant.region_id):
        raise _not_found()
    if actor.merchant_id is not None and merchant.pk != actor.merchant_id:
        raise _not_found()


def require_staff(actor: Actor, staff: MerchantStaff) -> None:
    _require_tenant(actor, staff)
    require_merchant(actor, staff.merchant)


def require_customer(actor: Actor, customer: Customer) -> None:
    _require_tenant(actor, customer)
    if not region_in_scope(actor, customer.region_id):
        raise _not_found()
    if actor.merchant_id is not None:  # merchant users never see the customer base
        raise _not_found()


def require_holder(actor: Actor, holder: MerchantStaff | Merchant | Customer) -> None:
    """A points holder: a staff member, a merchant or a customer."""
    if isinstance(holder, MerchantStaff):
        require_staff(actor, holder)
    elif isinstance(holder, Merchant):
        require_merchant(actor, holder)
    elif isinstance(holder, Customer):
        require_customer(actor, holder)
    else:  # a new kind of holder must say what its scope is
        raise TypeError(f"No data scope for {type(holder).__name__}")
