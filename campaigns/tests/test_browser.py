"""The issue's flow in a real browser: finance drafts and submits a budget, a second finance
user approves it, the operator creates and schedules a campaign, and a regional operator cannot
see a campaign outside their regions."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import PASSWORD, MembershipFactory
from budgets.models import Budget, BudgetStatus
from campaigns.models import Campaign, CampaignStatus

from .factories import new_campaign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(browser, live_server, username):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/console/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("#main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console/")
    return page


def local(dt, world) -> str:
    return dt.astimezone(world.tenant.zone).strftime("%Y-%m-%dT%H:%M")


def test_budget_approval_and_campaign_schedule(browser, live_server, world):
    MembershipFactory(tenant=world.tenant, user__username="alpha-finance2", role=Role.FINANCE)
    today = timezone.localdate(timezone=world.tenant.zone)

    # finance drafts and submits
    page = log_in(browser, live_server, "alpha-finance")
    page.goto("/console/budgets/new/")
    page.select_option("select[name=business_unit]", label=str(world.unit))
    page.fill("input[name=name]", "Browser budget")
    page.select_option("select[name=purpose]", "coupons")
    page.fill("input[name=amount]", "50000.00")
    page.fill("input[name=starts_on]", (today - timedelta(days=1)).isoformat())
    page.fill("input[name=ends_on]", (today + timedelta(days=30)).isoformat())
    page.locator("#main").get_by_role("button", name="Save draft").click()
    expect(page.locator("h1")).to_contain_text("Browser budget")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator("h1")).to_contain_text("Submitted")
    page.goto("/console/budgets/approvals/")
    expect(page.locator(".queue-item")).to_contain_text("another finance user decides")
    page.context.close()

    # a second finance user approves it from the queue
    page = log_in(browser, live_server, "alpha-finance2")
    page.goto("/console/budgets/approvals/")
    item = page.locator(".queue-item", has_text="Browser budget")
    item.locator("textarea[name=note]").fill("Within plan")
    item.get_by_role("button", name="Approve").click()
    expect(page.locator(".alert-success")).to_contain_text("Budget approved")
    budget = Budget.objects.for_tenant(world.tenant).get(name="Browser budget")
    assert budget.status == BudgetStatus.APPROVED
    page.goto(f"/console/budgets/{budget.pk}/")
    expect(page.locator(".budget-history")).to_contain_text("Within plan")
    page.context.close()

    # the operator creates and schedules a campaign under it
    page = log_in(browser, live_server, "alpha-operator")
    page.goto("/console/campaigns/new/")
    page.fill("input[name=name]", "Browser campaign")
    page.select_option("select[name=budget]", label="Browser budget")
    now = timezone.now()
    page.fill("input[name=starts_at]", local(now + timedelta(days=1), world))
    page.fill("input[name=ends_at]", local(now + timedelta(days=5), world))
    page.get_by_label("App", exact=True).check()
    page.select_option("select[name=regions]", label=str(world.region))
    page.locator("#main").get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("h1")).to_contain_text("Draft")
    expect(page.locator("#check")).to_contain_text("No errors, no warnings.")
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator("h1")).to_contain_text("Scheduled")
    campaign = Campaign.objects.for_tenant(world.tenant).get(name="Browser campaign")
    assert campaign.status == CampaignStatus.SCHEDULED
    page.context.close()

    # a regional operator sees their region's campaign but not one elsewhere
    foreign = new_campaign(
        world, budget=budget, name="Southern campaign", regions=[world.other_region]
    )
    page = log_in(browser, live_server, "alpha-regional_operator")
    page.goto("/console/campaigns/")
    expect(page.locator("#results")).to_contain_text("Browser campaign")
    expect(page.locator("#results")).not_to_contain_text("Southern campaign")
    response = page.goto(f"/console/campaigns/{foreign.pk}/")
    assert response.status == 404
    page.context.close()
