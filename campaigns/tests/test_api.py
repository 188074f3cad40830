from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.roles import Role
from budgets.tests.factories import approved_budget, submitted_budget
from campaigns.models import CampaignStatus

from .factories import new_campaign, set_status

pytestmark = pytest.mark.django_db
R = Role
READERS = {R.TENANT_ADMIN, R.BU_ADMIN, R.OPERATOR, R.REGIONAL_OPERATOR, R.FINANCE, R.AUDITOR}
MANAGERS = {R.TENANT_ADMIN, R.BU_ADMIN, R.OPERATOR, R.REGIONAL_OPERATOR}
CHANNEL_ADMINS = {R.TENANT_ADMIN, R.OPERATOR}


def campaign_in(status):
    """A campaign in world.region under world.unit: inside every scoped role's scope."""

    def setup(world):
        return set_status(new_campaign(world, budget=approved_budget(world)), status)

    return setup


def create_body(world):
    now = timezone.now()
    return {
        "name": "Double Eleven",
        "budget": approved_budget(world).pk,
        "starts_at": (now + timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=5)).isoformat(),
        "channels": ["app", "wechat"],
        "regions": [world.region.code],
        "description": "11.11",
    }


ENDPOINTS = [
    ("list", "get", None, lambda o: "/api/v1/campaigns", None, READERS, 200),
    ("create", "post", None, lambda o: "/api/v1/campaigns", create_body, MANAGERS, 201),
    (
        "get",
        "get",
        campaign_in(CampaignStatus.DRAFT),
        lambda o: f"/api/v1/campaigns/{o.pk}",
        None,
        READERS,
        200,
    ),
    (
        "patch",
        "patch",
        campaign_in(CampaignStatus.DRAFT),
        lambda o: f"/api/v1/campaigns/{o.pk}",
        lambda w: {"name": "renamed", "channels": ["web"]},
        MANAGERS,
        200,
    ),
    (
        "check",
        "get",
        campaign_in(CampaignStatus.DRAFT),
        lambda o: f"/api/v1/campaigns/{o.pk}/check",
        None,
        READERS,
        200,
    ),
    (
        "schedule",
        "post",
        campaign_in(CampaignStatus.DRAFT),
        lambda o: f"/api/v1/campaigns/{o.pk}/schedule",
        None,
        MANAGERS,
        200,
    ),
    (
        "pause",
        "post",
        campaign_in(CampaignStatus.RUNNING),
        lambda o: f"/api/v1/campaigns/{o.pk}/pause",
        None,
        MANAGERS,
        200,
    ),
    (
        "resume",
        "post",
        campaign_in(CampaignStatus.PAUSED),
        lambda o: f"/api/v1/campaigns/{o.pk}/resume",
        None,
        MANAGERS,
        200,
    ),
    (
        "end",
        "post",
        campaign_in(CampaignStatus.SCHEDULED),
        lambda o: f"/api/v1/campaigns/{o.pk}/end",
        None,
        MANAGERS,
        200,
    ),
    ("channels", "get", None, lambda o: "/api/v1/channels", None, READERS, 200),
    (
        "channel-create",
        "post",
        None,
        lambda o: "/api/v1/channels",
        lambda w: {"code": "tiktok", "name": "TikTok"},
        CHANNEL_ADMINS,
        201,
    ),
    (
        "channel-update",
        "patch",
        None,
        lambda o: "/api/v1/channels/sms",
        lambda w: {"is_active": False},
        CHANNEL_ADMINS,
        200,
    ),
]


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_every_endpoint_by_every_role(world, endpoint, role):
    _name, method, setup, path, body, allowed, success = endpoint
    obj = setup(world) if setup else None
    response = getattr(world.client(role), method)(
        path(obj), body(world) if body else {}, format="json"
    )
    expected = success if role in allowed else 403
    assert response.status_code == expected, response.json()


def test_create_returns_the_draft(world):
    response = world.client(R.OPERATOR).post("/api/v1/campaigns", create_body(world), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft" and body["business_unit"] == world.unit.code
    assert body["channels"] == ["app", "wechat"] and body["regions"] == [world.region.code]
    assert body["owner"] == "alpha-operator"


def test_create_bad_references_are_400(world, other_world):
    body = {**create_body(world), "channels": ["nope"], "regions": [other_world.region.code]}
    response = world.client(R.OPERATOR).post("/api/v1/campaigns", body, format="json")
    assert response.status_code == 400
    assert {"channels.0", "regions.0"} <= set(response.json()["fields"])
    body = {**create_body(world), "budget": approved_budget(other_world).pk}
    response = world.client(R.OPERATOR).post("/api/v1/campaigns", body, format="json")
    assert response.status_code == 400 and "budget" in response.json()["fields"]
    body = {**create_body(world), "regions": []}
    response = world.client(R.OPERATOR).post("/api/v1/campaigns", body, format="json")
    assert response.status_code == 400


def test_check_and_schedule_refusals(world):
    campaign = new_campaign(world, budget=submitted_budget(world), channels=())
    client = world.client(R.OPERATOR)
    check = client.get(f"/api/v1/campaigns/{campaign.pk}/check").json()
    assert [e["code"] for e in check["errors"]] == ["budget_not_approved"]
    assert [w["code"] for w in check["warnings"]] == ["no_channels"]
    # without points rules there is nothing to replay
    assert (check["simulation"]["status"], check["simulation"]["result"]) == ("none", None)
    response = client.post(f"/api/v1/campaigns/{campaign.pk}/schedule")
    assert response.status_code == 422
    assert response.json()["code"] == "campaign_check_failed"
    assert "budget_not_approved" in response.json()["fields"]

    campaign = new_campaign(world, budget=approved_budget(world), channels=())
    response = client.post(f"/api/v1/campaigns/{campaign.pk}/schedule")
    assert response.status_code == 422
    assert response.json()["code"] == "warnings_not_acknowledged"
    response = client.post(
        f"/api/v1/campaigns/{campaign.pk}/schedule", {"acknowledge_warnings": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "scheduled"
    response = client.post(f"/api/v1/campaigns/{campaign.pk}/schedule")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    response = client.post(f"/api/v1/campaigns/{campaign.pk}/pause")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_regional_operator_404_outside_and_403_when_not_all_regions_are_theirs(world):
    budget = approved_budget(world)
    foreign = new_campaign(world, budget=budget, regions=[world.other_region], name="foreign")
    mixed = new_campaign(
        world, budget=budget, regions=[world.region, world.other_region], name="mixed"
    )
    client = world.client(R.REGIONAL_OPERATOR)
    names = [c["name"] for c in client.get("/api/v1/campaigns").json()["results"]]
    assert names == ["mixed"]
    assert client.get(f"/api/v1/campaigns/{foreign.pk}").status_code == 404
    assert client.post(f"/api/v1/campaigns/{foreign.pk}/schedule").status_code == 404
    assert client.get(f"/api/v1/campaigns/{mixed.pk}").status_code == 200
    response = client.post(f"/api/v1/campaigns/{mixed.pk}/schedule")
    assert response.status_code == 403 and response.json()["code"] == "out_of_scope"
    response = client.patch(f"/api/v1/campaigns/{mixed.pk}", {"name": "x"}, format="json")
    assert response.status_code == 403


def test_other_tenant_gets_404(world, other_world):
    campaign = new_campaign(world, budget=approved_budget(world))
    client = other_world.client(R.TENANT_ADMIN)
    assert client.get(f"/api/v1/campaigns/{campaign.pk}").status_code == 404
    assert client.post(f"/api/v1/campaigns/{campaign.pk}/end").status_code == 404
    assert client.get("/api/v1/campaigns").json()["count"] == 0


def test_filters(world):
    budget = approved_budget(world)
    new_campaign(world, budget=budget, name="north app", channels=("app",))
    new_campaign(
        world, budget=budget, name="south sms", regions=[world.other_region], channels=("sms",)
    )
    set_status(new_campaign(world, budget=budget, name="ended"), CampaignStatus.ENDED)
    client = world.client(R.OPERATOR)

    def names(**params):
        return sorted(c["name"] for c in client.get("/api/v1/campaigns", params).json()["results"])

    assert names(status="ended") == ["ended"]
    assert names(status=["draft"], channel="sms") == ["south sms"]
    assert names(region=world.other_region.code) == ["south sms"]
    assert names(budget=budget.pk, search="north") == ["north app"]
    assert names(active_from=(timezone.now() + timedelta(days=30)).isoformat()) == []
    assert names(business_unit=world.other_unit.code) == []


def test_api_keys_are_refused(world):
    assert world.key_client().get("/api/v1/campaigns").status_code == 403


def test_patch_changes_owner_channels_and_is_audited(world):
    campaign = new_campaign(world, budget=approved_budget(world))
    client = world.client(R.OPERATOR)
    response = client.patch(
        f"/api/v1/campaigns/{campaign.pk}",
        {"owner": "alpha-tenant_admin", "channels": ["sms"], "description": "new"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["owner"], body["channels"], body["description"]) == (
        "alpha-tenant_admin",
        ["sms"],
        "new",
    )
    response = client.patch(f"/api/v1/campaigns/{campaign.pk}", {"owner": "nobody"}, format="json")
    assert response.status_code == 400 and "owner" in response.json()["fields"]
    audit = world.client(R.AUDITOR).get("/api/v1/audit-log", {"action": "campaign.update"}).json()
    assert audit["count"] == 1
