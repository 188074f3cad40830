"""The campaign page's check panel through the console client: findings with their fix links,
the simulation window, and the progress the panel polls while a job replays the orders."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from budgets.tests.factories import approved_budget
from campaigns.models import CampaignSimulation, CampaignStatus
from campaigns.simulation import simulation_run_job
from points.tests.factories import program, rule

from .designs import failing_design, past_orders
from .factories import new_campaign

pytestmark = pytest.mark.django_db


def _page(client, campaign, **query) -> str:
    response = client.get(reverse("campaigns:detail", args=[campaign.pk]), query)
    assert response.status_code == 200
    return response.content.decode()


def _no_inline_code(page: str) -> None:
    """Scripts come from static files; the only script elements besides are json_script data."""
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert " src=" in tag or 'type="application/json"' in tag, tag
    assert " style=" not in page  # a CSP without unsafe-inline is coming


def test_a_failing_design_shows_its_finding_with_the_fix_link(world):
    campaign, _prog, iphone = failing_design(world)
    client = world.console_client(Role.OPERATOR)
    page = _page(client, campaign)
    finding = re.search(r'<li[^>]*data-check="prize_unreachable".*?</li>', page, re.S).group(0)
    assert "border-danger" in finding and ">Error</span>" in finding  # colour and word
    assert "“iPhone 17” costs 10,000 points, but one holder can earn at most 7,500" in finding
    assert f'href="/console/prizes/{iphone.pk}/edit/"' in finding
    assert "Fix “iPhone 17”" in finding
    assert '<span class="code small text-body-secondary">prize_unreachable</span>' in finding
    assert "The design passes every check." not in page
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in page
    assert 'src="/static/js/campaign_check.js"' in page
    _no_inline_code(page)

    # Schedule is refused by the service, and the page says why
    response = client.post(reverse("campaigns:action", args=[campaign.pk, "schedule"]), follow=True)
    assert "The campaign check found errors." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_a_sound_design_passes_and_warnings_say_the_acknowledgement_is_recorded(world):
    budget = approved_budget(world, amount="1000.00", purpose="points")
    client = world.console_client(Role.OPERATOR)
    sound = new_campaign(world, budget=budget, name="Sound")
    page = _page(client, sound)
    assert "The design passes every check." in page
    assert 'name="acknowledge_warnings"' not in page
    assert "nothing to replay" in page  # no points rules: no simulation

    quiet = new_campaign(world, budget=budget, name="Quiet", channels=())  # no_channels
    page = _page(client, quiet)
    assert ">Warning</span>" in page and 'data-check="no_channels"' in page
    assert 'name="acknowledge_warnings"' in page
    assert "Your name and these warnings are recorded in the audit log." in page
    assert "The design passes every check." not in page


def test_the_window_chosen_is_replayed_and_a_wrong_one_falls_back(world):
    campaign, _prog, _iphone = failing_design(world)
    past_orders(world, days_ago=(2,), staff_count=2)  # 3 orders the day before yesterday
    past_orders(world, days_ago=(20,), staff_count=1)  # 1 order, outside the default window
    client = world.console_client(Role.OPERATOR)
    today = timezone.localdate(timezone=world.tenant.zone)

    default = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert default.context["result"]["orders"] == 3
    assert default.context["window_last"] == today - timedelta(days=1)
    assert f'value="{today - timedelta(days=1)}"' in default.content.decode()

    first, last = today - timedelta(days=25), today - timedelta(days=15)
    chosen = client.get(
        reverse("campaigns:detail", args=[campaign.pk]), {"from": first, "to": last}
    )
    page = chosen.content.decode()
    assert chosen.context["result"]["orders"] == 1
    assert (chosen.context["window_first"], chosen.context["window_last"]) == (first, last)
    assert f'name="from" value="{first}"' in page and f'name="to" value="{last}"' in page
    assert f"1 order of {first} to {last} replayed." in page
    assert 'data-figure="orders">1<' in page
    assert "Scheduling runs the check again on the default window." in page

    wrong = client.get(reverse("campaigns:detail", args=[campaign.pk]), {"from": last, "to": first})
    page = wrong.content.decode()
    assert "On or after from." in page and "The default window is shown instead." in page
    assert "is-invalid" in page
    assert wrong.context["result"]["orders"] == 3  # the default window's
    assert f'name="from" value="{last}"' in page  # what was typed stays in the box
    junk = client.get(reverse("campaigns:detail", args=[campaign.pk]), {"from": "soon"})
    assert junk.status_code == 200 and junk.context["window_errors"]


def test_a_result_shows_key_figures_charts_and_tables(world):
    campaign, prog, _iphone = failing_design(world)
    past_orders(world, days_ago=(1, 2, 3), staff_count=4)
    page = _page(world.console_client(Role.OPERATOR), campaign)
    section = page[page.index('<section id="simulation"') :]
    assert 'id="simulation-data" type="application/json"' in section
    for chart in ("histogram", "regions", "cost", "prizes"):
        assert f'data-chart="{chart}" data-program="{prog.pk}"' in section
    assert section.count("<table") == 4
    assert "≥ 10,000" in section and "iPhone 17" in section
    assert 'data-figure="holders">4 of 4 active holders earn points (100.0%)' in section
    _no_inline_code(page)


def test_a_big_window_polls_its_progress_until_done(world, settings):
    # More orders than may be replayed inline: the check queues a job. Its enqueueing waits for
    # the commit, which never comes inside a test's transaction, so it stays queued however
    # Celery is configured (eager without REDIS_URL, a broker with it) until run below.
    settings.SIMULATION_INLINE_ORDERS = 0
    campaign, prog, _iphone = failing_design(world)
    placed = past_orders(world, days_ago=(1, 2), staff_count=2)
    client = world.console_client(Role.OPERATOR)
    page = _page(client, campaign)
    panel_url = reverse("campaigns:check_panel", args=[campaign.pk])
    assert f'hx-get="{panel_url}"' in page and 'hx-trigger="every 2s"' in page
    assert 'hx-select="#check"' in page and 'hx-select-oob="#simulation"' in page
    assert f"Queued: {placed} orders to replay." in page
    assert 'data-progress="0"' in page and 'data-check="simulation_pending"' in page
    _no_inline_code(page)

    panel = client.get(panel_url)
    assert panel.status_code == 200 and panel.context["simulation"]["status"] == "queued"
    body = panel.content.decode()
    assert 'id="check"' in body and 'id="simulation"' in body and "<html" not in body

    run = CampaignSimulation.objects.for_tenant(world.tenant).get(campaign=campaign)
    CampaignSimulation.objects.for_tenant(world.tenant).filter(pk=run.pk).update(
        status="running", done=1
    )
    body = client.get(panel_url).content.decode()
    assert f"Replaying: 1 of {placed} orders." in body and 'hx-trigger="every 2s"' in body

    assert simulation_run_job(tenant_id=world.tenant.pk, simulation_id=run.pk) == "done"
    body = client.get(panel_url).content.decode()
    assert "hx-trigger" not in body and 'data-check="simulation_pending"' not in body
    assert '<section id="simulation"' in body and f'data-program="{prog.pk}"' in body
    assert f'data-figure="orders">{placed}<' in body


def test_a_chosen_window_is_polled_with_the_same_days(world, settings):
    settings.SIMULATION_INLINE_ORDERS = 0
    campaign, _prog, _iphone = failing_design(world)
    past_orders(world, days_ago=(3,), staff_count=1)
    today = timezone.localdate(timezone=world.tenant.zone)
    first, last = today - timedelta(days=5), today - timedelta(days=1)
    page = _page(world.console_client(Role.OPERATOR), campaign, **{"from": first, "to": last})
    panel_url = reverse("campaigns:check_panel", args=[campaign.pk])
    assert f'hx-get="{panel_url}?from={first}&amp;to={last}"' in page


def test_readers_see_the_panel_without_the_schedule_form(world):
    campaign, _prog, _iphone = failing_design(world)
    page = _page(world.console_client(Role.AUDITOR), campaign)
    assert 'data-check="prize_unreachable"' in page and 'id="schedule-form"' not in page


def test_a_rule_with_no_cap_and_a_cheap_prize_passes_the_design_checks(world):
    budget = approved_budget(world, amount="1000.00", purpose="points")
    campaign = new_campaign(world, budget=budget)
    prog = program(world)
    rule(world, campaign, prog, kind="per_order", points=5)
    page = _page(world.console_client(Role.OPERATOR), campaign)
    assert "The design passes every check." in page
    assert "0 orders of" in page  # replayed inline: no past orders
