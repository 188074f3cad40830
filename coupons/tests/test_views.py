"""Console pages of coupons through Django's test client: who sees what, and the flows."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import Role
from budgets.models import Budget
from coupons import selectors, services
from coupons.models import CouponBatch, IssuanceJob
from coupons.tests.factories import active_batch, customers, draft_batch, running_campaign

pytestmark = pytest.mark.django_db


def test_operator_creates_a_batch_from_the_form(world):
    campaign = running_campaign(world)
    client = world.console_client(Role.OPERATOR)
    assert client.get(f"/console/coupons/new/?campaign={campaign.pk}").status_code == 200
    preview = client.get(
        "/console/coupons/preview/", {"kind": "cash", "value": "5", "per_customer_limit": 1}
    )
    assert "5.00 cash voucher" in preview.content.decode()
    form = {
        "campaign": campaign.pk,
        "name": "Form batch",
        "kind": "amount_off",
        "value": "20",
        "threshold": "10",  # below the amount off: the service refuses
        "valid_days": 7,
        "quantity": 10,
        "per_customer_limit": 1,
        "code_mode": "unique",
        "code_length": 10,
    }
    response = client.post("/console/coupons/new/", form)
    assert (
        response.status_code == 200 and "Must be above the amount off." in response.content.decode()
    )
    response = client.post("/console/coupons/new/", {**form, "threshold": "100"})
    batch = CouponBatch.objects.for_tenant(world.tenant).get(name="Form batch")
    assert response.status_code == 302 and response["Location"] == f"/console/coupons/{batch.pk}/"
    page = client.get(f"/console/coupons/{batch.pk}/").content.decode()
    assert "Activate" in page
    client.post(f"/console/coupons/{batch.pk}/activate/")
    batch.refresh_from_db()
    assert batch.status == "active"


def test_a_shared_code_batch_from_the_form_with_the_length_box_emptied(world):
    # Issue 11: an emptied length box with a shared code was a 500 (code_length NOT NULL).
    campaign = running_campaign(world)
    form = {
        "campaign": campaign.pk,
        "name": "Shared form batch",
        "kind": "cash",
        "value": "5",
        "valid_days": 7,
        "quantity": 10,
        "per_customer_limit": 1,
        "code_mode": "shared",
        "code_length": "",
        "shared_code": "uxcash5",
    }
    response = world.console_client(Role.OPERATOR).post("/console/coupons/new/", form)
    batch = CouponBatch.objects.for_tenant(world.tenant).get(name="Shared form batch")
    assert response.status_code == 302 and response["Location"] == f"/console/coupons/{batch.pk}/"
    assert batch.shared_code == "UXCASH5" and batch.code_mode == "shared"


def test_issue_from_the_console_and_watch_the_job(world):
    batch = active_batch(world)
    (alice,) = customers(world, 1)
    client = world.console_client(Role.OPERATOR)
    upload = SimpleUploadedFile("list.csv", f"{alice.code}\nNOBODY\n".encode())
    response = client.post(f"/console/coupons/{batch.pk}/issue/file/", {"file": upload})
    job = IssuanceJob.objects.for_tenant(world.tenant).get(batch=batch)
    assert response["Location"] == f"/console/coupons/jobs/{job.pk}/"
    assert (
        'hx-trigger="every 1s"' in client.get(f"/console/coupons/jobs/{job.pk}/").content.decode()
    )
    services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
    panel = client.get(f"/console/coupons/jobs/{job.pk}/progress/").content.decode()
    assert "hx-trigger" not in panel and "100%" in panel and "NOBODY" in panel
    # the row's reason in words, not the code of the report
    assert "No customer has this code." in panel and ">unknown_customer" not in panel
    assert f"/api/v1/issuance-jobs/{job.pk}/errors.csv" in panel
    assert client.get("/console/coupons/jobs/").status_code == 200
    response = client.post(f"/console/coupons/{batch.pk}/issue/list/", {"customers": ""})
    assert response.status_code == 302  # back to the batch with a message
    assert IssuanceJob.objects.for_tenant(world.tenant).filter(batch=batch).count() == 1


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.FINANCE, 200), (Role.AUDITOR, 200), (Role.OPERATOR, 200)],
)
def test_readers_see_batches_but_only_managers_change_them(world, role, status):
    batch = draft_batch(world)
    client = world.console_client(role)
    assert client.get("/console/coupons/").status_code == status
    assert client.get(f"/console/coupons/{batch.pk}/").status_code == status
    response = client.post(f"/console/coupons/{batch.pk}/activate/")
    batch.refresh_from_db()
    if role == Role.OPERATOR:
        assert batch.status == "active"
    else:
        assert response.status_code == 403 and batch.status == "draft"
        assert client.get("/console/coupons/new/").status_code == 403


def test_other_tenants_batch_is_not_found(world, other_world):
    batch = draft_batch(other_world)
    client = world.console_client(Role.TENANT_ADMIN)
    assert client.get(f"/console/coupons/{batch.pk}/").status_code == 404


def test_segments_page_previews_and_saves(world):
    customers(world, 3, tags=["vip"])
    customers(world, 2, prefix="X", tags=["old"])
    client = world.console_client(Role.OPERATOR)
    preview = client.get("/console/coupons/segments/preview/", {"tags_any": "vip, gold"})
    assert "3 customers match" in preview.content.decode()
    response = client.post("/console/coupons/segments/", {"name": "VIP", "tags_any": "vip"})
    assert response.status_code == 302
    page = client.get("/console/coupons/segments/").content.decode()
    assert "VIP" in page and "tags_any: vip" in page
    response = client.post("/console/coupons/segments/", {"name": "Mars", "regions": "mars"})
    assert response.status_code == 200 and "Unknown: mars." in response.content.decode()
    client = world.console_client(Role.FINANCE)
    assert client.get("/console/coupons/segments/").status_code == 403


def test_batch_page_shows_what_is_still_reserved_and_what_was_spent(world):
    # 10 coupons of 10% off, at most 30: activation reserves 300.00.
    batch = active_batch(
        world,
        kind="percent_off",
        value=Decimal("10"),
        max_discount=Decimal("30"),
        threshold=None,
        quantity=10,
    )
    other = active_batch(world, batch.campaign, name="Other", quantity=5)  # same budget
    alice, bob = customers(world, 2)
    for customer in (alice, bob):
        coupon = services.coupon_issue(
            tenant=world.tenant, actor=world.system, batch=batch, customer=customer
        )
        services.coupon_redeem(
            tenant=world.tenant,
            actor=world.system,
            code=coupon.code,
            customer=customer,
            order=f"O-{customer.code}",
            amount=Decimal("120.00"),  # 12.00 off, 18.00 of its 30.00 goes back
        )
    services.coupon_rollback(tenant=world.tenant, actor=world.system, code=coupon.code)
    money = selectors.batch_money(tenant=world.tenant, batch=batch)
    assert money == {
        "reserved_at_activation": Decimal("300.00"),
        "reserved": Decimal("270.00"),  # bob's coupon is back in his hands, reserved again
        "spent": Decimal("12.00"),
        "returned": Decimal("18.00"),
    }
    # the batches' figures are the budget's: nothing counted twice or missed
    budget = Budget.objects.for_tenant(world.tenant).get(pk=batch.campaign.budget_id)
    other_money = selectors.batch_money(tenant=world.tenant, batch=other)
    assert other_money["reserved"] == other.reserved_amount
    assert (money["reserved"] + other_money["reserved"], money["spent"]) == (
        budget.reserved,
        budget.spent,
    )

    page = world.console_client(Role.OPERATOR).get(f"/console/coupons/{batch.pk}/")
    html = page.content.decode()
    assert '<div class="fs-4" id="stat-reserved">270.00</div>' in html  # not the first 300.00
    assert "of 300.00 reserved at activation" in html
    assert '<div class="fs-4" id="stat-spent">12.00</div>' in html
    assert "18.00 back to the budget" in html
