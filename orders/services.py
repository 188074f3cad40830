"""Order events from integrators: placed, completed, closed (SPEC §3.3, §10)."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Customer, Merchant, MerchantStaff, Region, Tenant
from accounts.permissions import Actor
from accounts.roles import Action
from campaigns.models import Channel
from core.db import insert_unless_exists
from core.errors import ConflictError, ValidationFailed, invalid_transition
from core.services import audit_record
from coupons import services as coupon_services
from points import services as points_services

from .errors import OrderErrorCode
from .models import Order, OrderStatus


@dataclass(frozen=True)
class OrderFacts:
    """What an integrator tells us about a placed order."""

    external_id: str
    merchant: Merchant
    staff: MerchantStaff
    region: Region
    amount: Decimal
    placed_at: datetime
    customer: Customer | None = None
    channel: Channel | None = None
    device_fingerprint: str = ""
    phone_fingerprint: str = ""

    def digest(self) -> str:
        canonical = {
            "merchant": self.merchant.pk,
            "staff": self.staff.pk,
            "region": self.region.pk,
            "amount": str(self.amount.quantize(Decimal("0.01"))),
            "placed_at": self.placed_at.astimezone(UTC).isoformat(),
            "customer": self.customer.pk if self.customer else None,
            "channel": self.channel.pk if self.channel else None,
            "device": self.device_fingerprint,
            "phone": self.phone_fingerprint,
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def order_place(*, tenant: Tenant, actor: Actor, facts: OrderFacts) -> tuple[Order, bool]:
    """Record a placed order once. Returns (order, created).

    The same event sent again (even twenty times at once) finds the first row through the
    unique (tenant, external_id) constraint and returns it; other facts under the same id
    are refused, so an order's points can never be earned twice.
    """
    actor.require(Action.ORDERS_WRITE)
    if facts.staff.merchant_id != facts.merchant.pk:
        raise ValidationFailed(
            _("Staff %(staff)s does not work for merchant %(merchant)s.")
            % {"staff": facts.staff.code, "merchant": facts.merchant.code},
            code=OrderErrorCode.STAFF_NOT_OF_MERCHANT,
            fields={"staff": [_("Not a staff member of this merchant.")]},
        )
    digest = facts.digest()
    refused: dict[int, str] = {}
    while True:
        try:
            return _order_insert(tenant, facts, digest, refused)
        except points_services.BudgetRefused as refusal:
            # Rolled back whole; placed again with the refusal recorded on the order instead.
            refused[refusal.rule_id] = refusal.detail


def _order_insert(tenant: Tenant, facts: OrderFacts, digest: str, refused) -> tuple[Order, bool]:
    with transaction.atomic():
        order = Order(
            tenant=tenant,
            external_id=facts.external_id,
            merchant=facts.merchant,
            staff=facts.staff,
            region=facts.region,
            customer=facts.customer,
            channel=facts.channel,
            amount=facts.amount,
            placed_at=facts.placed_at,
            device_fingerprint=facts.device_fingerprint,
            phone_fingerprint=facts.phone_fingerprint,
            payload_hash=digest,
        )
        # No savepoint: a resend (even one racing the first) inserts nothing and reads the row.
        if not insert_unless_exists(order, unique=("tenant", "external_id")):
            order = Order.objects.for_tenant(tenant).get(external_id=facts.external_id)
            if order.payload_hash != digest:
                raise ConflictError(
                    _("Order %s was already received with other details.") % facts.external_id,
                    code=OrderErrorCode.DUPLICATE_ORDER,
                )
            return order, False
        if facts.customer is not None:
            _customer_touch_last_order(customer=facts.customer, placed_at=facts.placed_at)
        # In the order's own transaction: the order and its points commit together, once.
        order.new_awards = points_services.points_on_order_placed(
            tenant=tenant, order=order, refused=refused
        )
    return order, True


def _customer_touch_last_order(*, customer: Customer, placed_at: datetime) -> None:
    placed_on = timezone.localdate(placed_at, customer.tenant.zone)
    Customer.objects.for_tenant(customer.tenant_id).filter(pk=customer.pk).exclude(
        last_order_on__gte=placed_on
    ).update(last_order_on=placed_on)


def _locked(tenant: Tenant, order: Order) -> Order:
    return Order.objects.for_tenant(tenant).select_for_update(no_key=True).get(pk=order.pk)


@transaction.atomic
def order_complete(*, tenant: Tenant, actor: Actor, order: Order) -> Order:
    """open → completed. Completing a completed order again is a harmless retry."""
    actor.require(Action.ORDERS_WRITE)
    order = _locked(tenant, order)
    if order.status == OrderStatus.COMPLETED:
        return order
    if order.status != OrderStatus.OPEN:
        raise invalid_transition(_("order"), order.status, OrderStatus.COMPLETED)
    order.status = OrderStatus.COMPLETED
    order.completed_at = timezone.now()
    order.save(update_fields=["status", "completed_at", "updated_at"])
    completed = Order.objects.for_tenant(tenant).filter(status=OrderStatus.COMPLETED)
    points_services.points_on_order_completed(
        tenant=tenant, order=order, completed_orders=completed
    )
    audit_record(tenant=tenant, actor=actor, action="order.complete", obj=order)
    return order


@transaction.atomic
def order_close(*, tenant: Tenant, actor: Actor, order: Order) -> Order:
    """open or completed → closed. Closing twice is a harmless retry."""
    actor.require(Action.ORDERS_WRITE)
    order = _locked(tenant, order)
    if order.status == OrderStatus.CLOSED:
        return order
    order.status = OrderStatus.CLOSED
    order.closed_at = timezone.now()
    order.save(update_fields=["status", "closed_at", "updated_at"])
    # Coupon rows and batches first, budgets last: the lock order of redeem, rollback and placing.
    coupon_services.coupons_lock_for_order_close(tenant=tenant, order_ref=order.external_id)
    points_services.points_on_order_closed(tenant=tenant, order=order)
    # SPEC §8: the coupons redeemed on a closed order come back to their holders.
    coupon_services.coupons_on_order_closed(tenant=tenant, actor=actor, order_ref=order.external_id)
    audit_record(tenant=tenant, actor=actor, action="order.close", obj=order)
    return order
