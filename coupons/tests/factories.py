"""Batches for tests, made through the services under a running campaign of an approved budget."""

from decimal import Decimal

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from campaigns.tests.factories import running_campaign
from coupons import services
from coupons.models import CouponBatch


def batch_fields(**overrides) -> dict:
    fields = {
        "name": "New-user coupon",
        "kind": "amount_off",
        "value": Decimal("20.00"),
        "threshold": Decimal("100.00"),
        "valid_days": 7,
        "quantity": 100,
        "per_customer_limit": 1,
    }
    fields.update(overrides)
    return fields


def draft_batch(world, campaign=None, *, role=Role.OPERATOR, **overrides) -> CouponBatch:
    campaign = campaign or running_campaign(world)
    return services.batch_create(
        tenant=world.tenant, actor=world.actor(role), campaign=campaign, **batch_fields(**overrides)
    )


def active_batch(world, campaign=None, **overrides) -> CouponBatch:
    batch = draft_batch(world, campaign, **overrides)
    return services.batch_activate(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch
    )


def customers(world, count: int, *, prefix: str = "C", **fields) -> list:
    return [
        CustomerFactory(tenant=world.tenant, region=world.region, code=f"{prefix}{i:06d}", **fields)
        for i in range(count)
    ]
