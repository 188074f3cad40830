"""The coupon CSV exports neutralise formulas (issue 12 item 5, core/exports.py)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from coupons import services
from coupons.tests.factories import active_batch

pytestmark = pytest.mark.django_db
API = "/api/v1"

HOSTILE = ["=1+2", "+1+1", "-1+1", "@SUM(1+1)", "\tTAB", "\rCR"]


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming  # still streamed, not built in memory
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_codes_csv_prefixes_formula_like_customer_codes(world):
    batch = active_batch(world, quantity=10)
    for code in HOSTILE:
        customer = CustomerFactory(tenant=world.tenant, region=world.region, code=code)
        services.coupon_issue(
            tenant=world.tenant, actor=world.system, batch=batch, customer=customer
        )
    rows = _rows(world.client(Role.OPERATOR).get(f"{API}/coupon-batches/{batch.pk}/codes.csv"))
    assert rows[0] == ["code", "status", "customer", "valid_until"]
    assert sorted(row[2] for row in rows[1:]) == sorted("'" + code for code in HOSTILE)
    # the rest of the row is as before: a generated code, a status, an ISO timestamp
    assert all(row[1] == "issued" and not row[0].startswith("'") for row in rows[1:])


def test_errors_csv_prefixes_the_submitted_value(world):
    batch = active_batch(world, quantity=10)
    client = world.client(Role.OPERATOR)
    upload = SimpleUploadedFile("customers.csv", b'customer\n"=HYPERLINK(""http://x"",""y"")"\n')
    response = client.post(
        f"{API}/coupon-batches/{batch.pk}/issue", {"file": upload}, format="multipart"
    )
    assert response.status_code == 202, response.json()
    services.issuance_job_run(tenant=world.tenant, job_id=response.json()["id"])
    rows = _rows(client.get(f"{API}/issuance-jobs/{response.json()['id']}/errors.csv"))
    assert rows[0] == ["row", "value", "reason", "detail", "message"]
    (row,) = rows[1:]
    assert row[1] == '\'=HYPERLINK("http://x","y")'
    assert row[2] == "unknown_customer"
