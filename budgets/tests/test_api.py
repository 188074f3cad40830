from decimal import Decimal

import pytest

from accounts.roles import Role
from accounts.tests.factories import MembershipFactory
from budgets import services
from budgets.models import BudgetStatus
from tests.test_error_shape import assert_error

from .factories import approved_budget, draft_budget, submitted_budget

pytestmark = pytest.mark.django_db
R = Role
READERS = {R.TENANT_ADMIN, R.BU_ADMIN, R.OPERATOR, R.REGIONAL_OPERATOR, R.FINANCE, R.AUDITOR}
DRAFTERS = {R.TENANT_ADMIN, R.FINANCE}
CHECKERS = {R.FINANCE}


def rejected_budget(world):
    budget = submitted_budget(world)
    return services.budget_reject(
        tenant=world.tenant, actor=world.actor(R.FINANCE), budget=budget, note="no"
    )


def pending_adjustment(world):
    return services.budget_adjustment_create(
        tenant=world.tenant,
        actor=world.actor(R.TENANT_ADMIN),
        budget=approved_budget(world),
        amount_delta=Decimal("100.00"),
        reason="more",
    )


def new_budget_body(world):
    return {
        "business_unit": world.unit.code,
        "name": "Q1",
        "purpose": "points",
        "amount": "5000.00",
        "starts_on": "2027-01-01",
        "ends_on": "2027-03-31",
    }


# (name, method, setup → object or None, path, body, roles allowed, status on success)
ENDPOINTS = [
    ("list", "get", None, lambda o: "/api/v1/budgets", None, READERS, 200),
    ("create", "post", None, lambda o: "/api/v1/budgets", new_budget_body, DRAFTERS, 201),
    ("get", "get", draft_budget, lambda o: f"/api/v1/budgets/{o.pk}", None, READERS, 200),
    (
        "patch",
        "patch",
        draft_budget,
        lambda o: f"/api/v1/budgets/{o.pk}",
        lambda w: {"name": "renamed"},
        DRAFTERS,
        200,
    ),
    (
        "submit",
        "post",
        draft_budget,
        lambda o: f"/api/v1/budgets/{o.pk}/submit",
        None,
        DRAFTERS,
        200,
    ),
    (
        "approve",
        "post",
        submitted_budget,
        lambda o: f"/api/v1/budgets/{o.pk}/approve",
        None,
        CHECKERS,
        200,
    ),
    (
        "reject",
        "post",
        submitted_budget,
        lambda o: f"/api/v1/budgets/{o.pk}/reject",
        lambda w: {"note": "too much"},
        CHECKERS,
        200,
    ),
    (
        "reopen",
        "post",
        rejected_budget,
        lambda o: f"/api/v1/budgets/{o.pk}/reopen",
        None,
        DRAFTERS,
        200,
    ),
    (
        "close",
        "post",
        approved_budget,
        lambda o: f"/api/v1/budgets/{o.pk}/close",
        None,
        CHECKERS,
        200,
    ),
    (
        "entries",
        "get",
        approved_budget,
        lambda o: f"/api/v1/budgets/{o.pk}/entries",
        None,
        READERS,
        200,
    ),
    (
        "adjustments",
        "get",
        approved_budget,
        lambda o: f"/api/v1/budgets/{o.pk}/adjustments",
        None,
        READERS,
        200,
    ),
    (
        "adjust",
        "post",
        approved_budget,
        lambda o: f"/api/v1/budgets/{o.pk}/adjustments",
        lambda w: {"amount_delta": "250.00", "reason": "more traffic"},
        DRAFTERS,
        201,
    ),
    ("adjustment-list", "get", None, lambda o: "/api/v1/budget-adjustments", None, READERS, 200),
    (
        "adjustment-approve",
        "post",
        pending_adjustment,
        lambda o: f"/api/v1/budget-adjustments/{o.pk}/approve",
        None,
        CHECKERS,
        200,
    ),
    (
        "adjustment-reject",
        "post",
        pending_adjustment,
        lambda o: f"/api/v1/budget-adjustments/{o.pk}/reject",
        lambda w: {"note": "no"},
        CHECKERS,
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
    if expected == 403:
        assert response.json()["code"] == "permission_denied"


def test_api_keys_cannot_call_management_endpoints(world):
    budget = draft_budget(world)
    client = world.key_client()
    assert client.get("/api/v1/budgets").status_code == 403
    assert client.post(f"/api/v1/budgets/{budget.pk}/submit").status_code == 403


def test_anonymous_is_401(client):
    assert client.get("/api/v1/budgets").status_code == 401


def test_budget_carries_the_money_figures_as_decimal_strings(world):
    response = world.client(R.FINANCE).post(
        "/api/v1/budgets", new_budget_body(world), format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft" and body["created_by"] == "alpha-finance"
    assert (body["amount"], body["reserved"], body["spent"], body["available"]) == (
        "5000.00",
        "0.00",
        "0.00",
        "5000.00",
    )
    budget = approved_budget(world)
    services.budget_reserve(tenant=world.tenant, budget=budget, amount="12.34", reference="r")
    body = world.client(R.AUDITOR).get(f"/api/v1/budgets/{budget.pk}").json()
    assert (body["reserved"], body["available"]) == ("12.34", "987.66")
    entries = world.client(R.AUDITOR).get(f"/api/v1/budgets/{budget.pk}/entries").json()
    assert entries["count"] == 2
    assert [e["kind"] for e in entries["results"]] == ["reserve", "approve"]


def test_the_full_flow_with_maker_checker(world):
    maker = world.client(R.FINANCE)
    created = maker.post("/api/v1/budgets", new_budget_body(world), format="json").json()
    submitted = maker.post(f"/api/v1/budgets/{created['id']}/submit", {"note": "please"})
    assert submitted.json()["status"] == "submitted"
    refused = maker.post(f"/api/v1/budgets/{created['id']}/approve", {"note": "mine"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "maker_checker"
    checker = MembershipFactory(tenant=world.tenant, user__username="checker", role=R.FINANCE)
    from rest_framework.test import APIClient

    from accounts.services import personal_token_create

    _t, key = personal_token_create(membership=checker)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    approved = client.post(f"/api/v1/budgets/{created['id']}/approve", {"note": "ok"})
    assert approved.status_code == 200
    body = approved.json()
    assert (body["status"], body["approved_by"], body["decision_note"]) == (
        "approved",
        "checker",
        "ok",
    )
    again = client.post(f"/api/v1/budgets/{created['id']}/approve")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    audit = world.client(R.AUDITOR).get("/api/v1/audit-log", {"action": "budget."}).json()
    assert [e["action"] for e in audit["results"]][:3] == [
        "budget.approve",
        "budget.submit",
        "budget.create",
    ]


def test_reject_needs_a_note(world):
    budget = submitted_budget(world)
    response = world.client(R.FINANCE).post(f"/api/v1/budgets/{budget.pk}/reject", {})
    assert response.status_code == 400 and "note" in response.json()["fields"]


def test_bad_input_is_400_with_fields(world):
    body = {**new_budget_body(world), "amount": "-1", "ends_on": "2026-01-01"}
    response = world.client(R.FINANCE).post("/api/v1/budgets", body, format="json")
    assert response.status_code == 400
    assert "amount" in response.json()["fields"]
    body = {**new_budget_body(world), "business_unit": "nope"}
    response = world.client(R.FINANCE).post("/api/v1/budgets", body, format="json")
    assert response.status_code == 400 and "business_unit" in response.json()["fields"]


def test_filters(world):
    draft_budget(world, name="a")
    approved_budget(world, name="b")
    approved_budget(world, name="c", unit=world.other_unit)
    client = world.client(R.FINANCE)

    def names(**params):
        return sorted(b["name"] for b in client.get("/api/v1/budgets", params).json()["results"])

    assert names(status="approved") == ["b", "c"]
    assert names(business_unit=world.other_unit.code) == ["c"]
    assert names(status="draft", business_unit=world.unit.code) == ["a"]
    assert names(active_from="2100-01-01") == []
    assert names(search="b") == ["b"]
    assert client.get("/api/v1/budgets", {"status": "nonsense"}).status_code == 400


def test_bu_admin_sees_only_their_unit_and_others_are_404(world, other_world):
    mine = draft_budget(world)
    theirs = draft_budget(world, unit=world.other_unit)
    bu = world.client(R.BU_ADMIN)
    assert [b["id"] for b in bu.get("/api/v1/budgets").json()["results"]] == [mine.pk]
    assert bu.get(f"/api/v1/budgets/{theirs.pk}").status_code == 404
    elsewhere = other_world.client(R.FINANCE)
    assert elsewhere.get(f"/api/v1/budgets/{mine.pk}").status_code == 404
    assert elsewhere.get("/api/v1/budgets").json()["count"] == 0


def test_adjustment_flow(world):
    budget = approved_budget(world)
    response = world.client(R.TENANT_ADMIN).post(
        f"/api/v1/budgets/{budget.pk}/adjustments",
        {"amount_delta": "-100.00", "reason": "less"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["status"] == "pending"
    adjustment_id = response.json()["id"]
    response = world.client(R.FINANCE).post(f"/api/v1/budget-adjustments/{adjustment_id}/approve")
    assert response.status_code == 200 and response.json()["status"] == "approved"
    body = world.client(R.FINANCE).get(f"/api/v1/budgets/{budget.pk}").json()
    assert (body["amount"], body["available"]) == ("900.00", "900.00")
    pending = world.client(R.FINANCE).get("/api/v1/budget-adjustments", {"status": "pending"})
    assert pending.json()["count"] == 0


def test_idempotency_key_replays_a_create(world):
    client = world.client(R.FINANCE)
    body = new_budget_body(world)
    first = client.post("/api/v1/budgets", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    second = client.post("/api/v1/budgets", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert client.get("/api/v1/budgets").json()["count"] == 1
    assert first.json()["status"] == BudgetStatus.DRAFT


def test_a_null_note_is_no_note(world):
    budget = submitted_budget(world)
    finance = world.client(R.FINANCE)
    response = finance.post(f"/api/v1/budgets/{budget.pk}/reject", {"note": None}, format="json")
    assert response.status_code == 400 and "note" in response.json()["fields"]


def test_a_junk_adjustment_status_is_400_naming_it_and_the_console_page_still_loads(world):
    pending_adjustment(world)
    client = world.client(R.FINANCE)
    assert client.get("/api/v1/budget-adjustments", {"status": "pending"}).json()["count"] == 1
    assert client.get("/api/v1/budget-adjustments", {"status": ""}).json()["count"] == 1
    response = client.get("/api/v1/budget-adjustments", {"status": "maybe"})
    body = assert_error(response, 400, "invalid", fields={"status"})
    assert body["detail"] == "Check the filters."
    console = world.console_client(R.FINANCE).get("/console/budgets/?status=maybe")
    assert console.status_code == 200
