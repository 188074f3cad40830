"""The operator's flow in a real browser: design a batch with the live preview, activate it,
upload a CSV of 1,000 customers with 3 bad rows, watch the progress bar finish (a real worker
runs the job), download the error report."""

import pytest
from playwright.sync_api import expect

from accounts.models import Customer
from accounts.roles import Role
from accounts.tests.factories import PASSWORD
from coupons.models import Coupon, CouponBatch
from coupons.tests.factories import running_campaign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("concurrency"),
]


def test_create_activate_upload_and_download_the_report(
    browser, live_server, world, own_worker, tmp_path
):
    campaign = running_campaign(world)
    Customer.objects.bulk_create(
        Customer(tenant=world.tenant, code=f"B{i:05d}", region=world.region) for i in range(997)
    )
    rows = [f"B{i:05d}" for i in range(997)]
    rows[10:10] = ["GHOST-1"]
    rows[500:500] = ["GHOST-2", "GHOST-3"]
    upload = tmp_path / "customers.csv"
    upload.write_text("customer\n" + "\n".join(rows) + "\n")
    own_worker.start()

    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto("/console/login/")
    page.fill("input[name=username]", world.members[Role.OPERATOR].user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("#main").get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console/")

    page.goto(f"/console/coupons/new/?campaign={campaign.pk}")
    page.fill("input[name=name]", "Warm-up coupon")
    page.select_option("select[name=kind]", "amount_off")
    page.fill("input[name=value]", "20")
    page.fill("input[name=threshold]", "100")
    page.fill("input[name=valid_days]", "7")
    page.fill("input[name=quantity]", "2000")
    expect(page.locator("#preview-text")).to_contain_text("20.00 off orders of 100.00 or more")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("h1")).to_contain_text("Warm-up coupon")

    page.get_by_role("button", name="Activate").click()
    page.locator("#confirm-modal [data-confirm-ok]").click()
    expect(page.locator("#stat-reserved")).to_have_text("40000.00")

    page.get_by_role("tab", name="Upload").click()
    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Upload and issue").click()
    expect(page.locator("#job-counts")).to_have_text("1000 of 1000 rows, 3 failed", timeout=120_000)
    expect(page.locator(".progress-bar")).to_have_text("100%")

    with page.expect_download() as download:
        page.locator("#error-report").click()
    report = download.value.path().read_text().splitlines()
    assert report == [
        "row,value,reason,detail,message",
        "11,GHOST-1,unknown_customer,,No customer has this code.",
        "501,GHOST-2,unknown_customer,,No customer has this code.",
        "502,GHOST-3,unknown_customer,,No customer has this code.",
    ]
    batch = CouponBatch.objects.for_tenant(world.tenant).get(name="Warm-up coupon")
    assert Coupon.objects.for_tenant(world.tenant).filter(batch=batch).count() == 997
    context.close()
