import pytest
from django.core.management import call_command

from accounts.demo import demo_tenant_get
from budgets.models import Budget, BudgetStatus
from budgets.services import budgets_verify
from campaigns import services
from campaigns.demo import FIRST_DESIGN
from campaigns.models import Campaign, CampaignStatus

pytestmark = pytest.mark.django_db


def test_seed_demo_budgets_and_campaigns_twice(capsys):
    call_command("seed_demo", size="tiny")
    call_command("seed_demo", size="tiny")  # a second run adds nothing
    out = capsys.readouterr().out
    assert "budgets: 0 created, 2 already there" in out
    assert "demo-finance2" in out
    tenant = demo_tenant_get()
    budgets = {b.name: b for b in Budget.objects.for_tenant(tenant).select_related("created_by")}
    eleven = budgets["Double Eleven"]
    assert eleven.status == BudgetStatus.APPROVED
    assert eleven.created_by.username == "demo-finance"
    assert eleven.approved_by.username == "demo-finance2"
    assert budgets["Spring Festival"].status == BudgetStatus.SUBMITTED
    campaigns = {c.name: c for c in Campaign.objects.for_tenant(tenant)}
    assert set(campaigns) == {"Double Eleven", "Guangdong warm-up", FIRST_DESIGN}
    main = campaigns["Double Eleven"]
    assert main.status == CampaignStatus.RUNNING and main.budget == eleven
    assert main.channels.count() == 5 and main.regions.count() > 1
    assert budgets_verify(tenant=tenant) == []


def test_the_reviews_first_design_fails_the_check_and_the_corrected_one_passes():
    call_command("seed_demo", size="tiny")
    tenant = demo_tenant_get()
    campaigns = {c.name: c for c in Campaign.objects.for_tenant(tenant).select_related("budget")}
    first = services.campaign_check(tenant=tenant, campaign=campaigns[FIRST_DESIGN])
    assert campaigns[FIRST_DESIGN].status == CampaignStatus.DRAFT
    errors = {(e["code"], e["object"]["name"]) for e in first["errors"]}
    assert ("prize_unreachable", "First design: iPhone X") in errors
    assert ("bundle_arbitrage", "First design: top-up 10 CNY") in errors
    corrected = services.campaign_check(tenant=tenant, campaign=campaigns["Double Eleven"])
    assert corrected["errors"] == []
    assert corrected["simulation"]["status"] == "done"
    assert corrected["simulation"]["result"]["points"] > 0
