"""Segments: saved customer filters that an issuance job resolves to customers."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts import scope as data_scope
from accounts.models import Region, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from core.errors import ValidationFailed
from core.services import audit_record

from ..models import Segment

SEGMENT_FILTERS = (
    "regions",
    "tags_any",
    "registered_after",
    "registered_before",
    "last_order_after",
    "last_order_before",
)


@transaction.atomic
def segment_create(*, tenant: Tenant, actor: Actor, name: str, filters: dict) -> Segment:
    """A saved customer filter. Regions are stored by code, dates as ISO strings."""
    actor.require(Action.COUPONS_ISSUE)
    unknown = set(filters) - set(SEGMENT_FILTERS)
    if unknown:
        raise ValidationFailed(
            _("Unknown filters: %s.") % ", ".join(sorted(unknown)),
            fields={"filters": [_("Unknown: %s.") % ", ".join(sorted(unknown))]},
        )
    codes = filters.get("regions") or []
    regions = list(Region.objects.for_tenant(tenant).filter(code__in=codes))
    known = {region.code for region in regions}
    if set(codes) - known:
        raise ValidationFailed(
            _("Unknown regions."),
            fields={"filters.regions": [_("Unknown: %s.") % ", ".join(sorted(set(codes) - known))]},
        )
    # A regional operator's segment filters on their regions only (SPEC §7).
    data_scope.require_regions(actor, regions)
    for low, high in (
        ("registered_after", "registered_before"),
        ("last_order_after", "last_order_before"),
    ):
        if filters.get(low) and filters.get(high) and filters[low] > filters[high]:
            raise ValidationFailed(
                _("Check the filters."), fields={f"filters.{high}": [_("Before %s.") % low]}
            )
    stored = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()}
    segment = Segment.objects.create(
        tenant=tenant, name=name, filters=stored, created_by=actor.user
    )
    audit_record(
        tenant=tenant,
        actor=actor,
        action="segment.create",
        obj=segment,
        after={"name": name, "filters": stored},
    )
    return segment
