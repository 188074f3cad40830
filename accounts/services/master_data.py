"""Business units, and the integrator upserts of regions, merchants, staff, customers (SPEC §8)."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from core.services import audit_record, snapshot

from ..models import BusinessUnit, Customer, Merchant, MerchantStaff, Region, Tenant
from ..permissions import Actor
from ..roles import Action


@transaction.atomic
def business_unit_create(*, tenant: Tenant, actor: Actor, code: str, name: str) -> BusinessUnit:
    actor.require(Action.USERS_MANAGE)
    if actor.business_unit_id is not None:
        raise PermissionDeniedError(_("Only tenant admins create business units."))
    if BusinessUnit.objects.for_tenant(tenant).filter(code=code).exists():
        raise ValidationFailed(_("Code in use."), fields={"code": [_("This code is taken.")]})
    unit = BusinessUnit.objects.create(tenant=tenant, code=code, name=name)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="business_unit.create",
        obj=unit,
        after=snapshot(unit, fields=["code", "name"]),
    )
    return unit


def _region_ids(region: Region | None) -> list[int]:
    """A row's region as `Actor.owns_wholly` takes it: a row in no region is in none of theirs."""
    return [region.pk] if region is not None else []


def _require_region_scope(actor: Actor, region: Region | None) -> None:
    """A regional operator writes only inside their regions."""
    actor.require_owns_wholly(
        region_ids=_region_ids(region), message=_("This is outside your regions.")
    )


def _upsert(
    *,
    tenant: Tenant,
    actor: Actor,
    model,
    code: str,
    values: dict,
    audit_fields: list[str],
    region_of=None,
):
    """Create or update the row with this code; `region_of(row)` is its region for the scope."""
    actor.require(Action.MASTER_DATA_MANAGE)
    max_length = model._meta.get_field("code").max_length
    if len(code) > max_length:  # the code comes from the URL, past every serializer
        raise ValidationFailed(
            _("Invalid input: code."),
            fields={"code": [_("At most %(n)d characters.") % {"n": max_length}]},
        )
    rows = model.objects.for_tenant(tenant).select_for_update()
    row = rows.filter(code=code).first()
    created = row is None
    if created:
        try:
            # A concurrent upsert of the same code may win the insert: then update its row.
            with transaction.atomic():
                row = model(tenant=tenant, code=code, **values)
                row.save()
        except IntegrityError:
            row = rows.filter(code=code).first()
            if row is None:  # another constraint failed, not the code's
                raise
            created = False
    # An existing row outside the operator's regions is invisible to them (like on GET), so
    # they can neither change it nor move it into their regions.
    hidden = (
        not created
        and region_of is not None
        and actor.is_regional  # the only ones bounded by regions: nobody else reads the region
        and not actor.owns_wholly(region_ids=_region_ids(region_of(row)))
    )
    if hidden:
        raise NotFoundError(_("Not found."))
    before = None if created else snapshot(row, fields=audit_fields)
    if not created:
        for field, value in values.items():
            setattr(row, field, value)
        row.save()
    after = snapshot(row, fields=audit_fields)
    if created or after != before:
        audit_record(
            tenant=tenant,
            actor=actor,
            action=f"{model._meta.model_name}.upsert",
            obj=row,
            before=before,
            after=after,
        )
    return row, created


@transaction.atomic
def region_upsert(
    *, tenant: Tenant, actor: Actor, code: str, name: str, parent: Region | None = None
) -> tuple[Region, bool]:
    if actor.region_ids is not None:
        raise PermissionDeniedError(_("Regional operators cannot change the region tree."))
    if parent is not None:
        node: Region | None = parent
        while node is not None:  # a region may not end up below itself
            if node.code == code:
                raise ValidationFailed(
                    _("A region cannot be its own ancestor."), fields={"parent": [_("Cycle.")]}
                )
            node = node.parent
    return _upsert(
        tenant=tenant,
        actor=actor,
        model=Region,
        code=code,
        values={"name": name, "parent": parent},
        audit_fields=["name", "parent"],
    )


@transaction.atomic
def merchant_upsert(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    name: str,
    region: Region | None = None,
    customer: Customer | None = None,
    is_active: bool = True,
) -> tuple[Merchant, bool]:
    """`customer`: the merchant's own customer record, which receives the coupon prizes its
    staff redeem (SPEC §4); a regional operator links only a customer of their regions."""
    _require_region_scope(actor, region)
    if customer is not None:
        _require_region_scope(actor, customer.region)
    return _upsert(
        tenant=tenant,
        actor=actor,
        model=Merchant,
        code=code,
        values={"name": name, "region": region, "customer": customer, "is_active": is_active},
        audit_fields=["name", "region", "customer", "is_active"],
        region_of=lambda row: row.region,
    )


@transaction.atomic
def staff_upsert(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    name: str,
    merchant: Merchant,
    phone: str = "",
    is_active: bool = True,
) -> tuple[MerchantStaff, bool]:
    _require_region_scope(actor, merchant.region)
    return _upsert(
        tenant=tenant,
        actor=actor,
        model=MerchantStaff,
        code=code,
        values={"name": name, "merchant": merchant, "phone": phone, "is_active": is_active},
        audit_fields=["name", "merchant", "phone", "is_active"],
        region_of=lambda row: row.merchant.region,
    )


@transaction.atomic
def customer_upsert(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    name: str = "",
    registered_on: date | None = None,
    region: Region | None = None,
    tags: list[str] | None = None,
    last_order_on: date | None = None,
    phone_fingerprint: str = "",
    device_fingerprint: str = "",
) -> tuple[Customer, bool]:
    _require_region_scope(actor, region)
    return _upsert(
        tenant=tenant,
        actor=actor,
        model=Customer,
        code=code,
        values={
            "name": name,
            "registered_on": registered_on,
            "region": region,
            "tags": sorted(set(tags or [])),
            "last_order_on": last_order_on,
            "phone_fingerprint": phone_fingerprint,
            "device_fingerprint": device_fingerprint,
        },
        audit_fields=["name", "registered_on", "region", "tags", "last_order_on"],
        region_of=lambda row: row.region,
    )
