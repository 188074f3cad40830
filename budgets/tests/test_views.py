"""Console pages of budgets and campaigns through Django's test client."""

import pytest
from django.urls import reverse

from accounts.authentication import SESSION_TENANT_KEY
from accounts.roles import Role
from accounts.tests.factories import MembershipFactory
from budgets import services
from budgets.models import Budget, BudgetStatus
from campaigns.models import Campaign, CampaignStatus
from campaigns.tests.factories import new_campaign, set_status

from .factories import approved_budget, submitted_budget

pytestmark = pytest.mark.django_db
R = Role
READERS = {R.TENANT_ADMIN, R.BU_ADMIN, R.OPERATOR, R.REGIONAL_OPERATOR, R.FINANCE, R.AUDITOR}


def login(client, membership):
    client.force_login(membership.user)
    session = client.session
    session[SESSION_TENANT_KEY] = membership.tenant_id
    session.save()
    return client


PAGES = [
    ("budgets:list", lambda w, b, c: [], READERS),
    ("budgets:queue", lambda w, b, c: [], READERS),
    ("budgets:create", lambda w, b, c: [], {R.TENANT_ADMIN, R.FINANCE}),
    ("budgets:detail", lambda w, b, c: [b.pk], READERS),
    ("campaigns:list", lambda w, b, c: [], READERS),
    (
        "campaigns:create",
        lambda w, b, c: [],
        {R.TENANT_ADMIN, R.BU_ADMIN, R.OPERATOR, R.REGIONAL_OPERATOR},
    ),
    ("campaigns:detail", lambda w, b, c: [c.pk], READERS),
    (
        "campaigns:edit",
        lambda w, b, c: [c.pk],
        {R.TENANT_ADMIN, R.BU_ADMIN, R.OPERATOR, R.REGIONAL_OPERATOR},
    ),
]


@pytest.mark.parametrize("role", sorted(READERS))
@pytest.mark.parametrize("page", PAGES, ids=[p[0] for p in PAGES])
def test_pages_by_role(world, page, role):
    name, args, allowed = page
    budget = approved_budget(world)
    campaign = new_campaign(world, budget=budget)
    response = world.console_client(role).get(reverse(name, args=args(world, budget, campaign)))
    assert response.status_code == (200 if role in allowed else 403)


def test_finance_drafts_submits_and_another_approves_in_the_console(world):
    client = world.console_client(R.FINANCE)
    response = client.post(
        reverse("budgets:create"),
        {
            "business_unit": world.unit.pk,
            "name": "Console budget",
            "purpose": "coupons",
            "amount": "1234.50",
            "starts_on": "2027-01-01",
            "ends_on": "2027-01-31",
        },
    )
    budget = Budget.objects.for_tenant(world.tenant).get(name="Console budget")
    assert response.status_code == 302 and response.url == reverse(
        "budgets:detail", args=[budget.pk]
    )
    client.post(reverse("budgets:action", args=[budget.pk, "submit"]))
    budget.refresh_from_db()
    assert budget.status == BudgetStatus.SUBMITTED
    queue = client.get(reverse("budgets:queue")).content.decode()
    assert "Console budget" in queue and "another finance user decides" in queue
    client.post(reverse("budgets:action", args=[budget.pk, "approve"]))
    budget.refresh_from_db()
    assert budget.status == BudgetStatus.SUBMITTED  # the maker cannot approve
    checker = MembershipFactory(tenant=world.tenant, user__username="checker", role=R.FINANCE)
    login(client, checker)
    response = client.post(
        reverse("budgets:action", args=[budget.pk, "approve"]),
        {"note": "fine", "next": reverse("budgets:queue")},
    )
    assert response.url == reverse("budgets:queue")
    budget.refresh_from_db()
    assert budget.status == BudgetStatus.APPROVED and budget.decision_note == "fine"
    page = client.get(reverse("budgets:detail", args=[budget.pk])).content.decode()
    assert "budget.approve" in page and "1,234.50" in page


def test_budget_page_shows_the_bar_and_movements(world):
    budget = approved_budget(world)
    services.budget_reserve(tenant=world.tenant, budget=budget, amount="250", reference="batch:7")
    services.budget_spend(tenant=world.tenant, budget=budget, amount="100", reference="c:1")
    html = world.console_client(R.AUDITOR).get(reverse("budgets:detail", args=[budget.pk]))
    html = html.content.decode()
    assert 'data-figure="available"' in html and "750.00" in html
    assert "batch:7" in html and "width: 10.00%" in html and "width: 15.00%" in html


def test_reject_without_note_shows_the_error(world):
    budget = submitted_budget(world)
    response = world.console_client(R.FINANCE).post(
        reverse("budgets:action", args=[budget.pk, "reject"]), follow=True
    )
    assert "Say why" in response.content.decode()
    budget.refresh_from_db()
    assert budget.status == BudgetStatus.SUBMITTED


def test_operator_creates_and_schedules_a_campaign(world):
    budget = approved_budget(world)
    client = world.console_client(R.OPERATOR)
    response = client.post(
        reverse("campaigns:create"),
        {
            "name": "Console campaign",
            "budget": budget.pk,
            "starts_at": "2099-01-01T10:00",
            "ends_at": "2099-01-02T10:00",
            "regions": [world.region.pk],
        },
    )
    # the period is outside the budget: the campaign is a draft, the check says why
    campaign = Campaign.objects.for_tenant(world.tenant).get(name="Console campaign")
    assert response.status_code == 302
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'data-check="outside_budget_period"' in page and 'data-check="no_channels"' in page
    response = client.post(reverse("campaigns:action", args=[campaign.pk, "schedule"]), follow=True)
    assert "The campaign check found errors." in response.content.decode()
    campaign = new_campaign(world, budget=budget, channels=())
    client.post(reverse("campaigns:action", args=[campaign.pk, "schedule"]))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT  # warnings not acknowledged
    client.post(
        reverse("campaigns:action", args=[campaign.pk, "schedule"]), {"acknowledge_warnings": "on"}
    )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED


def test_campaign_edit_form_saves(world):
    campaign = new_campaign(world, budget=approved_budget(world))
    client = world.console_client(R.OPERATOR)
    form = client.get(reverse("campaigns:edit", args=[campaign.pk])).context["form"]
    data = {
        k: v
        for k, v in form.initial.items()
        if k not in ("channels", "regions", "starts_at", "ends_at")
    }
    data.update(
        name="Renamed",
        starts_at=campaign.starts_at.strftime("%Y-%m-%dT%H:%M"),
        ends_at=campaign.ends_at.strftime("%Y-%m-%dT%H:%M"),
        regions=[world.region.pk],
    )
    response = client.post(reverse("campaigns:edit", args=[campaign.pk]), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Renamed"


def test_regional_operator_console_scope(world):
    budget = approved_budget(world)
    mine = new_campaign(world, budget=budget, name="mine")
    foreign = new_campaign(world, budget=budget, name="foreign", regions=[world.other_region])
    mixed = set_status(
        new_campaign(
            world, budget=budget, name="mixed", regions=[world.region, world.other_region]
        ),
        CampaignStatus.RUNNING,
    )
    client = world.console_client(R.REGIONAL_OPERATOR)
    listing = client.get(reverse("campaigns:list")).content.decode()
    assert "mine" in listing and "mixed" in listing and "foreign" not in listing
    assert client.get(reverse("campaigns:detail", args=[foreign.pk])).status_code == 404
    page = client.get(reverse("campaigns:detail", args=[mixed.pk])).content.decode()
    assert "not yours" in page and reverse("campaigns:action", args=[mixed.pk, "pause"]) not in page
    assert client.get(reverse("campaigns:edit", args=[mixed.pk])).status_code == 403
    page = client.get(reverse("campaigns:detail", args=[mine.pk])).content.decode()
    assert reverse("campaigns:action", args=[mine.pk, "schedule"]) in page


def test_channel_list_add_rename_retire(world):
    client = world.console_client(R.OPERATOR)
    page = client.get(reverse("campaigns:channels")).content.decode()
    assert 'data-channel="wechat"' in page and "Add a channel" in page
    client.post(reverse("campaigns:channels"), {"code": "tiktok", "name": "TikTok"})
    client.post(reverse("campaigns:channel_update", args=["tiktok"]), {"name": "Douyin"})
    client.post(reverse("campaigns:channel_update", args=["sms"]), {"is_active": "false"})
    from campaigns.models import Channel

    channels = {c.code: c for c in Channel.objects.for_tenant(world.tenant)}
    assert channels["tiktok"].name == "Douyin" and not channels["sms"].is_active
    # a regional operator reads the list but cannot change it
    client = world.console_client(R.REGIONAL_OPERATOR)
    assert "Add a channel" not in client.get(reverse("campaigns:channels")).content.decode()
    client.post(reverse("campaigns:channel_update", args=["app"]), {"is_active": "false"})
    assert Channel.objects.for_tenant(world.tenant).get(code="app").is_active
