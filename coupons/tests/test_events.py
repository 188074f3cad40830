"""Automatic issuance by events, and fraud limits (SPEC §2.4 Automatic, §10 fraud_limit, blocked)."""

from decimal import Decimal

import pytest

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from core.errors import DomainError
from core.models import AuditEntry
from coupons import services
from coupons.errors import CouponReason as R
from coupons.models import Coupon, CouponRedemption
from coupons.tests.factories import active_batch

pytestmark = pytest.mark.django_db


def _customer(world, code):
    return CustomerFactory(tenant=world.tenant, region=world.region, code=code)


def _rule(world, batch, event, **cap):
    return services.issuance_rule_create(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, event=event, **cap
    )


def _limits(world, *, customer_daily=10, fingerprint_customers=3, campaign_limits=None):
    services.fraud_settings_update(
        tenant=world.tenant,
        actor=world.actor(Role.TENANT_ADMIN),
        customer_daily=customer_daily,
        fingerprint_customers=fingerprint_customers,
        campaign_limits=campaign_limits or {},
    )


def _send(client, **body):
    return client.post("/api/v1/events", body, format="json")


def test_registration_issues_once_and_a_resend_is_a_no_op(world):
    batch = active_batch(world, quantity=10)
    _rule(world, batch, "registration")
    customer = _customer(world, "N1")
    client = world.key_client(scopes=["coupons"])
    first = _send(client, id="ev-1", type="registration", customer="N1")
    assert first.status_code == 201, first.content
    assert [i["outcome"] for i in first.json()["issues"]] == ["issued"]
    again = _send(client, id="ev-1", type="registration", customer="N1")
    assert again.status_code == 200 and again.json() == first.json()
    assert Coupon.objects.for_tenant(world.tenant).filter(customer=customer).count() == 1


def test_referral_issues_to_invitee_and_inviter(world):
    batch = active_batch(world, quantity=10)
    _rule(world, batch, "referral")
    invitee, inviter = _customer(world, "IN"), _customer(world, "INV")
    client = world.key_client(scopes=["coupons"])
    response = _send(client, id="ev-r", type="referral", customer="IN", inviter="INV")
    assert response.status_code == 201, response.content
    holders = set(Coupon.objects.for_tenant(world.tenant).values_list("customer_id", flat=True))
    assert holders == {invitee.pk, inviter.pk}
    assert _send(client, id="ev-r2", type="referral", customer="IN").status_code == 400


def test_a_rules_frequency_cap(world):
    batch = active_batch(world, quantity=10, per_customer_limit=5)
    _rule(world, batch, "share", frequency_cap_count=2, frequency_cap_days=30)
    _customer(world, "S1")
    client = world.key_client(scopes=["coupons"])
    outcomes = [
        _send(client, id=f"sh-{i}", type="share", customer="S1").json()["issues"][0]["outcome"]
        for i in range(3)
    ]
    assert outcomes == ["issued", "issued", "limit_reached"]


def test_blocked_customer_gets_nothing_and_cannot_redeem(world):
    batch = active_batch(world, quantity=10)
    _rule(world, batch, "registration")
    customer = _customer(world, "B1")
    coupon = services.coupon_issue(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, customer=customer
    )
    support = world.client(Role.OPERATOR)
    assert (
        support.post("/api/v1/blocked-customers", {"customer": "B1"}, format="json").status_code
        == 200
    )
    client = world.key_client(scopes=["coupons"])
    assert (
        _send(client, id="b-1", type="registration", customer="B1").json()["issues"][0]["outcome"]
        == "blocked"
    )
    body = {"code": coupon.code, "customer": "B1", "amount": "150.00", "order": "OB"}
    response = client.post("/api/v1/coupons/redeem", body, format="json")
    assert response.status_code == 422 and response.json()["code"] == R.BLOCKED


def test_one_device_across_many_customers_hits_the_fraud_limit(world):
    _limits(world, fingerprint_customers=2)
    batch = active_batch(world, quantity=10)
    _rule(world, batch, "registration")
    client = world.key_client(scopes=["coupons"])
    outcomes = []
    for i in range(4):
        _customer(world, f"W{i}")
        response = _send(
            client, id=f"w-{i}", type="registration", customer=f"W{i}", device_id="dev-1"
        )
        outcomes.append(response.json()["issues"][0]["outcome"])
    assert outcomes == ["issued", "issued", "fraud_limit", "fraud_limit"]


def test_customer_daily_redemption_limit(world):
    _limits(world, customer_daily=1)
    batch = active_batch(world, quantity=10, per_customer_limit=2, stackable=True)
    customer = _customer(world, "D1")
    actor = world.actor(Role.OPERATOR)
    first, second = (
        services.coupon_issue(tenant=world.tenant, actor=actor, batch=batch, customer=customer)
        for _ in range(2)
    )
    kwargs = {"tenant": world.tenant, "actor": actor, "customer": customer, "amount": Decimal(150)}
    services.coupon_redeem(code=first.code, order="D-1", **kwargs)
    with pytest.raises(DomainError) as exc:
        services.coupon_redeem(code=second.code, order="D-2", **kwargs)
    assert exc.value.code == R.FRAUD_LIMIT
    assert exc.value.fields["fraud_limit"] == ["customer_daily"]
    assert CouponRedemption.objects.for_tenant(world.tenant).count() == 1


def test_suspicious_clusters_report(world):
    _limits(world, fingerprint_customers=100)
    client = world.key_client(scopes=["coupons"])
    for i in range(3):
        _customer(world, f"K{i}")
        _send(client, id=f"k-{i}", type="share", customer=f"K{i}", device_id="dev-9")
    _customer(world, "LONE")
    _send(client, id="lone", type="share", customer="LONE", device_id="dev-lone")
    response = world.client(Role.OPERATOR).get("/api/v1/fraud/clusters?min_customers=2")
    assert response.status_code == 200, response.content
    assert [(c["kind"], c["customers"]) for c in response.json()] == [("device", 3)]


# --- rules: edit the cap, disable and enable ---------------------------------------------------------


def test_a_disabled_rule_issues_nothing_and_enabled_again_issues(world):
    batch = active_batch(world, quantity=10, per_customer_limit=5)
    rule = _rule(world, batch, "share")
    _customer(world, "R1")
    api = world.client(Role.OPERATOR)
    off = api.post(f"/api/v1/issuance-rules/{rule.pk}/deactivate", {}, format="json")
    assert off.status_code == 200 and off.json()["active"] is False, off.content
    again = api.post(f"/api/v1/issuance-rules/{rule.pk}/deactivate", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    client = world.key_client(scopes=["coupons"])
    assert _send(client, id="r-1", type="share", customer="R1").json()["issues"] == []
    assert not Coupon.objects.for_tenant(world.tenant).exists()
    on = api.post(f"/api/v1/issuance-rules/{rule.pk}/activate", {}, format="json")
    assert on.status_code == 200 and on.json()["active"] is True
    outcome = _send(client, id="r-2", type="share", customer="R1").json()["issues"][0]["outcome"]
    assert outcome == "issued"
    actions = AuditEntry.objects.for_tenant(world.tenant).filter(object_id=str(rule.pk))
    assert {"issuance_rule.deactivate", "issuance_rule.activate"} <= set(
        actions.values_list("action", flat=True)
    )


def test_patch_changes_the_rules_cap(world):
    batch = active_batch(world, quantity=10, per_customer_limit=5)
    rule = _rule(world, batch, "share")
    _customer(world, "R2")
    api = world.client(Role.OPERATOR)
    response = api.patch(
        f"/api/v1/issuance-rules/{rule.pk}",
        {"frequency_cap": {"count": 1, "days": 7}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["frequency_cap"] == {"count": 1, "days": 7}
    assert api.get(f"/api/v1/issuance-rules/{rule.pk}").json()["frequency_cap"] == {
        "count": 1,
        "days": 7,
    }
    client = world.key_client(scopes=["coupons"])
    outcomes = [
        _send(client, id=f"p-{i}", type="share", customer="R2").json()["issues"][0]["outcome"]
        for i in range(2)
    ]
    assert outcomes == ["issued", "limit_reached"]
    cleared = api.patch(f"/api/v1/issuance-rules/{rule.pk}", {"frequency_cap": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["frequency_cap"] is None
    entry = AuditEntry.objects.for_tenant(world.tenant).filter(action="issuance_rule.update")
    assert entry.count() == 2


@pytest.mark.parametrize(
    "body",
    [{}, {"frequency_cap": {"count": 0, "days": 7}}, {"frequency_cap": {"count": 1}}],
)
def test_bad_rule_patch_is_400_and_changes_nothing(world, body):
    rule = _rule(world, active_batch(world, quantity=10), "share")
    response = world.client(Role.OPERATOR).patch(
        f"/api/v1/issuance-rules/{rule.pk}", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert any(k.startswith("frequency_cap") for k in response.json()["fields"])
    rule.refresh_from_db()
    assert rule.frequency_cap_count is None
    assert not AuditEntry.objects.for_tenant(world.tenant).filter(action="issuance_rule.update")


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.TENANT_ADMIN, 200),
        (Role.REGIONAL_OPERATOR, 200),
        (Role.FINANCE, 403),
        (Role.AUDITOR, 403),
    ],
)
def test_who_may_change_rules(world, role, status):
    rule = _rule(world, active_batch(world, quantity=10), "share")
    client = world.client(role)
    assert client.post(f"/api/v1/issuance-rules/{rule.pk}/deactivate").status_code == status
    patch = client.patch(
        f"/api/v1/issuance-rules/{rule.pk}",
        {"frequency_cap": {"count": 2, "days": 1}},
        format="json",
    )
    assert patch.status_code == status
    rule.refresh_from_db()
    assert rule.active == (status != 200)


def test_a_regional_operator_cannot_change_a_rule_of_other_regions(world):
    from coupons.tests.factories import running_campaign

    campaign = running_campaign(world, regions=[world.region, world.other_region])
    rule = _rule(world, active_batch(world, campaign, quantity=10), "share")
    client = world.client(Role.REGIONAL_OPERATOR)
    assert client.post(f"/api/v1/issuance-rules/{rule.pk}/deactivate").status_code == 403
    rule.refresh_from_db()
    assert rule.active


def test_console_rule_buttons(world):
    rule = _rule(world, active_batch(world, quantity=10), "share")
    client = world.console_client(Role.OPERATOR)
    page = client.get("/console/coupons/rules/").content.decode()
    assert f"/console/coupons/rules/{rule.pk}/deactivate/" in page
    client.post(f"/console/coupons/rules/{rule.pk}/deactivate/")
    rule.refresh_from_db()
    assert not rule.active
    assert (
        f"/console/coupons/rules/{rule.pk}/activate/"
        in client.get("/console/coupons/rules/").content.decode()
    )
    client.post(f"/console/coupons/rules/{rule.pk}/update/", {"cap_count": "2", "cap_days": "5"})
    rule.refresh_from_db()
    assert (rule.frequency_cap_count, rule.frequency_cap_days) == (2, 5)
    client.post(f"/console/coupons/rules/{rule.pk}/update/", {"cap_count": "2", "cap_days": ""})
    rule.refresh_from_db()
    assert (rule.frequency_cap_count, rule.frequency_cap_days) == (2, 5)  # refused, unchanged
    auditor = world.console_client(Role.AUDITOR)
    assert auditor.post(f"/console/coupons/rules/{rule.pk}/activate/").status_code == 403
