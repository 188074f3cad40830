"""The console and portal in a real browser (SPEC §7 roles, issue 3 "Done means")."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import ApiKey
from accounts.roles import Role
from accounts.tests.factories import (
    PASSWORD,
    CustomerFactory,
    MembershipFactory,
    MerchantFactory,
    RegionFactory,
    TenantFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/console/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_out(page: Page) -> None:
    page.locator("#main-nav a.dropdown-toggle").last.click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/console/login/"))


def status_of(page: Page, url: str) -> int:
    """The HTTP status of a page opened in the browser."""
    response = page.goto(url)
    assert response is not None  # None only for a same-document (#anchor) navigation
    return response.status


def test_admin_creates_a_regional_operator_who_sees_only_their_regions(
    page: Page, live_server, transactional_db, world
):
    base = live_server.url
    east = RegionFactory(tenant=world.tenant, code="EAST", name="East")
    for region, code in (
        (world.region, "IN-NORTH"),
        (east, "IN-EAST"),
        (world.other_region, "OUT-SOUTH"),
    ):
        MerchantFactory(tenant=world.tenant, region=region, code=f"M-{code}")
        CustomerFactory(tenant=world.tenant, region=region, code=f"C-{code}")

    log_in(page, base, world.members[Role.TENANT_ADMIN].user.username)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto(f"{base}/console/users/")
    page.get_by_role("link", name="New user").click()
    form = page.locator("main form")
    form.get_by_role("textbox", name="Username", exact=True).fill("wang.regional")
    form.get_by_role("textbox", name="E-mail").fill("wang@example.test")
    form.locator("#id_password").fill(PASSWORD)
    form.locator("#id_password_again").fill(PASSWORD)
    page.get_by_label("Role").select_option(Role.REGIONAL_OPERATOR)
    page.get_by_label("Regions", exact=True).select_option([str(world.region.pk), str(east.pk)])
    page.get_by_role("button", name="Create user").click()
    expect(page.locator(".alert-success")).to_contain_text("wang.regional")
    row = page.locator("tr", has_text="wang.regional")
    expect(row).to_contain_text("Regional operator")
    expect(row).to_contain_text("EAST")
    expect(row).to_contain_text(world.region.code)
    log_out(page)

    log_in(page, base, "wang@example.test")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    nav = page.locator("#main-nav")
    expect(nav.get_by_role("link", name="Customers", include_hidden=True)).to_have_count(1)
    expect(nav.get_by_role("link", name="Users & roles", include_hidden=True)).to_have_count(0)
    expect(nav.get_by_role("link", name="API keys", include_hidden=True)).to_have_count(0)

    page.goto(f"{base}/console/customers/")
    results = page.locator("#results")
    expect(results).to_contain_text("C-IN-NORTH")
    expect(results).to_contain_text("C-IN-EAST")
    expect(results).not_to_contain_text("C-OUT-SOUTH")
    # The filter bar narrows the list in place (HTMX) and keeps the filter in the address.
    page.locator(".filter-bar input[name=q]").fill("EAST")
    expect(page).to_have_url(re.compile(r"[?&]q=EAST"))
    expect(results).to_contain_text("C-IN-EAST")
    expect(results).not_to_contain_text("C-IN-NORTH")
    page.goto(f"{base}/console/merchants/")
    expect(results).to_contain_text("M-IN-NORTH")
    expect(results).to_contain_text("M-IN-EAST")
    expect(results).not_to_contain_text("M-OUT-SOUTH")

    assert status_of(page, f"{base}/console/users/") == 403
    assert status_of(page, f"{base}/console/api-keys/") == 403
    assert status_of(page, f"{base}/console/merchants/M-OUT-SOUTH/") == 404
    assert status_of(page, f"{base}/console/customers/C-OUT-SOUTH/edit/") == 404


def test_language_switch_shows_chinese(page: Page, live_server, transactional_db, world):
    base = live_server.url
    log_in(page, base, world.members[Role.TENANT_ADMIN].user.username)
    page.goto(f"{base}/console/users/")
    page.get_by_role("button", name="Language").click()
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户与角色")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("link", name="新建用户")).to_be_visible()
    page.get_by_role("button", name="语言").click()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users & roles")


def test_user_of_two_tenants_picks_a_tenant_after_login(
    page: Page, live_server, transactional_db, world
):
    base = live_server.url
    member = world.members[Role.OPERATOR]
    second = TenantFactory(slug="second", name="Second Company")
    MembershipFactory(tenant=second, user=member.user, role=Role.AUDITOR)

    log_in(page, base, member.user.username)
    expect(page).to_have_url(re.compile(r"/console/tenant/"))
    expect(page.get_by_role("heading", name="Choose a tenant")).to_be_visible()
    page.get_by_role("button", name="Open Second Company").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator(".tenant-pill")).to_contain_text("Second Company")
    expect(page.locator(".alert-success")).to_contain_text("Second Company")
    # Switching back goes through the same picker.
    page.locator(".tenant-pill").get_by_role("link", name="Switch").click()
    page.get_by_role("button", name=f"Open {world.tenant.name}").click()
    expect(page.locator(".tenant-pill")).to_contain_text(world.tenant.name)


def test_api_key_is_shown_once(page: Page, live_server, transactional_db, world):
    base = live_server.url
    log_in(page, base, world.members[Role.TENANT_ADMIN].user.username)
    page.goto(f"{base}/console/api-keys/")
    page.get_by_role("link", name="New API key").click()
    page.get_by_label("Name").fill("ERP order sync")
    page.get_by_label("Coupons").uncheck()
    page.get_by_role("button", name="Create key").click()

    expect(page.get_by_role("heading", name="API key created")).to_be_visible()
    key = page.get_by_test_id("api-key").input_value()
    assert key.startswith("pk_")
    api_key = ApiKey.objects.for_tenant(world.tenant).get(name="ERP order sync")
    assert api_key.key_hash == ApiKey.digest(key)
    assert "coupons" not in api_key.scopes

    page.get_by_role("link", name="I have copied the key").click()
    row = page.locator("tr", has_text="ERP order sync")
    expect(row).to_contain_text(api_key.prefix)
    assert key not in page.content()

    page.goto(f"{base}/console/api-keys/")
    row.get_by_role("button", name="Revoke").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("ERP order sync")
    dialog.get_by_role("button", name="Revoke").click()
    expect(page.locator(".alert-success")).to_contain_text("revoked")
    expect(page.locator("tr", has_text="ERP order sync")).to_contain_text("Revoked")
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_merchant_staff_lands_in_the_portal_on_a_phone(
    page: Page, live_server, transactional_db, world
):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, world.members[Role.MERCHANT_STAFF].user.username)
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("heading", name="My points")).to_be_visible()
    page.get_by_role("link", name="Me", exact=True).click()
    expect(page.get_by_role("heading", name="My profile")).to_be_visible()
    expect(page.locator(".profile-card")).to_contain_text(world.staff.name)
    expect(page.locator(".profile-card")).to_contain_text(world.merchant.name)
