"""The issue's flow in a real browser: finance drafts and submits a budget, a second finance
user approves it, the operator creates and schedules a campaign, and a regional operator cannot
see a campaign outside their regions. Then the campaign check: a failing design refused, fixed
through its finding's link, and a simulation's progress polled until its charts are drawn."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import PASSWORD, MembershipFactory
from budgets.models import Budget, BudgetStatus
from campaigns import tasks
from campaigns.models import Campaign, CampaignSimulation, CampaignStatus
from campaigns.simulation import simulation_run_job
from tests.browser.axe import assert_accessible

from .designs import failing_design, past_orders
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
    expect(page.locator("#check")).to_contain_text("The design passes every check.")
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


def test_a_failing_design_is_refused_then_fixed_through_its_finding(browser, live_server, world):
    campaign, _prog, iphone = failing_design(world)
    page = log_in(browser, live_server, "alpha-operator")
    page.goto(f"/console/campaigns/{campaign.pk}/")
    finding = page.locator("#check [data-check=prize_unreachable]")
    expect(finding).to_contain_text("Error")
    expect(finding).to_contain_text("costs 10,000 points, but one holder can earn at most 7,500")
    assert_accessible(page)

    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages .alert-danger")).to_contain_text(
        "The campaign check found errors."
    )
    expect(page.locator("h1")).to_contain_text("Draft")

    finding.get_by_role("link", name="Fix “iPhone 17”").click()
    page.wait_for_url(f"**/console/prizes/{iphone.pk}/edit/")
    page.get_by_label("Points cost").fill("7000")
    page.locator("#main").get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("was saved")

    page.goto(f"/console/campaigns/{campaign.pk}/")
    expect(page.locator("#check [data-check]")).to_have_count(0)
    expect(page.locator("#check")).to_contain_text("The design passes every check.")
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator("h1")).to_contain_text("Scheduled")
    page.context.close()


def test_the_panel_polls_a_queued_simulation_and_draws_its_charts(
    browser, live_server, world, settings, monkeypatch
):
    settings.SIMULATION_INLINE_ORDERS = 0  # every window is a job
    # No worker here: the job is run by the test below, while the page polls.
    monkeypatch.setattr(tasks.campaign_simulate, "delay", lambda *args, **kwargs: None)
    campaign, prog, _iphone = failing_design(world)
    past_orders(world, days_ago=(1, 2, 3), staff_count=4)
    page = log_in(browser, live_server, "alpha-operator")
    page.goto(f"/console/campaigns/{campaign.pk}/")
    expect(page.locator("#simulation-progress")).to_contain_text("Queued")
    expect(page.locator("#check [data-check=simulation_pending]")).to_be_visible()
    expect(page.locator("canvas[data-chart]")).to_have_count(0)

    run = CampaignSimulation.objects.for_tenant(world.tenant).get(campaign=campaign)
    simulation_run_job(tenant_id=world.tenant.pk, simulation_id=run.pk)
    expect(page.locator("#simulation-progress")).to_have_count(0, timeout=10_000)
    expect(page.locator("#check [data-check=simulation_pending]")).to_have_count(0)
    for chart in ("histogram", "regions", "cost", "prizes"):
        canvas = page.locator(f"canvas[data-chart={chart}][data-program='{prog.pk}']")
        expect(canvas).to_be_visible()
        assert page.evaluate("(c) => !!Chart.getChart(c)", canvas.element_handle())
    expect(page.locator("#simulation [data-figure=orders]")).to_have_text(str(run.total))
    assert_accessible(page)
    page.context.close()
