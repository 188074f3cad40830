"""The coupon lists' filters (coupons/filters.py): they narrow as the hand-read query strings
did, a value they can't read is a 400 naming it, and a console page shows junk as a message."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.roles import Role
from campaigns.tests.factories import running_campaign
from coupons import services
from coupons.tests.factories import active_batch, customers, draft_batch
from tests.test_error_shape import assert_error

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_batches_by_campaign_and_status(world):
    first, second = running_campaign(world), running_campaign(world)
    draft = draft_batch(world, first)
    active = active_batch(world, first)
    other = active_batch(world, second)
    api = world.client(Role.OPERATOR)
    url = f"{API}/coupon-batches"
    assert _ids(api.get(url, {"campaign": first.pk})) == {draft.pk, active.pk}
    assert _ids(api.get(url, {"campaign": first.pk, "status": "active"})) == {active.pk}
    assert _ids(api.get(url, {"status": "draft"})) == {draft.pk}
    assert _ids(api.get(url, {"campaign": 10**30})) == set()
    # An empty value filters nothing, as before.
    assert _ids(api.get(url, {"campaign": "", "status": ""})) == {draft.pk, active.pk, other.pk}


def test_jobs_by_batch(world):
    actor = world.actor(Role.OPERATOR)
    one, two = active_batch(world, quantity=5), active_batch(world, quantity=5)
    job = services.generation_job_create(tenant=world.tenant, actor=actor, batch=one, count=1)
    services.generation_job_create(tenant=world.tenant, actor=actor, batch=two, count=1)
    api = world.client(Role.OPERATOR)
    assert _ids(api.get(f"{API}/issuance-jobs", {"batch": one.pk})) == {job.pk}
    assert len(_ids(api.get(f"{API}/issuance-jobs"))) == 2


def test_redemptions_by_batch_merchant_order_and_day(world):
    from django.utils import timezone

    from coupons import selectors

    batch, other = active_batch(world, quantity=5), active_batch(world, quantity=5)
    operator = world.actor(Role.OPERATOR)
    for i, (of, order) in enumerate([(batch, "R1"), (batch, "R2"), (other, "R3")]):
        (customer,) = customers(world, 1, prefix=f"F{i}")
        coupon = services.coupon_issue(
            tenant=world.tenant, actor=operator, batch=of, customer=customer
        )
        services.coupon_redeem(
            tenant=world.tenant, actor=operator, code=coupon.code, customer=customer,
            order=order, amount=Decimal("150.00"),
            merchant=world.merchant if order == "R2" else None,
        )  # fmt: skip

    def orders(**filters) -> set[str]:
        rows = selectors.redemption_list(
            tenant=world.tenant, actor=world.actor(Role.FINANCE), filters=filters
        )
        return {row.order_ref for row in rows}

    today = timezone.localdate().isoformat()
    assert orders() == orders(batch="", since="") == {"R1", "R2", "R3"}
    assert orders(batch=batch.pk) == {"R1", "R2"}
    assert orders(batch=batch.pk, merchant=world.merchant.code) == {"R2"}
    assert orders(order="R3") == {"R3"}
    assert orders(since=today, until=today) == {"R1", "R2", "R3"}
    assert orders(until="2000-01-01") == set()


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("coupon-batches?campaign=abc", "campaign"),
        ("coupon-batches?campaign=1.5", "campaign"),
        ("coupon-batches?status=lost", "status"),
        ("issuance-jobs?batch=abc", "batch"),
        ("fraud/clusters?days=abc", "days"),
        ("fraud/clusters?min_customers=-1", "min_customers"),
    ],
)
def test_a_junk_filter_value_is_400_naming_it(world, url, parameter):
    body = assert_error(world.client(Role.OPERATOR).get(f"{API}/{url}"), 400, "invalid")
    assert set(body["fields"]) == {parameter}
    assert body["detail"] == "Check the filters."


def test_a_junk_status_on_a_customers_coupons_is_400(world):
    (customer,) = customers(world, 1, prefix="J")
    client = world.key_client(scopes=["coupons"])
    response = client.get(f"{API}/customers/{customer.code}/coupons?status=lost")
    assert set(assert_error(response, 400, "invalid")["fields"]) == {"status"}


def test_fraud_clusters_take_a_window_of_any_length(world):
    api = world.client(Role.OPERATOR)
    for days in ("0", "3650", str(10**12)):
        response = api.get(f"{API}/fraud/clusters", {"days": days, "min_customers": 0})
        assert response.status_code == 200, (days, response.content)


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("coupons:list", {"campaign": "abc", "status": "lost"}),
        ("coupons:jobs", {"batch": "abc"}),
        ("coupons:redemptions", {"batch": "abc", "since": "2026-13-45", "until": "junk"}),
    ],
)
def test_a_console_list_with_junk_filters_answers_200(world, name, query):
    response = world.console_client(Role.TENANT_ADMIN).get(reverse(name), query)
    assert response.status_code == 200


def test_the_console_redemptions_say_what_was_wrong(world):
    page = world.console_client(Role.FINANCE).get(
        reverse("coupons:redemptions"), {"batch": "abc", "since": "2026-13-45"}
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "Check the filters." in text
