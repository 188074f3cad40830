"""Ending a campaign, by hand or on time, ends its coupon batches and gives back the money they no
longer need (SPEC §2.1 table: batch ended, coupons expired → release what they still reserve).
Coupons follow their batch's extend_past_campaign."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from budgets.models import Budget, BudgetEntry
from campaigns import services, tasks
from campaigns.models import Campaign, CampaignStatus
from core.errors import ConflictError, PermissionDeniedError
from coupons import services as coupon_services
from coupons.errors import CouponReason as R
from coupons.models import BatchStatus, Coupon, CouponBatch, CouponStatus
from coupons.tests.factories import active_batch, customers, running_campaign

pytestmark = pytest.mark.django_db
D = Decimal
API = "/api/v1"


def _issue(world, batch, customer):
    return coupon_services.coupon_issue(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, customer=customer
    )


def _figures(campaign):
    budget = Budget.objects.for_tenant(campaign.tenant).get(pk=campaign.budget_id)
    return budget.reserved, budget.spent


def _validate(world, code, customer, amount="150.00"):
    response = world.key_client(scopes=["coupons"]).post(
        f"{API}/coupons/validate",
        {"code": code, "customer": customer.code, "amount": amount},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def _status(model, obj):
    return model.objects.for_tenant(obj.tenant_id).get(pk=obj.pk).status


@pytest.fixture
def spread(world):
    """A running campaign (budget 100,000) with two batches of 20 off above 100, per coupon:
    - `closing` (10, no extend_past_campaign, claimable): 3 issued, one of them redeemed;
    - `lasting` (5, extend_past_campaign, 30 days from issue): 2 issued.
    Reserved 10 x 20 + 5 x 20 - 20 spent = 280, spent 20."""
    campaign = running_campaign(world)
    closing = active_batch(world, campaign, name="Closing", quantity=10, claimable=True)
    lasting = active_batch(
        world, campaign, name="Lasting", quantity=5, valid_days=30, extend_past_campaign=True
    )
    people = customers(world, 4)
    closed = [_issue(world, closing, c) for c in people[:3]]
    kept = [_issue(world, lasting, c) for c in people[:2]]
    coupon_services.coupon_redeem(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        code=closed[0].code,
        customer=people[0],
        order="O-1",
        amount=D("150.00"),
    )
    assert _figures(campaign) == (D("280.00"), D("20.00"))
    return campaign, closing, lasting, people, closed, kept


def _assert_ended(world, campaign, closing, lasting, people, closed, kept):
    """What every way of ending leaves: both batches ended, the closing batch's coupons expired,
    the lasting batch's two coupons still reserved (2 x 20) and usable."""
    assert _status(Campaign, campaign) == CampaignStatus.ENDED
    closing.refresh_from_db()
    lasting.refresh_from_db()
    assert closing.status == lasting.status == BatchStatus.ENDED
    assert closing.released_amount == D("140.00")  # 7 never issued
    assert lasting.released_amount == D("60.00")  # 3 never issued
    statuses = {c.pk: _status(Coupon, c) for c in closed + kept}
    assert [statuses[c.pk] for c in closed] == [
        CouponStatus.REDEEMED,
        CouponStatus.EXPIRED,
        CouponStatus.EXPIRED,
    ]
    assert [statuses[c.pk] for c in kept] == [CouponStatus.ISSUED, CouponStatus.ISSUED]
    assert _figures(campaign) == (D("40.00"), D("20.00"))
    call_command("check_budgets")

    refused = _validate(world, closed[1].code, people[1])
    assert (refused["valid"], refused["reason"], refused["discount"]) == (False, R.EXPIRED, "0.00")
    usable = _validate(world, kept[0].code, people[0])
    assert (usable["valid"], usable["discount"]) == (True, "20.00")

    claim = world.key_client(scopes=["coupons"]).post(
        f"{API}/coupon-batches/{closing.pk}/claim", {"customer": people[3].code}, format="json"
    )
    assert claim.status_code == 409
    assert claim.json()["code"] == "batch_not_active"
    assert claim.json()["detail"] == "The batch has ended."
    shown = world.client(Role.OPERATOR).get(f"{API}/coupon-batches/{closing.pk}").json()
    assert shown["status"] == "ended"


def _movements(campaign):
    return sorted(
        BudgetEntry.objects.for_tenant(campaign.tenant)
        .filter(budget_id=campaign.budget_id)
        .values_list("kind", "reference", "amount")
    )


def test_ending_by_the_api_ends_batches_and_releases_once(world, spread):
    campaign, closing, lasting, _people, closed, _kept = spread
    client = world.client(Role.OPERATOR)
    response = client.post(f"{API}/campaigns/{campaign.pk}/end")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ended"
    _assert_ended(world, campaign, *spread[1:])
    entries = _movements(campaign)
    assert [e for e in entries if e[0] == "release"] == [
        ("release", f"coupon-batch:{closing.pk}:campaign-end:{closed[1].pk}", D("40.00")),
        ("release", f"coupon-batch:{closing.pk}:end", D("140.00")),
        ("release", f"coupon-batch:{lasting.pk}:end", D("60.00")),
    ]

    again = client.post(f"{API}/campaigns/{campaign.pk}/end")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert tasks.campaigns_advance() == {"started": 0, "ended": 0}
    assert _movements(campaign) == entries
    assert _figures(campaign) == (D("40.00"), D("20.00"))


def test_ending_on_time_is_the_same_rule_and_runs_once(world, spread):
    campaign, closing, _lasting, _people, _closed, _kept = spread
    paused = coupon_services.batch_pause(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=closing
    )
    assert paused.status == BatchStatus.PAUSED
    Campaign.objects.for_tenant(world.tenant).filter(pk=campaign.pk).update(
        ends_at=timezone.now() - timedelta(minutes=1)
    )
    assert tasks.campaigns_advance() == {"started": 0, "ended": 1}
    _assert_ended(world, campaign, *spread[1:])
    entries = _movements(campaign)
    assert tasks.campaigns_advance() == {"started": 0, "ended": 0}
    assert _movements(campaign) == entries
    assert _figures(campaign) == (D("40.00"), D("20.00"))


def test_the_lasting_coupons_release_at_their_own_expiry(world, spread):
    campaign, _closing, _lasting, people, _closed, kept = spread
    services.campaign_end(tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign)
    redeemed = coupon_services.coupon_redeem(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        code=kept[0].code,
        customer=people[0],
        order="O-2",
        amount=D("150.00"),
    )
    assert redeemed.discount == D("20.00")
    assert _figures(campaign) == (D("20.00"), D("40.00"))
    assert coupon_services.coupons_expire_due(now=timezone.now() + timedelta(days=31)) == 1
    assert _figures(campaign) == (D("0.00"), D("40.00"))
    call_command("check_budgets")


def test_the_budget_closes_only_once_the_lasting_coupons_are_gone(world, spread):
    """Closing would take the reservation the lasting coupons are paid from: their redemption
    and their expiry would then be refused (and the expiry task with them)."""
    from budgets import services as budget_services

    campaign = spread[0]
    services.campaign_end(tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign)
    budget = Budget.objects.for_tenant(world.tenant).get(pk=campaign.budget_id)
    finance = world.actor(Role.FINANCE)
    with pytest.raises(ConflictError) as exc:
        budget_services.budget_close(tenant=world.tenant, actor=finance, budget=budget)
    assert exc.value.code == "budget_in_use" and "still valid" in exc.value.detail
    assert _figures(campaign) == (D("40.00"), D("20.00"))

    assert coupon_services.coupons_expire_due(now=timezone.now() + timedelta(days=31)) == 2
    closed = budget_services.budget_close(tenant=world.tenant, actor=finance, budget=budget)
    assert (closed.status, closed.reserved, closed.spent) == ("closed", D("0.00"), D("20.00"))
    call_command("check_budgets")


def test_a_rollback_after_the_end_does_not_reserve_again(world, spread):
    """The redeemed coupon of the closing batch lost its validity with the campaign: an order
    cancelled later gives its discount back to what is available, not to a reservation."""
    campaign, _closing, _lasting, _people, closed, _kept = spread
    services.campaign_end(tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign)
    back = coupon_services.coupon_rollback(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), code=closed[0].code, order="O-1"
    )
    assert back.status == CouponStatus.EXPIRED
    assert _figures(campaign) == (D("40.00"), D("0.00"))
    call_command("check_budgets")


def test_printed_codes_of_a_closing_batch_expire_too(world):
    campaign = running_campaign(world)
    batch = active_batch(world, campaign, quantity=10)
    job = coupon_services.generation_job_create(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch, count=3
    )
    coupon_services.issuance_job_run(tenant=world.tenant, job_id=job.pk)
    assert _figures(campaign) == (D("200.00"), D("0.00"))
    services.campaign_end(tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign)
    codes = Coupon.objects.for_tenant(world.tenant).filter(batch=batch)
    # Still without a holder (only a holder's coupon is expired), but no longer valid.
    assert set(codes.values_list("status", flat=True)) == {CouponStatus.UNASSIGNED}
    assert all(c.valid_until is not None for c in codes)
    assert _figures(campaign) == (D("0.00"), D("0.00"))
    call_command("check_budgets")
    (customer,) = customers(world, 1, prefix="P")
    assert _validate(world, codes.first().code, customer)["reason"] == R.EXPIRED
    redeem = world.key_client(scopes=["coupons"]).post(
        f"{API}/coupons/redeem",
        {"code": codes.first().code, "customer": customer.code, "amount": "150", "order": "P-1"},
        format="json",
    )
    assert redeem.status_code == 422 and redeem.json()["code"] == R.EXPIRED
    assert _figures(campaign) == (D("0.00"), D("0.00"))


def test_a_batch_ended_by_hand_before_loses_its_coupons_with_the_campaign(world):
    campaign = running_campaign(world)
    batch = active_batch(world, campaign, quantity=4)
    (alice,) = customers(world, 1)
    coupon = _issue(world, batch, alice)
    coupon_services.batch_end(tenant=world.tenant, actor=world.actor(Role.OPERATOR), batch=batch)
    assert _figures(campaign) == (D("20.00"), D("0.00"))  # the issued coupon keeps its share
    assert _validate(world, coupon.code, alice)["valid"] is True
    services.campaign_end(tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign)
    assert _status(Coupon, coupon) == CouponStatus.EXPIRED
    assert _figures(campaign) == (D("0.00"), D("0.00"))
    call_command("check_budgets")


def test_a_regional_operator_outside_the_campaign_ends_nothing(world):
    campaign = running_campaign(world, regions=[world.other_region])
    batch = active_batch(world, campaign, quantity=4)
    with pytest.raises(PermissionDeniedError) as refused:
        services.campaign_end(
            tenant=world.tenant, actor=world.actor(Role.REGIONAL_OPERATOR), campaign=campaign
        )
    assert refused.value.code == "out_of_scope"
    assert _status(CouponBatch, batch) == BatchStatus.ACTIVE
    assert _figures(campaign) == (D("80.00"), D("0.00"))


def test_an_ended_campaign_cannot_be_ended_again(world):
    campaign = running_campaign(world)
    services.campaign_end(tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign)
    with pytest.raises(ConflictError):
        services.campaign_end(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign
        )


def test_the_console_end_button_says_what_ending_does_and_does_it(world, spread):
    campaign, closing, lasting, *_rest = spread
    client = world.console_client(Role.OPERATOR)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "the stock never issued goes back to the budget" in page
    response = client.post(reverse("campaigns:action", args=[campaign.pk, "end"]))
    assert response.status_code == 302
    assert _status(CouponBatch, closing) == _status(CouponBatch, lasting) == BatchStatus.ENDED
    assert _figures(campaign) == (D("40.00"), D("20.00"))
    call_command("check_budgets")
