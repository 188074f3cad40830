"""Console pages of points through Django's test client."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.roles import Role
from points.models import LedgerEntry, PointsAccount, PointsProgram, PointsRule

from .factories import place, program, rule, running_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def earned(world):
    prog = program(world)
    campaign = running_campaign(world)
    rule(world, campaign, prog, kind="per_order", points=10)
    order = place(world, external_id="ORD-VIEW-1")
    return prog, campaign, order


def test_program_list_detail_and_accounts(world, earned):
    prog, campaign, _order = earned
    client = world.console_client(Role.AUDITOR)
    assert prog.name in client.get(reverse("points:program_list")).content.decode()
    detail = client.get(reverse("points:program_detail", args=[prog.pk])).content.decode()
    assert campaign.name in detail
    accounts = client.get(reverse("points:account_list"), {"q": world.staff.code})
    assert world.staff.code in accounts.content.decode()
    none = client.get(reverse("points:account_list"), {"q": "nobody-like-this"})
    assert world.staff.code not in none.content.decode()


def test_account_page_shows_the_ledger_with_its_order_and_campaign(world, earned):
    _prog, campaign, order = earned
    account = PointsAccount.objects.for_tenant(world.tenant).get()
    client = world.console_client(Role.OPERATOR)
    page = client.get(reverse("points:account_detail", args=[account.pk])).content.decode()
    assert order.external_id in page and campaign.name in page
    assert "Adjust points" in page


def test_adjustment_form(world, earned):
    account = PointsAccount.objects.for_tenant(world.tenant).get()
    client = world.console_client(Role.OPERATOR)
    url = reverse("points:account_detail", args=[account.pk])
    response = client.post(url, {"points": "5", "reason": "Goodwill"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.balance == 5
    entry = LedgerEntry.objects.for_tenant(world.tenant).get(kind="adjust")
    assert (
        entry.reason == "Goodwill"
        and entry.operator_label == world.members[Role.OPERATOR].user.username
    )
    refused = client.post(url, {"points": "-50", "reason": "too much"})
    assert refused.status_code == 200
    assert "usable points" in refused.content.decode()


def test_auditor_cannot_adjust(world, earned):
    account = PointsAccount.objects.for_tenant(world.tenant).get()
    client = world.console_client(Role.AUDITOR)
    url = reverse("points:account_detail", args=[account.pk])
    assert "Adjust points" not in client.get(url).content.decode()
    assert client.post(url, {"points": "5", "reason": "x"}).status_code == 403


def test_rule_editor_with_a_tier_table(world):
    prog = program(world)
    campaign = running_campaign(world)
    client = world.console_client(Role.OPERATOR)
    url = reverse("points:rule_create", args=[prog.pk])
    assert client.get(url).status_code == 200
    form = {
        "campaign": campaign.pk,
        "name": "First orders",
        "kind": "region_first_n",
        "regions": f"{world.region.code}, {world.other_region.code}",
        "tiers-TOTAL_FORMS": "4",
        "tiers-INITIAL_FORMS": "0",
        "tiers-0-rank_from": "1",
        "tiers-0-rank_to": "10",
        "tiers-0-points": "5",
        "tiers-1-rank_from": "11",
        "tiers-1-rank_to": "20",
        "tiers-1-points": "10",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    created = PointsRule.objects.for_tenant(world.tenant).get()
    assert created.tiers == [
        {"from": 1, "to": 10, "points": 5},
        {"from": 11, "to": 20, "points": 10},
    ]
    assert created.regions.count() == 2
    overlapping = {**form, "tiers-1-rank_from": "10"}
    again = client.post(url, overlapping)
    assert again.status_code == 200
    assert "overlap" in again.content.decode()


def test_program_form_creates_and_reports_errors(world):
    client = world.console_client(Role.OPERATOR)
    url = reverse("points:program_create")
    base = {
        "name": "Merchant points", "holder": "merchant", "point_value": "0.01",
        "expiry_policy": "days", "pending_policy": "until_completed", "tier_basis": "lifetime",
    }  # fmt: skip
    missing_days = client.post(url, base)
    assert missing_days.status_code == 200
    assert "how many days" in missing_days.content.decode()
    assert client.post(url, {**base, "expiry_days": "90"}).status_code == 302


def test_program_form_takes_a_range_of_value_per_point(world):
    client = world.console_client(Role.OPERATOR)
    url = reverse("points:program_create")
    page = client.get(url).content.decode()
    assert "Lowest value per point" in page and "Highest value per point" in page
    base = {
        "name": "Follower points", "holder": "staff", "point_value": "0.01",
        "expiry_policy": "none", "pending_policy": "until_completed", "tier_basis": "lifetime",
    }  # fmt: skip
    wrong = client.post(url, {**base, "point_value_min": "0.02", "point_value_max": "0.2"})
    assert wrong.status_code == 200
    text = wrong.content.decode()
    assert "is above the value of a point" in text
    assert text.count("is above the value of a point") == 1  # once, above the form
    assert (
        client.post(url, {**base, "point_value_min": "0.01", "point_value_max": "0.2"}).status_code
        == 302
    )
    made = PointsProgram.objects.for_tenant(world.tenant).get()
    assert (made.point_value_min, made.point_value_max) == (Decimal("0.01"), Decimal("0.2"))
    detail = client.get(reverse("points:program_detail", args=[made.pk])).content.decode()
    assert "0.010000\u20130.200000" in detail
    # Empty ends are the point value's ± 20 %.
    client.post(url, {**base, "name": "Plain", "point_value_min": "", "point_value_max": ""})
    plain = PointsProgram.objects.for_tenant(world.tenant).get(name="Plain")
    assert (plain.point_value_min, plain.point_value_max) == (Decimal("0.008"), Decimal("0.012"))
    # Editing: a point value moved out of the range it keeps is refused, naming the range.
    edit = reverse("points:program_edit", args=[plain.pk])
    form = {**base, "name": "Plain", "point_value_min": "0.008", "point_value_max": "0.012"}
    moved = client.post(edit, {**form, "point_value": "0.05"})
    assert moved.status_code == 200 and "give a new range with it" in moved.content.decode()
    emptied = client.post(edit, {**form, "point_value": "0.05", "point_value_min": "",
                                 "point_value_max": ""})  # fmt: skip
    assert emptied.status_code == 302
    plain.refresh_from_db()
    assert (plain.point_value, plain.point_value_min, plain.point_value_max) == (
        Decimal("0.05"), Decimal("0.04"), Decimal("0.06"),
    )  # fmt: skip


def test_merchant_staff_is_sent_to_the_portal(world, earned):
    client = world.console_client(Role.MERCHANT_STAFF)
    assert client.get(reverse("points:account_list")).status_code == 302
