"""Fraud limits per tenant and per campaign, and the blocklist over the API (SPEC §7, §10
fraud_limit, blocked)."""

from decimal import Decimal

import pytest

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from core.models import AuditEntry
from coupons import services
from coupons.errors import CouponReason as R
from coupons.models import BlockedCustomer, CampaignRedemptionLimit, CouponRedemption
from coupons.selectors import tenant_fraud_settings
from coupons.tests.factories import active_batch, running_campaign

pytestmark = pytest.mark.django_db
URL = "/api/v1/fraud/settings"


def _body(**overrides):
    return {"customer_daily": 5, "fingerprint_customers": 2, "campaign_limits": [], **overrides}


def test_defaults_until_the_tenant_changes_them(world):
    response = world.client(Role.AUDITOR).get(URL)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "customer_daily": 10,
        "fingerprint_customers": 3,
        "campaign_limits": [],
    }


@pytest.mark.parametrize("role", [Role.TENANT_ADMIN, Role.OPERATOR])
def test_tenant_wide_campaign_managers_change_them_audited(world, other_world, role):
    campaign = running_campaign(world)
    body = _body(campaign_limits=[{"campaign": campaign.pk, "max_redemptions_per_customer": 2}])
    response = world.client(role).put(URL, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == body
    assert world.client(Role.FINANCE).get(URL).json() == body
    entry = AuditEntry.objects.for_tenant(world.tenant).get(action="fraud_settings.update")
    assert entry.before == {"customer_daily": 10, "fingerprint_customers": 3, "campaign_limits": {}}
    assert entry.after == {
        "customer_daily": 5,
        "fingerprint_customers": 2,
        "campaign_limits": {str(campaign.pk): 2},
    }
    assert entry.actor_user == world.members[role].user
    # Another tenant keeps its own.
    assert tenant_fraud_settings(other_world.tenant).customer_daily == 10
    # PUT replaces: a campaign left out has no limit any more.
    assert world.client(role).put(URL, _body(), format="json").status_code == 200
    assert not CampaignRedemptionLimit.objects.for_tenant(world.tenant).exists()


@pytest.mark.parametrize(
    "role", [Role.REGIONAL_OPERATOR, Role.BU_ADMIN, Role.FINANCE, Role.AUDITOR]
)
def test_other_roles_cannot_change_them(world, role):
    response = world.client(role).put(URL, _body(), format="json")
    assert response.status_code == 403, response.content
    assert not AuditEntry.objects.for_tenant(world.tenant).filter(action__startswith="fraud")
    assert tenant_fraud_settings(world.tenant).pk is None


def test_api_keys_reach_neither_read_nor_change(world):
    client = world.key_client()
    assert client.get(URL).status_code == 403
    assert client.put(URL, _body(), format="json").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body(customer_daily=0), "customer_daily"),
        (_body(fingerprint_customers="many"), "fingerprint_customers"),
        (
            _body(campaign_limits=[{"campaign": 999999, "max_redemptions_per_customer": 1}]),
            "campaign_limits.0.campaign",
        ),
        (_body(campaign_limits=None), "campaign_limits"),
    ],
)
def test_bad_input_is_400_with_fields_and_changes_nothing(world, body, field):
    response = world.client(Role.TENANT_ADMIN).put(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert tenant_fraud_settings(world.tenant).pk is None


def test_a_campaign_twice_or_a_zero_limit_is_400(world):
    campaign = running_campaign(world)
    client = world.client(Role.TENANT_ADMIN)
    twice = [{"campaign": campaign.pk, "max_redemptions_per_customer": 1}] * 2
    zero = [{"campaign": campaign.pk, "max_redemptions_per_customer": 0}]
    for limits in (twice, zero):
        response = client.put(URL, _body(campaign_limits=limits), format="json")
        assert response.status_code == 400, response.content
    assert not CampaignRedemptionLimit.objects.for_tenant(world.tenant).exists()


# --- the per-campaign limit, across the campaign's batches ------------------------------------------


@pytest.fixture
def two_batches(world):
    """One customer with a coupon of each of two batches of one campaign limited to 1."""
    campaign = running_campaign(world)
    batches = [active_batch(world, campaign, quantity=5, name=f"B{i}") for i in range(2)]
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="CL1")
    actor = world.actor(Role.OPERATOR)
    coupons = [
        services.coupon_issue(tenant=world.tenant, actor=actor, batch=b, customer=customer)
        for b in batches
    ]
    services.fraud_settings_update(
        tenant=world.tenant,
        actor=world.actor(Role.TENANT_ADMIN),
        customer_daily=10,
        fingerprint_customers=3,
        campaign_limits={campaign: 1},
    )
    return customer, coupons


def test_campaign_limit_refuses_a_second_redemption_across_batches(world, two_batches):
    customer, (first, second) = two_batches
    client = world.key_client(scopes=["coupons"])
    facts = {"customer": customer.code, "amount": "150.00"}
    ok = client.post(
        "/api/v1/coupons/redeem", {**facts, "code": first.code, "order": "A"}, format="json"
    )
    assert ok.status_code == 200, ok.content
    check = client.post("/api/v1/coupons/validate", {**facts, "code": second.code}, format="json")
    assert check.json()["reason"] == R.FRAUD_LIMIT and check.json()["fraud_limit"] == "campaign"
    refused = client.post(
        "/api/v1/coupons/redeem", {**facts, "code": second.code, "order": "B"}, format="json"
    )
    assert refused.status_code == 422, refused.content
    error = refused.json()
    assert error["code"] == R.FRAUD_LIMIT
    assert error["fields"]["fraud_limit"] == ["campaign"]
    assert "campaign" in error["detail"]
    assert CouponRedemption.objects.for_tenant(world.tenant).count() == 1
    # A rollback frees the place.
    services.coupon_rollback(tenant=world.tenant, actor=world.actor(Role.OPERATOR), code=first.code)
    again = client.post(
        "/api/v1/coupons/redeem", {**facts, "code": second.code, "order": "B"}, format="json"
    )
    assert again.status_code == 200, again.content


def test_campaign_limit_does_not_touch_other_campaigns(world, two_batches):
    customer, (first, _second) = two_batches
    other = active_batch(world, quantity=5)  # its own campaign, no limit
    actor = world.actor(Role.OPERATOR)
    coupon = services.coupon_issue(tenant=world.tenant, actor=actor, batch=other, customer=customer)
    kwargs = {"tenant": world.tenant, "actor": actor, "customer": customer, "amount": Decimal(150)}
    services.coupon_redeem(code=first.code, order="A", **kwargs)
    services.coupon_redeem(code=coupon.code, order="C", **kwargs)
    assert CouponRedemption.objects.for_tenant(world.tenant).count() == 2


def test_console_saves_the_limits(world):
    campaign = running_campaign(world)
    client = world.console_client(Role.OPERATOR)
    page = client.get("/console/coupons/blocklist/").content.decode()
    assert 'name="customer_daily"' in page and campaign.name in page
    response = client.post(
        "/console/coupons/blocklist/limits/",
        {
            "customer_daily": "4",
            "fingerprint_customers": "6",
            "new_campaign": str(campaign.pk),
            "new_limit": "2",
        },
    )
    assert response.status_code == 302
    settings = tenant_fraud_settings(world.tenant)
    assert (settings.customer_daily, settings.fingerprint_customers) == (4, 6)
    limit = CampaignRedemptionLimit.objects.for_tenant(world.tenant).get()
    assert (limit.campaign_id, limit.max_per_customer) == (campaign.pk, 2)
    # Emptying a campaign's field removes its limit; a bad number changes nothing.
    client.post(
        "/console/coupons/blocklist/limits/",
        {"customer_daily": "0", "fingerprint_customers": "6", f"limit_{campaign.pk}": "3"},
    )
    assert CampaignRedemptionLimit.objects.for_tenant(world.tenant).get().max_per_customer == 2
    client.post(
        "/console/coupons/blocklist/limits/",
        {"customer_daily": "4", "fingerprint_customers": "6", f"limit_{campaign.pk}": ""},
    )
    assert not CampaignRedemptionLimit.objects.for_tenant(world.tenant).exists()


def test_console_limits_form_is_read_only_for_a_regional_operator(world):
    client = world.console_client(Role.REGIONAL_OPERATOR)
    page = client.get("/console/coupons/blocklist/").content.decode()
    assert "Save limits" not in page
    client.post(
        "/console/coupons/blocklist/limits/", {"customer_daily": "1", "fingerprint_customers": "1"}
    )
    assert tenant_fraud_settings(world.tenant).pk is None


# --- the blocklist over the API ------------------------------------------------------------------


def test_list_and_unblock_over_the_api(world):
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="BL1")
    # Support work: users, not integrators' API keys (SPEC §7).
    key = world.key_client(scopes=["coupons"])
    assert key.get("/api/v1/blocked-customers").status_code == 403
    assert key.delete("/api/v1/blocked-customers/BL1").status_code == 403
    client = world.client(Role.OPERATOR)
    assert (
        client.post(
            "/api/v1/blocked-customers", {"customer": "BL1", "reason": "wool"}, format="json"
        ).status_code
        == 200
    )
    listing = client.get("/api/v1/blocked-customers").json()
    assert [(r["customer"], r["reason"]) for r in listing["results"]] == [("BL1", "wool")]
    assert client.delete("/api/v1/blocked-customers/BL1").status_code == 204
    assert not services.customer_blocked(tenant=world.tenant, customer=customer)
    assert (
        AuditEntry.objects.for_tenant(world.tenant).filter(action="customer.unblock").count() == 1
    )
    # Not (or no longer) on the list, or unknown: 404.
    assert client.delete("/api/v1/blocked-customers/BL1").status_code == 404
    assert client.delete("/api/v1/blocked-customers/NOPE").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.OPERATOR, 204),
        (Role.REGIONAL_OPERATOR, 204),
        (Role.FINANCE, 403),
        (Role.AUDITOR, 403),
    ],
)
def test_who_may_unblock(world, role, status):
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="BL2")
    services.customer_block(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), customer=customer
    )
    response = world.client(role).delete("/api/v1/blocked-customers/BL2")
    assert response.status_code == status, response.content
    blocked = BlockedCustomer.objects.for_tenant(world.tenant).filter(customer=customer).exists()
    assert blocked == (status != 204)


def test_a_regional_operator_cannot_unblock_outside_their_regions(world):
    customer = CustomerFactory(tenant=world.tenant, region=world.other_region, code="BL3")
    services.customer_block(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), customer=customer
    )
    response = world.client(Role.REGIONAL_OPERATOR).delete("/api/v1/blocked-customers/BL3")
    assert response.status_code == 404
    assert services.customer_blocked(tenant=world.tenant, customer=customer)
