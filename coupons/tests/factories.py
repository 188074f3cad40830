"""Batches for tests, made through the services under a running campaign of an approved budget."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from budgets.tests.factories import approved_budget
from campaigns import services as campaign_services
from coupons import services
from coupons.models import CouponBatch


def running_campaign(world, *, amount="100000.00", regions=None):
    """A campaign that started an hour ago and ends in 10 days, under a budget covering it."""
    today = timezone.localdate()
    budget = approved_budget(
        world,
        amount=amount,
        starts_on=today - timedelta(days=2),
        ends_on=today + timedelta(days=30),
    )
    now = timezone.now()
    campaign = campaign_services.campaign_create(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        name="Double Eleven",
        budget=budget,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=10),
        regions=regions if regions is not None else [world.region],
    )
    return campaign_services.campaign_schedule(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        campaign=campaign,
        acknowledge_warnings=True,
    )


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
