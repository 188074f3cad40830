"""The points report in a real browser: the operator sees its charts, narrows it to one
merchant, and downloads the XLSX, whose totals are the API's."""

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from accounts.roles import Role
from campaigns.tests.factories import running_campaign
from campaigns.tests.test_browser import log_in
from tests.browser.axe import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_points_report_filtered_by_merchant_and_downloaded(
    browser, live_server, world, history
):
    page = log_in(browser, live_server, "alpha-operator")
    page.get_by_role("button", name="Reports").click()
    page.get_by_role("list", name="Main navigation").get_by_role(
        "link", name="Points report"
    ).click()
    expect(page.locator("h1")).to_contain_text("Points report")
    expect(page.locator("canvas[data-chart-source=chart-histogram]")).to_be_visible()
    assert_accessible(page)

    page.fill("#f-merchant", world.merchant.code)
    page.get_by_role("button", name="Show").click()
    api = world.client(Role.OPERATOR).get(
        "/api/v1/reports/points", {"merchant": world.merchant.code}
    ).json()  # fmt: skip
    expect(page.locator("[data-figure=net]")).to_have_text(f"{api['net']:,}")
    with page.expect_download() as download:
        page.get_by_role("link", name="XLSX").click()
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    header, *rows = list(sheet.values)
    assert len(rows) == api["eligible_staff"] == 3  # world.merchant's three staff
    assert sum(row[header.index("Kept")] for row in rows) == api["net"]
    assert sum(row[header.index("Spent")] for row in rows) == api["spent"]

    page.fill("#f-merchant", "NOPE")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#report-errors")).to_contain_text("Merchant: Not found.")
    page.context.close()


def test_finance_reconciles_one_merchant_and_downloads_the_statement(
    browser, live_server, world, redemptions
):
    page = log_in(browser, live_server, "alpha-finance")
    page.get_by_role("button", name="Reports").click()
    page.get_by_role("list", name="Main navigation").get_by_role(
        "link", name="Reconciliation"
    ).click()  # fmt: skip
    expect(page.locator("h1")).to_contain_text("Reconciliation")
    assert_accessible(page)
    page.fill("#f-merchant", redemptions.code)
    page.get_by_role("button", name="Show").click()
    api = world.client(Role.FINANCE).get(
        "/api/v1/reports/reconciliation", {"merchant": redemptions.code}
    ).json()  # fmt: skip
    expect(page.locator("[data-figure=redemptions]")).to_have_text(
        str(api["totals"]["redemptions"])
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="XLSX").click()
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    header, *rows, total = list(sheet.values)
    assert {row[0] for row in rows} == {redemptions.code}
    assert total[0] == "Total"
    assert total[header.index("Redemptions")] == api["totals"]["redemptions"] == 3
    assert f"{total[header.index('Net discount')]:.2f}" == api["totals"]["net_discount"]
    page.context.close()


def test_the_operators_dashboard_draws_the_running_campaigns_chart(browser, live_server, world):
    running_campaign(world, purpose="coupons")
    page = log_in(browser, live_server, "alpha-operator")
    chart = page.locator("canvas[data-chart-source=chart-running]")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["height"] > 50
    assert_accessible(page)
    page.context.close()


def test_the_campaign_effect_page_draws_its_charts(browser, live_server, world, redemptions):
    page = log_in(browser, live_server, "alpha-operator")
    page.goto("/console/reports/campaign-effect/")
    expect(page.locator("canvas[data-chart-source=chart-days]")).to_be_visible()
    expect(page.locator("canvas[data-chart-source=chart-burn]")).to_be_visible()
    assert_accessible(page)
    page.context.close()
