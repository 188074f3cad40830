"""Printed (unassigned) codes: valid for whoever presents one, bound to them when they redeem it
(SPEC §2.3 life cycle unassigned → issued → redeemed ⇄ issued; §2.4 unassigned codes)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import CustomerFactory
from budgets.models import Budget
from budgets.services import budgets_verify
from core.models import AuditEntry
from coupons import services
from coupons.errors import CouponReason as R
from coupons.models import Coupon, CouponBatch, CouponHolding, CouponRedemption, CouponStatus
from coupons.tests.factories import active_batch

pytestmark = pytest.mark.django_db


def _printed(world, count=2, **batch_fields):
    """A batch (20 off above 100, valid 7 days from issue) and `count` generated codes."""
    batch = active_batch(world, quantity=10, **batch_fields)
    actor = world.actor(Role.OPERATOR)
    job = services.generation_job_create(tenant=world.tenant, actor=actor, batch=batch, count=count)
    services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
    codes = list(Coupon.objects.for_tenant(world.tenant).filter(batch=batch).order_by("pk"))
    assert {c.status for c in codes} == {CouponStatus.UNASSIGNED}
    return batch, codes


def _customer(world, code):
    return CustomerFactory(tenant=world.tenant, region=world.region, code=code)


def _figures(batch):
    budget = Budget.objects.for_tenant(batch.tenant).get(pk=batch.campaign.budget_id)
    return budget.reserved, budget.spent


def _validate(world, code, customer, amount="150.00"):
    return world.key_client(scopes=["coupons"]).post(
        "/api/v1/coupons/validate",
        {"code": code, "customer": customer.code, "amount": amount},
        format="json",
    )


def _redeem(world, code, customer, order="P-1", amount="150.00"):
    return world.key_client(scopes=["coupons"]).post(
        "/api/v1/coupons/redeem",
        {"code": code, "customer": customer.code, "amount": amount, "order": order},
        format="json",
    )


def test_validate_answers_valid_without_binding(world):
    _batch, (printed, _other) = _printed(world)
    customer = _customer(world, "PR1")
    response = _validate(world, printed.code, customer)
    assert response.status_code == 200, response.content
    assert response.json()["valid"] is True and response.json()["discount"] == "20.00"
    printed.refresh_from_db()
    assert printed.status == CouponStatus.UNASSIGNED and printed.customer_id is None
    assert not CouponHolding.objects.for_tenant(world.tenant).filter(customer=customer).exists()


def test_the_reason_order_holds_for_a_printed_code(world):
    _batch, (printed, _other) = _printed(world)
    response = _validate(world, printed.code, _customer(world, "PR2"), amount="50.00")
    assert response.json()["reasons"] == [R.BELOW_THRESHOLD]


def test_redeem_binds_the_code_then_rollback_keeps_it_theirs_and_money_stays_exact(world):
    batch, (printed, _other) = _printed(world)
    customer, stranger = _customer(world, "PR3"), _customer(world, "PR4")
    reserved0, spent0 = _figures(batch)
    before = timezone.now()

    response = _redeem(world, printed.code, customer)
    assert response.status_code == 200, response.content
    printed.refresh_from_db()
    assert printed.status == CouponStatus.REDEEMED and printed.customer_id == customer.pk
    assert printed.seq == 1 and printed.issued_at >= before
    # Days-from-issue validity starts when the code gets its holder.
    assert printed.valid_until - printed.issued_at == timedelta(days=7)
    holding = CouponHolding.objects.for_tenant(world.tenant).get(batch=batch, customer=customer)
    assert holding.count == 1
    assert _figures(batch) == (reserved0 - Decimal("20.00"), spent0 + Decimal("20.00"))
    actions = list(
        AuditEntry.objects.for_tenant(world.tenant)
        .filter(object_id=str(printed.pk), action__startswith="coupon.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["coupon.bind", "coupon.redeem"]
    # A retry returns the same redemption; the code is now someone's.
    assert _redeem(world, printed.code, customer).json()["id"] == response.json()["id"]
    assert _validate(world, printed.code, stranger).json()["reason"] == R.NOT_YOURS

    services.coupon_rollback(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), code=printed.code
    )
    printed.refresh_from_db()
    assert printed.status == CouponStatus.ISSUED and printed.customer_id == customer.pk
    assert _figures(batch) == (reserved0, spent0)
    assert _redeem(world, printed.code, stranger, order="P-2").json()["code"] == R.NOT_YOURS
    assert _redeem(world, printed.code, customer, order="P-3").status_code == 200
    assert CouponBatch.objects.for_tenant(world.tenant).get(pk=batch.pk).issued == 2
    assert budgets_verify(tenant=world.tenant) == []


def test_per_customer_limit_refuses_binding_as_fraud_limit(world):
    batch, (printed, _other) = _printed(world)  # one coupon per customer
    customer = _customer(world, "PR5")
    services.coupon_issue(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, customer=customer
    )
    check = _validate(world, printed.code, customer).json()
    assert (check["reason"], check["fraud_limit"]) == (R.FRAUD_LIMIT, "batch_per_customer")
    response = _redeem(world, printed.code, customer)
    assert response.status_code == 422
    assert response.json()["fields"]["fraud_limit"] == ["batch_per_customer"]
    printed.refresh_from_db()
    assert printed.status == CouponStatus.UNASSIGNED and printed.customer_id is None
    assert not CouponRedemption.objects.for_tenant(world.tenant).exists()


def test_frequency_cap_refuses_binding_as_fraud_limit(world):
    _batch, (first, second) = _printed(
        world, per_customer_limit=5, frequency_cap_count=1, frequency_cap_days=30, stackable=True
    )
    customer = _customer(world, "PR6")
    assert _redeem(world, first.code, customer, order="F-1").status_code == 200
    response = _redeem(world, second.code, customer, order="F-2")
    assert response.status_code == 422, response.content
    assert response.json()["fields"]["fraud_limit"] == ["batch_frequency_cap"]
    second.refresh_from_db()
    assert second.status == CouponStatus.UNASSIGNED
    assert CouponHolding.objects.for_tenant(world.tenant).get(customer=customer).count == 1
