"""Hostile input gets a 4xx in the error shape, never a 500, and changes nothing (issue 12.4).

One regression test per finding; tests/test_write_routes_hostile_values.py is the generic net
over every write route's fields.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from accounts.models import Customer, Merchant, MerchantStaff, Region
from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from coupons import services as coupon_services
from coupons.models import IssuanceRule
from coupons.tests.factories import active_batch
from points.models import LedgerEntry
from redemption.tests.factories import give_points, staff_program
from tests.test_error_shape import assert_error

pytestmark = pytest.mark.django_db
API = "/api/v1"
TA, OP = Role.TENANT_ADMIN, Role.OPERATOR


# --- a NUL character anywhere in the request -----------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/orders?merchant=%00",
        f"{API}/staff?search=%00",
        f"{API}/customers?search=a%00b",
        f"{API}/merchants?region=%00",
        f"{API}/coupons?customer=%00",
        f"{API}/regions/r%00",
        f"{API}/orders/o%00",
    ],
)
def test_nul_in_path_or_query_is_400(world, url):
    assert_error(world.key_client().get(url), 400, "invalid")
    assert_error(world.client(TA).get(url), 400, "invalid")


def test_nul_in_a_json_body_is_400_and_writes_nothing(world):
    response = world.key_client().put(
        f"{API}/regions/r-nul", {"name": "bad\x00name"}, format="json"
    )
    assert_error(response, 400, "invalid")
    assert not Region.objects.for_tenant(world.tenant).filter(code="r-nul").exists()


def test_nul_on_a_console_page_is_400(world):
    client = world.console_client(TA)
    assert client.get("/console/?q=%00").status_code == 400
    form = client.post("/console/", "q=a%00", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 400


# --- codes longer than their column ----------------------------------------------------------


@pytest.mark.parametrize(
    ("noun", "model", "body"),
    [
        ("regions", Region, lambda w: {"name": "R"}),
        ("merchants", Merchant, lambda w: {"name": "M", "region": w.region.code}),
        ("staff", MerchantStaff, lambda w: {"name": "S", "merchant": w.merchant.code}),
        ("customers", Customer, lambda w: {"region": w.region.code}),
    ],
)
def test_upsert_of_a_code_longer_than_its_column_is_400(world, noun, model, body):
    n = model._meta.get_field("code").max_length
    response = world.key_client().put(f"{API}/{noun}/{'c' * (n + 1)}", body(world), format="json")
    assert_error(response, 400, "invalid", fields={"code"})
    assert not model.objects.for_tenant(world.tenant).filter(code__startswith="c" * n).exists()
    ok = world.key_client().put(f"{API}/{noun}/{'c' * n}", body(world), format="json")
    assert ok.status_code == 201, ok.content


# --- points adjustments: the column's range and the tenant's bound ---------------------------


def _account(world):
    return give_points(world, staff_program(world), world.staff, 500)


@pytest.mark.parametrize("points", [2**63, -(2**63), 2**70, 1e30])
def test_adjustment_out_of_the_columns_range_is_400(world, points):
    account = _account(world)
    before = LedgerEntry.objects.for_tenant(world.tenant).filter(account=account).count()
    response = world.client(OP).post(
        f"{API}/points-accounts/{account.pk}/adjustments",
        json.dumps({"points": points, "reason": "fuzz"}),
        content_type="application/json",
    )
    body = assert_error(response, 400, response.json().get("code"), fields={"points"})
    assert body["code"] in {"max_value", "min_value", "invalid"}
    assert LedgerEntry.objects.for_tenant(world.tenant).filter(account=account).count() == before


@pytest.mark.parametrize("points", [2_147_483_648, 100_001, -100_001])
def test_adjustment_over_the_tenants_bound_waits_for_a_second_person(world, points):
    account = _account(world)
    before = LedgerEntry.objects.for_tenant(world.tenant).filter(account=account).count()
    response = world.client(OP).post(
        f"{API}/points-accounts/{account.pk}/adjustments",
        {"points": points, "reason": "big"},
        format="json",
    )
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert LedgerEntry.objects.for_tenant(world.tenant).filter(account=account).count() == before


def test_adjustment_bound_is_a_tenant_setting(world):
    account = _account(world)
    url = f"{API}/points-accounts/{account.pk}/adjustments"
    ok = world.client(OP).post(url, {"points": 100_000, "reason": "ok"}, format="json")
    assert ok.status_code == 201, ok.content
    world.tenant.max_points_adjustment = 10
    world.tenant.save()
    response = world.client(OP).post(url, {"points": 11, "reason": "big"}, format="json")
    assert response.status_code == 202


# --- an integer past its int4 column ----------------------------------------------------------


def test_issuance_rule_frequency_cap_past_its_column_is_400(world):
    rule = coupon_services.issuance_rule_create(
        tenant=world.tenant, actor=world.actor(OP), batch=active_batch(world), event="registration"
    )
    response = world.client(OP).patch(
        f"{API}/issuance-rules/{rule.pk}",
        {"frequency_cap": {"count": 300221885593526912, "days": 7}},
        format="json",
    )
    assert_error(response, 400, "max_value", fields={"frequency_cap.count"})
    assert (
        IssuanceRule.objects.for_tenant(world.tenant).get(pk=rule.pk).frequency_cap_count
        == rule.frequency_cap_count
    )


# --- deep and large bodies ---------------------------------------------------------------------


def test_json_nested_5000_deep_is_400(world):
    body = '{"name": ' + "[" * 5000 + "]" * 5000 + "}"
    response = world.key_client().put(
        f"{API}/regions/r-deep", body, content_type="application/json"
    )
    assert_error(response, 400, "parse_error")
    assert not Region.objects.for_tenant(world.tenant).filter(code="r-deep").exists()


def test_a_20_mb_json_body_is_413(world):
    body = json.dumps({"name": "x" * (20 * 1024 * 1024)})
    response = world.key_client().put(
        f"{API}/regions/r-big", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big"
    )
    assert_error(response, 413, "request_too_large")
    assert not Region.objects.for_tenant(world.tenant).filter(code="r-big").exists()


def _upload(world, size: int) -> tuple[str, SimpleUploadedFile]:
    batch = active_batch(world)
    customer = CustomerFactory(tenant=world.tenant, region=world.region, code="C-UP-1")
    lines = ["customer", customer.code]
    while sum(len(line) + 1 for line in lines) < size:
        lines.append(customer.code)  # the same customer again: one coupon, the rest refused
    return (
        f"{API}/coupon-batches/{batch.pk}/issue",
        SimpleUploadedFile("customers.csv", "\n".join(lines).encode()),
    )


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_an_upload_over_the_body_limit_with_an_idempotency_key_is_taken(world):
    # The upload route has its own, larger limit; the Idempotency-Key's fingerprint no longer
    # reads the whole body into memory (that was RequestDataTooBig, a 500).
    url, upload = _upload(world, 4096)
    client = world.client(OP)
    response = client.post(url, {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="up-1")
    assert response.status_code == 202, response.content
    upload.seek(0)
    again = client.post(url, {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="up-1")
    assert again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == response.json()["id"]


@override_settings(ISSUANCE_UPLOAD_MAX_SIZE=2048)
def test_an_upload_over_the_upload_limit_is_413(world):
    url, upload = _upload(world, 4096)
    response = world.client(OP).post(
        url, {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY="up-2"
    )
    assert_error(response, 413, "request_too_large")


def test_a_large_json_body_on_the_upload_route_is_still_limited(world):
    # One limit a route: the issuance route's is ISSUANCE_UPLOAD_MAX_SIZE, whatever the body.
    batch = active_batch(world)
    body = json.dumps({"customers": ["x" * 100] * (210 * 1024)})  # about 21 MB
    response = world.client(OP).post(
        f"{API}/coupon-batches/{batch.pk}/issue", body, content_type="application/json"
    )
    assert_error(response, 413, "request_too_large")
