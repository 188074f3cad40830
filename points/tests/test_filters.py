"""The points lists' filters (points/filters.py): they narrow as the hand-read query strings
did, a value they can't read is a 400 naming it, and a console page never fails on junk."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from points import services
from tests.test_error_shape import assert_error

from .factories import place, program, rule, running_campaign

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def two_programs(world):
    """Two programs, each with a per-order rule of its own campaign, and one order earning in
    both."""
    first, second = program(world, name="First"), program(world, name="Second")
    one, two = running_campaign(world), running_campaign(world)
    rules = (
        rule(world, one, first, kind="per_order", points=10),
        rule(world, two, second, kind="per_order", points=5),
    )
    place(world, external_id="ORD-FILTER-1")
    return (first, second), (one, two), rules


def test_rules_by_campaign_and_program(world, two_programs):
    (first, second), (one, two), (rule_one, rule_two) = two_programs
    api = world.client(Role.OPERATOR)
    url = f"{API}/points-rules"
    assert _ids(api.get(url, {"program": first.pk})) == {rule_one.pk}
    assert _ids(api.get(url, {"campaign": two.pk})) == {rule_two.pk}
    assert _ids(api.get(url, {"campaign": one.pk, "program": second.pk})) == set()
    assert _ids(api.get(url, {"campaign": "", "program": ""})) == {rule_one.pk, rule_two.pk}


def test_accounts_by_program_and_search(world, two_programs):
    (first, _second), _campaigns, _rules = two_programs
    api = world.client(Role.OPERATOR)
    url = f"{API}/points-accounts"
    everyone = _ids(api.get(url))
    assert len(everyone) == 2
    mine = _ids(api.get(url, {"program": first.pk}))
    assert len(mine) == 1 and mine < everyone
    assert _ids(api.get(url, {"search": world.staff.code[1:].lower()})) == everyone
    assert _ids(api.get(url, {"search": world.staff.name})) == everyone
    assert _ids(api.get(url, {"search": "nobody-like-this"})) == set()


def test_staff_entries_by_program(world, two_programs):
    (first, _second), _campaigns, _rules = two_programs
    client = world.key_client(scopes=["points"])
    url = f"{API}/staff/{world.staff.code}/points/entries"
    assert len(_ids(client.get(url))) == 2
    (entry,) = client.get(url, {"program": first.pk}).json()["results"]
    assert entry["points"] == 10


def test_adjustment_requests_by_status(world):
    world.tenant.max_points_adjustment = 10
    world.tenant.save()
    account = services.account_for_holder(
        tenant=world.tenant, program=program(world), holder=world.staff
    )
    request = services.points_adjustment_submit(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), account=account, points=50,
        reason="Missed orders",
    )  # fmt: skip
    api = world.client(Role.TENANT_ADMIN)
    url = f"{API}/points-adjustment-requests"
    assert _ids(api.get(url, {"status": "pending"})) == {request.pk}
    assert _ids(api.get(url, {"status": "approved"})) == set()
    assert _ids(api.get(url, {"status": ""})) == {request.pk}


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("points-rules?campaign=abc", "campaign"),
        ("points-rules?program=1.5", "program"),
        ("points-accounts?program=abc", "program"),
        ("points-adjustment-requests?status=lost", "status"),
    ],
)
def test_a_junk_filter_value_is_400_naming_it(world, url, parameter):
    body = assert_error(world.client(Role.TENANT_ADMIN).get(f"{API}/{url}"), 400, "invalid")
    assert set(body["fields"]) == {parameter}
    assert body["detail"] == "Check the filters."


def test_a_junk_program_on_staff_entries_is_400(world):
    client = world.key_client(scopes=["points"])
    response = client.get(f"{API}/staff/{world.staff.code}/points/entries?program=abc")
    assert set(assert_error(response, 400, "invalid")["fields"]) == {"program"}


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("points:account_list", {"program": "abc", "q": "x"}),
        ("points:account_list", {"program": "1" + "0" * 60}),
        ("points:adjustment_requests", {"status": "lost"}),
    ],
)
def test_a_console_list_with_junk_filters_answers_200(world, name, query):
    response = world.console_client(Role.TENANT_ADMIN).get(reverse(name), query)
    assert response.status_code == 200


def test_the_console_accounts_say_what_was_wrong_and_list_them_all(world, two_programs):
    page = world.console_client(Role.TENANT_ADMIN).get(
        reverse("points:account_list"), {"program": "abc"}
    )
    text = page.content.decode()
    assert page.status_code == 200 and "Check the filters." in text
    assert text.count(world.staff.code) >= 2  # both accounts, unfiltered
