"""The points console in a real browser: the rule editor's tier table, an account's ledger and
an adjustment (issue 6)."""

import pytest
from playwright.sync_api import Page, expect

from accounts.roles import Role
from points.models import PointsAccount, PointsRule
from points.tests.factories import place, program, running_campaign

from .test_console import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_operator_builds_a_tiered_rule_then_adjusts_an_earning_account(
    page: Page, live_server, transactional_db, world
):
    base = live_server.url
    prog = program(world)
    campaign = running_campaign(world)

    log_in(page, base, world.members[Role.OPERATOR].user.username)
    page.goto(f"{base}/console/points/")
    page.get_by_role("link", name=prog.name).click()
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Campaign").select_option(str(campaign.pk))
    page.get_by_label("Name", exact=True).fill("First orders into the north")
    page.get_by_label("Kind").select_option("region_first_n")
    page.get_by_label("Regions (codes, comma-separated)").fill(world.region.code)
    tiers = page.locator("#tier-table tbody tr")
    for row, values in enumerate((("1", "10", "5"), ("11", "20", "10"))):
        for column, value in enumerate(values):
            tiers.nth(row).locator("input").nth(column).fill(value)
    page.get_by_role("button", name="Create rule").click()
    expect(page.locator(".alert-success")).to_contain_text("First orders into the north")
    expect(page.locator("main")).to_contain_text("11\u201320")  # the tier row, 11 to 20
    assert PointsRule.objects.for_tenant(world.tenant).get().tiers[1] == {
        "from": 11,
        "to": 20,
        "points": 10,
    }

    place(world, external_id="WEB-1")
    account = PointsAccount.objects.for_tenant(world.tenant).get()
    page.goto(f"{base}/console/points/accounts/")
    page.get_by_label("Search").fill(world.staff.code)
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=world.staff.code).click()
    expect(page.locator("[data-figure=pending]")).to_have_text("5")
    expect(page.locator("main")).to_contain_text("WEB-1")

    page.get_by_label("Points").fill("12")
    page.get_by_label("Reason").fill("Goodwill after a complaint")
    page.get_by_role("button", name="Record adjustment").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Record").click()
    expect(page.locator(".alert-success")).to_contain_text("adjustment")
    expect(page.locator("[data-figure=balance]")).to_have_text("12")
    expect(page.locator("main")).to_contain_text("Goodwill after a complaint")
    account.refresh_from_db()
    assert (account.balance, account.pending) == (12, 5)


def test_operator_edits_a_rule_then_deactivates_it_after_confirming(
    page: Page, live_server, transactional_db, world
):
    from points.services import rule_create

    base = live_server.url
    prog = program(world)
    rule = rule_create(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=running_campaign(world),
        program=prog, regions=[world.region], kind="region_first_n", name="First orders",
        tiers=[{"from": 1, "to": 10, "points": 5}],
    )  # fmt: skip

    log_in(page, base, world.members[Role.OPERATOR].user.username)
    page.goto(f"{base}/console/points/programs/{prog.pk}/")
    page.get_by_role("row", name="First orders").get_by_role("link", name="Edit").click()
    tiers = page.locator("#tier-table tbody tr")
    expect(tiers.nth(0).locator("input").nth(1)).to_have_value("10")
    for column, value in enumerate(("11", "20", "8")):
        tiers.nth(1).locator("input").nth(column).fill(value)
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".alert-success")).to_contain_text("First orders")
    expect(page.locator("main")).to_contain_text("11\u201320")

    page.get_by_role("row", name="First orders").get_by_role("button", name="Deactivate").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_contain_text("points already awarded stay")
    dialog.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".alert-success")).to_contain_text("awards nothing")
    expect(page.get_by_role("row", name="First orders")).to_contain_text("inactive")
    rule.refresh_from_db()
    assert not rule.is_active and rule.tiers[1] == {"from": 11, "to": 20, "points": 8}
