"""Support and finance console pages: coupon lookup with history, rollback with confirmation,
the redemption list with filters."""

from decimal import Decimal

import pytest

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from coupons import services
from coupons.models import CouponStatus
from coupons.tests.factories import active_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def redeemed(world):
    batch = active_batch(world, quantity=5)
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="SUP1")
    actor = world.actor(Role.OPERATOR)
    coupon = services.coupon_issue(tenant=world.tenant, actor=actor, batch=batch, customer=customer)
    services.coupon_redeem(
        tenant=world.tenant,
        actor=actor,
        code=coupon.code,
        customer=customer,
        order="ORD-77",
        amount=Decimal("150.00"),
        merchant=world.merchant,
    )
    return coupon


def test_lookup_by_code_and_by_customer(world, redeemed):
    client = world.console_client(Role.OPERATOR)
    for query in (redeemed.code, "SUP1"):
        page = client.get("/console/coupons/lookup/", {"q": query})
        assert page.status_code == 200
        assert redeemed.code in page.content.decode()


def test_rollback_asks_for_confirmation_then_rolls_back(world, redeemed):
    client = world.console_client(Role.OPERATOR)
    url = f"/console/coupons/coupon/{redeemed.pk}/"
    page = client.get(url).content.decode()
    assert "ORD-77" in page and "coupon.redeem" in page  # redemption and history
    assert "Yes, roll back" not in page
    assert "Yes, roll back" in client.get(url, {"confirm": "rollback"}).content.decode()
    assert client.post(url).status_code == 302
    redeemed.refresh_from_db()
    assert redeemed.status == CouponStatus.ISSUED
    assert "coupon.rollback" in client.get(url).content.decode()


def test_finance_reads_but_cannot_roll_back(world, redeemed):
    client = world.console_client(Role.FINANCE)
    url = f"/console/coupons/coupon/{redeemed.pk}/"
    assert "Roll back" not in client.get(url).content.decode()
    client.post(url)
    redeemed.refresh_from_db()
    assert redeemed.status == CouponStatus.REDEEMED


def test_redemption_list_filters(world, redeemed):
    client = world.console_client(Role.FINANCE)
    page = client.get("/console/coupons/redemptions/", {"merchant": world.merchant.code})
    assert "ORD-77" in page.content.decode()
    page = client.get("/console/coupons/redemptions/", {"order": "OTHER"})
    assert "ORD-77" not in page.content.decode()


def test_other_tenants_coupon_is_not_found(world, other_world, redeemed):
    client = other_world.console_client(Role.OPERATOR)
    assert client.get(f"/console/coupons/coupon/{redeemed.pk}/").status_code == 404


def test_rules_page_adds_a_rule(world):
    from coupons.models import IssuanceRule

    batch = active_batch(world, quantity=5)
    client = world.console_client(Role.OPERATOR)
    response = client.post(
        "/console/coupons/rules/",
        {"batch": batch.pk, "event": "share", "cap_count": "1", "cap_days": "7"},
    )
    assert response.status_code == 302
    rule = IssuanceRule.objects.for_tenant(world.tenant).get()
    assert (rule.event, rule.frequency_cap_count, rule.frequency_cap_days) == ("share", 1, 7)
    assert batch.name in client.get("/console/coupons/rules/").content.decode()


def test_blocklist_page_blocks_and_unblocks(world):
    from coupons.models import BlockedCustomer

    CustomerFactory(tenant=world.tenant, region=world.region, code="BAD1")
    client = world.console_client(Role.OPERATOR)
    client.post("/console/coupons/blocklist/", {"customer": "BAD1", "reason": "wool party"})
    blocked = BlockedCustomer.objects.for_tenant(world.tenant)
    assert [b.reason for b in blocked] == ["wool party"]
    assert "BAD1" in client.get("/console/coupons/blocklist/").content.decode()
    response = client.post("/console/coupons/blocklist/", {"customer": "BAD1", "action": "unblock"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not BlockedCustomer.objects.for_tenant(world.tenant).exists()
