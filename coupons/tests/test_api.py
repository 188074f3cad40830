"""The coupon API through HTTP: shapes, status codes and who may call what (SPEC §7, §8, §10)."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.roles import Role
from coupons import services
from coupons.models import Coupon
from coupons.tests.factories import active_batch, customers, draft_batch, running_campaign

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _body(campaign, **overrides):
    body = {
        "campaign": campaign.pk,
        "name": "Opening pack",
        "kind": "percent_off",
        "value": "15.00",
        "max_discount": "30.00",
        "valid_days": 7,
        "scope": {"regions": [], "merchants": [], "categories": ["phones"]},
        "quantity": 100,
        "per_customer_limit": 2,
        "frequency_cap": {"count": 1, "days": 30},
        "stackable": False,
        "claimable": True,
        "code": {"mode": "unique", "length": 12, "prefix": "DX"},
    }
    body.update(overrides)
    return body


def test_create_batch_and_read_it(world):
    campaign = running_campaign(world)
    client = world.client(Role.OPERATOR)
    response = client.post(f"{API}/coupon-batches", _body(campaign), format="json")
    assert response.status_code == 201, response.json()
    batch = response.json()
    assert batch["status"] == "draft"
    assert batch["value"] == "15.00" and batch["max_discount"] == "30.00"
    assert batch["code"] == {"mode": "unique", "length": 12, "prefix": "DX", "shared_code": None}
    assert batch["frequency_cap"] == {"count": 1, "days": 30}
    assert batch["scope"]["categories"] == ["phones"]
    assert batch["summary"].startswith("15% off, at most 30.00")
    detail = client.get(f"{API}/coupon-batches/{batch['id']}")
    assert detail.status_code == 200 and detail.json()["id"] == batch["id"]
    listed = client.get(f"{API}/coupon-batches", {"campaign": campaign.pk}).json()
    assert listed["count"] == 1
    changed = client.patch(
        f"{API}/coupon-batches/{batch['id']}", {"quantity": 50}, format="json"
    ).json()
    assert changed["quantity"] == 50


def test_create_batch_validation_errors(world):
    campaign = running_campaign(world)
    client = world.client(Role.OPERATOR)
    response = client.post(
        f"{API}/coupon-batches", _body(campaign, max_discount=None, value="120"), format="json"
    )
    assert response.status_code == 400
    assert {"value", "max_discount"} <= set(response.json()["fields"])
    response = client.post(f"{API}/coupon-batches", _body(campaign, kind="nope"), format="json")
    assert response.status_code == 400 and "kind" in response.json()["fields"]
    response = client.post(
        f"{API}/coupon-batches", {**_body(campaign), "campaign": 999999}, format="json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize("length", ["missing", None])
def test_a_shared_code_batch_needs_no_length(world, length):
    # Issue 11: without `length` this was a 500 (code_length is NOT NULL).
    campaign = running_campaign(world)
    code = {"mode": "shared", "shared_code": "UXCASH5"}
    if length is None:
        code["length"] = None
    body = _body(campaign, code=code)
    response = world.client(Role.OPERATOR).post(f"{API}/coupon-batches", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["code"] == {
        "mode": "shared",
        "length": None,
        "prefix": "",
        "shared_code": "UXCASH5",
    }
    # A PATCH that nulls the length keeps the batch whole, and shared: the fields of `code`
    # not sent stay as they were.
    response = world.client(Role.OPERATOR).patch(
        f"{API}/coupon-batches/{created['id']}", {"code": {"length": None}}, format="json"
    )
    assert response.status_code == 200, response.content[:500]
    assert response.json()["code"]["mode"] == "shared"
    assert response.json()["code"]["shared_code"] == "UXCASH5"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.TENANT_ADMIN, 201),
        (Role.BU_ADMIN, 201),
        (Role.OPERATOR, 201),
        (Role.REGIONAL_OPERATOR, 201),
        (Role.FINANCE, 403),
        (Role.AUDITOR, 403),
        (Role.MERCHANT_ADMIN, 403),
        (Role.MERCHANT_STAFF, 403),
    ],
)
def test_who_designs_batches(world, role, status):
    campaign = running_campaign(world)
    response = world.client(role).post(f"{API}/coupon-batches", _body(campaign), format="json")
    # Roles that cannot read campaigns do not even see the campaign they name (400 unknown).
    assert response.status_code in ((status,) if status == 201 else (403, 400))


def test_regional_operator_is_limited_to_campaigns_of_their_regions(world):
    wide = running_campaign(world, regions=[world.region, world.other_region])
    elsewhere = running_campaign(world, regions=[world.other_region])
    client = world.client(Role.REGIONAL_OPERATOR)
    response = client.post(f"{API}/coupon-batches", _body(wide), format="json")
    assert response.status_code == 403 and response.json()["code"] == "out_of_scope"
    response = client.post(f"{API}/coupon-batches", _body(elsewhere), format="json")
    assert response.status_code == 400  # that campaign is invisible to them
    hidden = draft_batch(world, elsewhere)
    assert client.get(f"{API}/coupon-batches/{hidden.pk}").status_code == 404
    assert client.post(f"{API}/coupon-batches/{hidden.pk}/activate").status_code == 404


def test_life_cycle_over_http(world):
    client = world.client(Role.OPERATOR)
    campaign = running_campaign(world, amount="1000.00")
    batch = draft_batch(world, campaign, quantity=40)  # 800 of 1000
    too_big = draft_batch(world, campaign, quantity=11)  # 220 more: over
    response = client.post(f"{API}/coupon-batches/{batch.pk}/activate")
    assert response.status_code == 200 and response.json()["reserved_amount"] == "800.00"
    response = client.post(f"{API}/coupon-batches/{too_big.pk}/activate")
    assert response.status_code == 409 and response.json()["code"] == "budget_exceeded"
    response = client.post(f"{API}/coupon-batches/{batch.pk}/resume")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert client.post(f"{API}/coupon-batches/{batch.pk}/pause").json()["status"] == "paused"
    assert client.post(f"{API}/coupon-batches/{batch.pk}/resume").json()["status"] == "active"
    ended = client.post(f"{API}/coupon-batches/{batch.pk}/end").json()
    assert ended["status"] == "ended" and ended["released_amount"] == "800.00"
    response = world.client(Role.FINANCE).post(f"{API}/coupon-batches/{too_big.pk}/activate")
    assert response.status_code == 403


def test_claim_with_an_api_key(world, other_world):
    batch = active_batch(world, quantity=2, claimable=True, per_customer_limit=1)
    alice, bob, carol = customers(world, 3)
    key = world.key_client(scopes=["coupons"])
    url = f"{API}/coupon-batches/{batch.pk}/claim"
    response = key.post(url, {"customer": alice.code}, format="json")
    assert response.status_code == 201, response.json()
    coupon = response.json()
    assert coupon["customer"] == alice.code and coupon["status"] == "issued"
    assert len(coupon["code"]) == 10
    response = key.post(url, {"customer": alice.code}, format="json")
    assert response.status_code == 422 and response.json()["code"] == "limit_reached"
    assert key.post(url, {"customer": bob.code}, format="json").status_code == 201
    response = key.post(url, {"customer": carol.code}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "batch_exhausted"
    response = key.post(url, {"customer": "nobody"}, format="json")
    assert response.status_code == 400
    orders_only = world.key_client(scopes=["orders"])
    assert orders_only.post(url, {"customer": carol.code}, format="json").status_code == 403
    other_key = other_world.key_client(scopes=["coupons"])
    assert other_key.post(url, {"customer": carol.code}, format="json").status_code == 404


def _job_shape(job: dict):
    assert set(job) >= {"id", "status", "total", "done", "failed", "errors_url"}


def test_issue_by_list_file_and_segment(world):
    client = world.client(Role.OPERATOR)
    batch = active_batch(world, quantity=100)
    custs = customers(world, 5, tags=["vip"])
    url = f"{API}/coupon-batches/{batch.pk}/issue"

    response = client.post(url, {"customers": [c.code for c in custs[:2]] + ["X"]}, format="json")
    assert response.status_code == 202, response.json()
    job = response.json()
    _job_shape(job)
    assert (job["status"], job["total"], job["errors_url"]) == ("queued", 3, None)
    services.issuance_job_run(tenant=world.tenant, job_id=job["id"])
    job = client.get(f"{API}/issuance-jobs/{job['id']}").json()
    assert (job["status"], job["done"], job["failed"]) == ("done", 3, 1)
    assert job["errors_url"].endswith(f"/api/v1/issuance-jobs/{job['id']}/errors.csv")
    report = client.get(f"{API}/issuance-jobs/{job['id']}/errors.csv")
    assert report.status_code == 200
    text = b"".join(report.streaming_content).decode()
    # the code for programs, the words for people
    assert text.splitlines() == [
        "row,value,reason,detail,message",
        "3,X,unknown_customer,,No customer has this code.",
    ]

    upload = SimpleUploadedFile(
        "customers.csv", ("customer\n" + "\n".join(c.code for c in custs[2:])).encode()
    )
    response = client.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 202 and response.json()["total"] == 3

    segment = client.post(
        f"{API}/segments", {"name": "VIP", "filters": {"tags_any": ["vip"]}}, format="json"
    )
    assert segment.status_code == 201, segment.json()
    preview = client.get(f"{API}/segments/{segment.json()['id']}/preview").json()
    assert preview["count"] == 5 and len(preview["sample"]) == 5
    response = client.post(url, {"segment": segment.json()["id"]}, format="json")
    assert response.status_code == 202 and response.json()["total"] == 5

    response = client.post(url, {"customers": ["a"], "segment": 1}, format="json")
    assert response.status_code == 400
    jobs = client.get(f"{API}/issuance-jobs", {"batch": batch.pk}).json()
    assert jobs["count"] == 3


def test_generate_and_export_codes(world):
    client = world.client(Role.OPERATOR)
    batch = active_batch(world, quantity=10)
    response = client.post(f"{API}/coupon-batches/{batch.pk}/generate", {"count": 4}, format="json")
    assert response.status_code == 202
    services.issuance_job_run(tenant=world.tenant, job_id=response.json()["id"])
    export = client.get(f"{API}/coupon-batches/{batch.pk}/codes.csv")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0] == "code,status,customer,valid_until"
    codes = {line.split(",")[0] for line in lines[1:]}
    assert codes == set(
        Coupon.objects.for_tenant(world.tenant).filter(batch=batch).values_list("code", flat=True)
    )
    assert len(codes) == 4
    response = client.post(f"{API}/coupon-batches/{batch.pk}/generate", {"count": 7}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "batch_exhausted"


def test_codes_export_gives_valid_until_in_the_tenant_zone(world):
    batch = active_batch(world, quantity=10)
    (alice,) = customers(world, 1)
    coupon = services.coupon_issue(
        tenant=world.tenant, actor=world.system, batch=batch, customer=alice
    )
    export = world.client(Role.OPERATOR).get(f"{API}/coupon-batches/{batch.pk}/codes.csv")
    (line,) = b"".join(export.streaming_content).decode().splitlines()[1:]
    shanghai = coupon.valid_until.astimezone(world.tenant.zone)
    # ISO 8601 with the tenant's offset, not the database's "2025-11-04 16:00:00.123+00:00"
    assert line.split(",")[3] == shanghai.replace(microsecond=0).isoformat()
    assert line.endswith("+08:00") and "T" in line


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.TENANT_ADMIN, True),
        (Role.OPERATOR, True),
        (Role.BU_ADMIN, True),
        (Role.FINANCE, False),
        (Role.AUDITOR, False),
        (Role.MERCHANT_STAFF, False),
    ],
)
def test_who_issues(world, role, allowed):
    batch = active_batch(world)
    (alice,) = customers(world, 1)
    client = world.client(role)
    issue = client.post(
        f"{API}/coupon-batches/{batch.pk}/issue", {"customers": [alice.code]}, format="json"
    )
    generate = client.post(f"{API}/coupon-batches/{batch.pk}/generate", {"count": 1}, format="json")
    codes = client.get(f"{API}/coupon-batches/{batch.pk}/codes.csv")
    segment = client.post(f"{API}/segments", {"name": "all"}, format="json")
    if allowed:
        assert (issue.status_code, generate.status_code) == (202, 202)
        assert (codes.status_code, segment.status_code) == (200, 201)
    else:
        assert issue.status_code in (403, 404)
        assert generate.status_code in (403, 404)
        assert codes.status_code in (403, 404)
        assert segment.status_code == 403


def test_other_tenant_sees_nothing(world, other_world):
    batch = active_batch(world)
    job = services.generation_job_create(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, count=1
    )
    segment = services.segment_create(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), name="s", filters={}
    )
    client = other_world.client(Role.TENANT_ADMIN)
    for url in (
        f"coupon-batches/{batch.pk}",
        f"coupon-batches/{batch.pk}/codes.csv",
        f"issuance-jobs/{job.pk}",
        f"issuance-jobs/{job.pk}/errors.csv",
        f"segments/{segment.pk}",
        f"segments/{segment.pk}/preview",
    ):
        assert client.get(f"{API}/{url}").status_code == 404, url
    assert client.get(f"{API}/coupon-batches").json()["count"] == 0
    assert client.get(f"{API}/issuance-jobs").json()["count"] == 0


def test_api_keys_reach_only_the_claim(world):
    batch = active_batch(world)
    key = world.key_client()
    assert key.get(f"{API}/coupon-batches").status_code == 403
    assert key.post(f"{API}/coupon-batches/{batch.pk}/activate").status_code == 403
    assert key.get(f"{API}/coupon-batches/{batch.pk}/codes.csv").status_code == 403


def test_segment_validation(world):
    client = world.client(Role.OPERATOR)
    today = timezone.localdate()
    response = client.post(
        f"{API}/segments",
        {
            "name": "x",
            "filters": {
                "registered_after": str(today),
                "registered_before": str(today - timedelta(days=1)),
            },
        },
        format="json",
    )
    assert response.status_code == 400
    response = client.post(
        f"{API}/segments", {"name": "x", "filters": {"regions": ["mars"]}}, format="json"
    )
    assert response.status_code == 400 and "filters.regions" in response.json()["fields"]
