"""The staff portal on a phone, end to end in a real browser (issue 14, "Done means"): a staff
member reads their points, learns how to earn, redeems a physical prize with an address and
draws the lottery; their merchant admin sees both and downloads the export; an operator
creates a prize and a lottery in the console and ships the prize, and the staff member sees it
shipped. axe-core checks every portal page on the way (no serious or critical violations)."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, ViewportSize, expect

from accounts.roles import Role
from campaigns.tests import factories as campaigns
from orders.services import order_complete
from points.tests.factories import place, program, rule
from redemption.models import Lottery, Prize, PrizeRedemption
from redemption.tests.factories import lottery, physical_prize

from .axe import assert_accessible
from .test_console import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE: ViewportSize = {"width": 390, "height": 844}
ADDRESS = "Room 1101, 88 Century Avenue, Pudong, Shanghai"


def _phone(browser: Browser, base: str, username: str) -> Page:
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(15_000)
    log_in(page, base, username)
    expect(page).to_have_url(re.compile(r"/portal/"))
    return page


def _visit(page: Page, url: str) -> None:
    page.goto(url)
    _checked(page)


def _checked(page: Page) -> None:
    """No sideways scroll on a phone, and nothing axe calls serious or critical."""
    page.wait_for_load_state()  # after a click, the next page may still be on its way
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)


@pytest.fixture
def earning(world):
    """A first-orders rule in the staff member's region: two completed orders (usable, expiring
    in 20 days), one still open (pending); a power bank for 500 points; a live lottery."""
    prog = program(world, expiry_policy="days", expiry_days=20)
    campaign = campaigns.running_campaign(
        world, amount="100000.00", purpose="points", regions=[world.region, world.other_region]
    )
    rule(
        world, campaign, prog, regions=[world.region], kind="region_first_n",
        name="First orders in the north", tiers=[{"from": 1, "to": 10, "points": 300}],
    )  # fmt: skip
    now = timezone.now()
    done = [place(world, placed_at=now, external_id=f"WEB-{n}") for n in (1, 2)]
    place(world, placed_at=now, external_id="WEB-OPEN")
    for order in done:
        order_complete(tenant=world.tenant, actor=world.system, order=order)
    power_bank = physical_prize(world, prog)
    draw = lottery(world, prog, cost_points=100, activate=True)
    return prog, power_bank, draw


def test_staff_redeem_and_draw_merchant_sees_it_operator_ships_it(
    browser: Browser, live_server, world, earning
):
    base = live_server.url
    prog, power_bank, draw = earning
    staff_user = world.members[Role.MERCHANT_STAFF].user.username

    # --- the staff member, on a phone ------------------------------------------------------
    page = _phone(browser, base, staff_user)
    _checked(page)
    expect(page.locator("[data-figure=balance]").first).to_have_text("600")
    expect(page.locator("[data-figure=pending]").first).to_have_text("300")
    expect(page.locator("[data-figure=pending-orders]")).to_contain_text("WEB-OPEN")
    expect(page.locator("[data-figure=expiring]")).to_contain_text("600")

    page.get_by_role("link", name="Earn", exact=True).click()
    _checked(page)
    expect(page.locator("main")).to_contain_text("First orders in the north")
    expect(page.locator("main")).to_contain_text(world.region.name)

    page.get_by_role("link", name="Prizes", exact=True).click()
    _checked(page)
    page.get_by_role("link", name=re.compile(power_bank.name)).first.click()
    _checked(page)
    page.get_by_label("Shipping address").fill(ADDRESS)
    page.get_by_role("button", name="Continue").click()
    _checked(page)  # the review page: nothing spent yet
    assert not PrizeRedemption.objects.for_tenant(world.tenant).exists()
    page.get_by_role("button", name=re.compile(r"Confirm: spend 500 points")).click()
    expect(page.locator(".alert-success")).to_contain_text(power_bank.name)
    _checked(page)
    expect(page.locator("main")).to_contain_text("To ship")

    page.get_by_role("link", name="Lottery", exact=True).click()
    _checked(page)
    page.get_by_role("link", name=re.compile(draw.name)).first.click()
    _checked(page)
    expect(page.locator("main")).to_contain_text("50")  # the odds table, before the draw
    page.get_by_role("button", name=re.compile(r"Draw for 100 points")).click()
    page.locator("#confirm-modal").get_by_role("button", name="Draw").click()
    expect(page).to_have_url(re.compile(r"/portal/draws/\d+/"))
    _checked(page)

    for tab in ("History", "Me"):
        page.get_by_role("link", name=tab, exact=True).click()
        _checked(page)
    _visit(page, f"{base}/portal/redemptions/")
    page.close()

    # --- their merchant admin sees both, and the export --------------------------------------
    admin = _phone(browser, base, world.members[Role.MERCHANT_ADMIN].user.username)
    expect(admin).to_have_url(re.compile(r"/portal/staff/"))
    _checked(admin)
    admin.get_by_role("link", name=re.compile(world.staff.name)).first.click()
    _checked(admin)
    expect(admin.locator("main")).to_contain_text(power_bank.name)
    expect(admin.locator("main")).to_contain_text(draw.name)
    admin.get_by_role("link", name="Our staff", exact=True).click()
    with admin.expect_download() as download:
        admin.get_by_role("link", name="Download CSV").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    mine = next(row for row in rows if world.staff.code in row)
    assert "600" in mine  # earned: both completed orders
    admin.close()

    # --- an operator builds a prize and a lottery, then ships the power bank -------------------
    console = browser.new_page(viewport={"width": 1366, "height": 900})
    console.set_default_timeout(15_000)
    log_in(console, base, world.members[Role.OPERATOR].user.username)
    console.goto(f"{base}/console/prizes/new/")
    console.locator("#id_program").select_option(str(prog.pk))
    console.locator("#id_name").fill("Thermos flask")
    console.locator("#id_kind").select_option("physical")
    console.locator("#id_points_cost").fill("800")
    console.locator("#id_value").fill("8.00")
    console.locator("#id_stock").fill("25")
    console.get_by_role("button", name="Create").click()
    expect(console.locator(".alert-success")).to_be_visible()
    assert Prize.objects.for_tenant(world.tenant).filter(name="Thermos flask", stock=25).exists()

    console.goto(f"{base}/console/prizes/lotteries/new/")
    console.locator("#id_program").select_option(str(prog.pk))
    console.locator("#id_name").fill("Weekend spin")
    console.locator("#id_cost_points").fill("40")
    console.locator("#id_outcomes-0-kind").select_option("points")
    console.locator("#id_outcomes-0-points").fill("60")
    console.locator("#id_outcomes-0-percent").fill("25")
    console.locator("#id_outcomes-1-kind").select_option("nothing")
    console.locator("#id_outcomes-1-percent").fill("75")
    expect(console.locator("[data-outcome-sum]")).to_contain_text("100")
    console.get_by_role("button", name="Create draft").click()
    expect(console.locator(".alert-success")).to_be_visible()
    spin = Lottery.objects.for_tenant(world.tenant).get(name="Weekend spin")
    assert [o.probability for o in spin.outcomes.order_by("id")] == [
        Decimal("0.25"), Decimal("0.75"),
    ]  # fmt: skip

    redemption = PrizeRedemption.objects.for_tenant(world.tenant).get(prize=power_bank)
    console.goto(f"{base}/console/prizes/fulfilment/")
    expect(console.locator("main")).to_contain_text(ADDRESS)
    console.locator(f"#carrier-{redemption.pk}").fill("SF Express")
    console.locator(f"#tracking-{redemption.pk}").fill("SF1403926617455")
    console.get_by_role("button", name="Mark shipped").first.click()
    expect(console.locator(".alert-success")).to_be_visible()
    console.close()

    # --- the staff member sees it shipped ---------------------------------------------------
    page = _phone(browser, base, staff_user)
    _visit(page, f"{base}/portal/redemptions/{redemption.pk}/")
    expect(page.locator("main")).to_contain_text("Shipped")
    expect(page.locator("main")).to_contain_text("SF1403926617455")
    page.close()


def test_every_staff_page_in_chinese_is_accessible_on_a_phone(
    browser: Browser, live_server, world, earning
):
    base = live_server.url
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(15_000)
    log_in(page, base, world.members[Role.MERCHANT_STAFF].user.username)
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": base}])
    page.goto(f"{base}/portal/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    _, power_bank, draw = earning
    for path in ("", "earn/", "history/", "prizes/", f"prizes/{power_bank.pk}/", "lotteries/",
                 f"lotteries/{draw.pk}/", "redemptions/", "profile/"):  # fmt: skip
        _visit(page, f"{base}/portal/{path}")
    page.close()
