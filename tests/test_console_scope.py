"""A scoped user never sees a row outside their data scope on a console or portal page (SPEC §7).

The console twin of tests/test_tenant_isolation.py. Two tenants are filled with the same rich
set of rows; in the first tenant the rows sit in two regions, two business units and two
merchants. Every row's codes, names and external ids carry a marker of where it sits:

    INSIDE         the regional operator's region (a zone below it), the business-unit admin's
                   unit, the merchant admin's merchant
    OUTSIDE        the tenant's other region (a zone below it)
    OTHERBU        the tenant's other business unit (in the regional operator's region)
    OTHERMERCHANT  a second merchant in the regional operator's region
    OTHERTENANT    anything of the second tenant

Rows that belong to no region (programs, prizes, segments, the campaign and batch targeting
both regions) carry no marker. The pages come from the URL resolver: every page below
/console/ and /portal/ without path parameters, so a page added later is walked without editing
this file. Each scoped user GETs each page and fails on an out-of-scope marker in the HTML; the
page's search and filter boxes are then filled with every code of the tenant; and the links the
tenant admin sees on those pages (detail pages of every row, in scope or not) are opened by the
scoped user too, and must answer 404/403 or show nothing out of scope. The user's own rows must
show up where they are listed, so a page that shows nothing can't pass for a scoped one.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from urllib.parse import urlencode

import pytest
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from accounts.models import Region
from accounts.roles import Role
from accounts.tests.factories import CustomerFactory, MerchantFactory, StaffFactory
from budgets.tests.factories import approved_budget
from campaigns import services as campaign_services
from campaigns.models import Campaign, CampaignStatus, Channel
from coupons import services as coupon_services
from coupons.models import Coupon
from coupons.tests.factories import batch_fields
from orders.services import OrderFacts, order_place
from points import services as points_services
from points.models import PointsAccount
from points.tests.factories import program as points_program
from redemption import services as prize_services
from redemption.tests.factories import prize as make_prize

pytestmark = pytest.mark.django_db

PREFIXES = ("console/", "portal/")

# Who is walked, and which markers lie outside their scope.
OUT_OF_SCOPE = {
    Role.REGIONAL_OPERATOR: ("OUTSIDE", "OTHERTENANT"),
    Role.BU_ADMIN: ("OTHERBU", "OTHERTENANT"),
    Role.MERCHANT_ADMIN: ("OUTSIDE", "OTHERMERCHANT", "OTHERTENANT"),
}


# --- the pages ------------------------------------------------------------------------------------


def _has_params(entry) -> bool:
    pattern = entry.pattern
    if isinstance(pattern, RoutePattern):
        return bool(pattern.converters)
    return isinstance(pattern, RegexPattern) and pattern.regex.groups > 0


def _text(entry) -> str:
    raw = str(entry.pattern)
    if isinstance(entry.pattern, RegexPattern):
        raw = raw.lstrip("^").rstrip("$")
    return raw


def _walk(patterns, prefix=""):
    """(path, has path parameters) of every URL pattern at or below the console and portal."""
    for entry in patterns:
        path = prefix + _text(entry)
        on_the_way = any(path.startswith(p) or p.startswith(path) for p in PREFIXES)
        if isinstance(entry, URLResolver) and on_the_way:
            if _has_params(entry):
                continue
            yield from _walk(entry.url_patterns, path)
        elif isinstance(entry, URLPattern) and path.startswith(PREFIXES):
            yield "/" + path, _has_params(entry)


def pages() -> list[str]:
    """Console and portal pages without path parameters."""
    return sorted(path for path, params in _walk(get_resolver().url_patterns) if not params)


LINK = re.compile(r'href="(/(?:console|portal)/[^"#?]*)')


def detail_links(html: str) -> set[str]:
    """Links to console or portal pages with path parameters (detail pages)."""
    found = set()
    for path in LINK.findall(unescape(html)):
        try:
            match = resolve(path)
        except Resolver404:  # a link to a static file or the like: no detail page
            continue
        if match.kwargs:
            found.add(path)
    return found


GET_FORM = re.compile(r"<form\b(?=[^>]*method=\"get\")[^>]*>(.*?)</form>", re.I | re.S)
INPUT = re.compile(r"<input\b[^>]*>", re.I)
NOT_TYPED = {"hidden", "date", "datetime-local", "number", "checkbox", "radio", "submit"}


def search_fields(html: str) -> set[str]:
    """Names of the free-text boxes of the page's GET forms (search and filter boxes)."""
    names = set()
    for form in GET_FORM.findall(html):
        for tag in INPUT.findall(form):
            name = re.search(r'name="([^"]+)"', tag)
            kind = re.search(r'type="([^"]+)"', tag)
            if name and (kind is None or kind.group(1).lower() not in NOT_TYPED):
                names.add(name.group(1))
    return names


def markers_in(html: str, markers) -> set[str]:
    return {m for m in markers if m in html}


# --- the data -------------------------------------------------------------------------------------


def _campaign(world, *, name, budget, regions):
    now = timezone.now()
    operator = world.actor(Role.OPERATOR)
    campaign = campaign_services.campaign_create(
        tenant=world.tenant,
        actor=operator,
        name=name,
        budget=budget,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=10),
        regions=regions,
        channels=list(Channel.objects.for_tenant(world.tenant).filter(code="app")),
    )
    return campaign_services.campaign_schedule(
        tenant=world.tenant, actor=operator, campaign=campaign, acknowledge_warnings=True
    )


def _batch(world, campaign, *, name, prefix):
    operator = world.actor(Role.OPERATOR)
    batch = coupon_services.batch_create(
        tenant=world.tenant,
        actor=operator,
        campaign=campaign,
        **batch_fields(name=name, per_customer_limit=10, code_prefix=prefix),
    )
    return coupon_services.batch_activate(tenant=world.tenant, actor=operator, batch=batch)


def populate(world, tags: dict[str, str]) -> list[str]:
    """The rows of one tenant, each named with the marker of where it sits (`tags` maps
    INSIDE/OUTSIDE/OTHERBU/OTHERMERCHANT to the marker this tenant uses for them)."""
    t = world.tenant
    inside, outside, other_bu, other_merchant = (
        tags[k] for k in ("INSIDE", "OUTSIDE", "OTHERBU", "OTHERMERCHANT")
    )
    operator = world.actor(Role.OPERATOR)
    admin = world.actor(Role.TENANT_ADMIN)

    # Customers and merchants sit on zones below the two provinces.
    zone_in = Region.objects.create(
        tenant=t, code=f"{inside}-ZONE-N", name=f"{inside} zone", parent=world.region
    )
    zone_out = Region.objects.create(
        tenant=t, code=f"{outside}-ZONE-S", name=f"{outside} zone", parent=world.other_region
    )
    merchant_in = world.merchant
    merchant_in.code, merchant_in.name = f"{inside}-M1", f"{inside} merchant"
    merchant_in.save()
    staff_in = world.staff
    staff_in.code, staff_in.name = f"{inside}-S1", f"{inside} staff"
    staff_in.save()
    merchant_two = MerchantFactory(
        tenant=t, region=zone_in, code=f"{other_merchant}-M2", name=f"{other_merchant} merchant"
    )
    staff_two = StaffFactory(
        tenant=t, merchant=merchant_two, code=f"{other_merchant}-S2", name=f"{other_merchant} st"
    )
    merchant_out = MerchantFactory(
        tenant=t, region=zone_out, code=f"{outside}-M3", name=f"{outside} merchant"
    )
    staff_out = StaffFactory(
        tenant=t, merchant=merchant_out, code=f"{outside}-S3", name=f"{outside} staff"
    )
    customer_in = CustomerFactory(
        tenant=t, region=zone_in, code=f"{inside}-C1", name=f"{inside} customer"
    )
    customer_out = CustomerFactory(
        tenant=t, region=zone_out, code=f"{outside}-C2", name=f"{outside} customer"
    )

    # Budgets of both units; a campaign for both regions, one for the other region only, one of
    # the other unit in the operator's region. Budgets have no region: their names carry only
    # the unit's marker.
    shared_budget = approved_budget(world, name="Shared budget", amount="100000.00")
    outside_budget = approved_budget(world, name="Second budget", amount="100000.00")
    other_bu_budget = approved_budget(
        world, name=f"{other_bu} budget", amount="100000.00", unit=world.other_unit
    )
    both = _campaign(
        world, name="Both regions", budget=shared_budget, regions=[world.region, world.other_region]
    )
    out_campaign = _campaign(
        world, name=f"{outside} campaign", budget=outside_budget, regions=[world.other_region]
    )
    bu_campaign = _campaign(
        world, name=f"{other_bu} campaign", budget=other_bu_budget, regions=[world.region]
    )
    batch_both = _batch(world, both, name="Both batch", prefix="BOTH")
    batch_out = _batch(world, out_campaign, name=f"{outside} batch", prefix=outside[:8])
    batch_bu = _batch(world, bu_campaign, name=f"{other_bu} batch", prefix=other_bu[:8])

    # Redemptions: only the first lies wholly inside the regional operator's regions.
    redemptions = [
        (batch_both, customer_in, merchant_in, zone_in, f"{inside}-ORD-1"),
        (batch_both, customer_out, merchant_out, zone_out, f"{outside}-ORD-2"),
        (batch_both, customer_in, merchant_out, zone_out, f"{outside}-MERCHANT-ORD-3"),
        (batch_both, customer_out, merchant_in, zone_in, f"{outside}-CUSTOMER-ORD-4"),
        (batch_out, customer_out, merchant_out, zone_out, f"{outside}-ORD-5"),
        (batch_bu, customer_in, merchant_two, zone_in, f"{other_bu}-ORD-6"),
    ]
    for batch, customer, merchant, region, order in redemptions:
        coupon = coupon_services.coupon_issue(
            tenant=t, actor=operator, batch=batch, customer=customer
        )
        assert coupon.code is not None  # an issued coupon carries its code
        coupon_services.coupon_redeem(
            tenant=t,
            actor=operator,
            code=coupon.code,
            customer=customer,
            order=order,
            amount=Decimal("150.00"),
            merchant=merchant,
            region=region,
        )
    for batch, customer in ((batch_both, customer_in), (batch_both, customer_out)):
        coupon_services.coupon_issue(tenant=t, actor=operator, batch=batch, customer=customer)

    # Jobs, automatic rules, the blocklist and a campaign's fraud limit.
    for batch in (batch_both, batch_out, batch_bu):
        coupon_services.issuance_job_create(
            tenant=t, actor=operator, batch=batch, customers=[customer_in.code]
        )
        coupon_services.issuance_rule_create(
            tenant=t, actor=operator, batch=batch, event="registration"
        )
    coupon_services.issuance_job_create(
        tenant=t,
        actor=operator,
        batch=batch_both,
        file_name="customers.csv",
        file_content=f"customer\n{customer_out.code}\n".encode(),
    )
    coupon_services.segment_create(tenant=t, actor=operator, name="Everyone", filters={})
    coupon_services.customer_block(
        tenant=t, actor=operator, customer=customer_out, reason=f"{outside} reason"
    )
    coupon_services.fraud_settings_update(
        tenant=t,
        actor=admin,
        customer_daily=50,
        fingerprint_customers=50,
        campaign_limits={out_campaign: 7, bu_campaign: 8},
    )

    # Points: rules per region, orders earning them, accounts of every staff member.
    program = points_program(world, name="Staff points")
    points_budget = approved_budget(world, name="Points budget", amount="1000.00", purpose="points")
    points_campaign = Campaign.objects.create(
        tenant=t,
        name="Points for both",
        business_unit=points_budget.business_unit,
        budget=points_budget,
        starts_at=datetime(2026, 11, 1, tzinfo=UTC),
        ends_at=datetime(2026, 12, 1, tzinfo=UTC),
        status=CampaignStatus.RUNNING,
    )
    points_campaign.regions.set([world.region, world.other_region])
    for name, region in ((f"{inside} rule", world.region), (f"{outside} rule", world.other_region)):
        points_services.rule_create(
            tenant=t,
            actor=operator,
            campaign=points_campaign,
            program=program,
            regions=[region],
            name=name,
            kind="per_order",
            points=10,
        )
    for staff, region, order in (
        (staff_in, zone_in, f"{inside}-ORDER-7"),
        (staff_two, zone_in, f"{other_merchant}-ORDER-8"),
        (staff_out, zone_out, f"{outside}-ORDER-9"),
    ):
        order_place(
            tenant=t,
            actor=world.system,
            facts=OrderFacts(
                external_id=order,
                merchant=staff.merchant,
                staff=staff,
                region=region,
                amount=Decimal("100.00"),
                placed_at=datetime(2026, 11, 11, 2, 0, tzinfo=UTC),
                customer=customer_in if region == zone_in else customer_out,
            ),
        )
    prize = make_prize(world, program, name="Phone top-up", points_cost=100, value=Decimal("1.00"))
    for staff, tag in ((staff_in, inside), (staff_two, other_merchant), (staff_out, outside)):
        account = points_services.account_for_holder(tenant=t, program=program, holder=staff)
        points_services.points_adjust(
            tenant=t, actor=operator, account=account, points=500, reason=f"{tag} bonus"
        )
        prize_services.prize_redeem(tenant=t, actor=world.system, staff=staff, prize=prize)
    # What a user may type into a search box: every code of the tenant, in scope or not.
    rows = (customer_in, customer_out, merchant_in, merchant_two, merchant_out)
    return [row.code for row in (*rows, staff_in, staff_two, staff_out)]


MARKERS = ("INSIDE", "OUTSIDE", "OTHERBU", "OTHERMERCHANT")


@pytest.fixture
def scoped(world, other_world):
    codes = populate(world, {m: m for m in MARKERS})
    world.search_terms = [*codes, *MARKERS[1:], "OTHERTENANT"]
    populate(other_world, dict.fromkeys(MARKERS, "OTHERTENANT"))
    return world


# --- the test -------------------------------------------------------------------------------------


def _get(client, path):
    response = client.get(path)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body.decode(errors="replace")


def test_the_walk_finds_the_pages():
    found = pages()
    assert "/console/coupons/redemptions/" in found and "/portal/staff/" in found
    assert not any("<" in p for p in found), "pages with path parameters are left out"


@pytest.mark.parametrize("role", list(OUT_OF_SCOPE))
def test_every_page_shows_only_the_users_scope(scoped, role):
    world = scoped
    markers = OUT_OF_SCOPE[role]
    client = world.console_client(role)
    admin = world.console_client(Role.TENANT_ADMIN)

    failures, inside_on, links = [], set(), set()
    for path in pages():
        response, html = _get(client, path)
        if response.status_code >= 500:
            failures.append(f"GET {path} → {response.status_code}")
        if found := markers_in(html, markers):
            failures.append(f"GET {path} → {response.status_code}: shows {sorted(found)}")
        if response.status_code == 200 and "INSIDE" in html:
            inside_on.add(path)
        # Searched and filtered by any code of the tenant, the page still shows only the scope.
        for field in sorted(search_fields(html) if response.status_code == 200 else ()):
            for term in world.search_terms:
                query = urlencode({field: term})
                searched, found_html = _get(client, f"{path}?{query}")
                # The page repeats what was typed (the box, pagination links): that's no row.
                found_html = found_html.replace(f'value="{term}"', "").replace(query, "")
                if searched.status_code >= 500 or (found := markers_in(found_html, markers)):
                    failures.append(
                        f"GET {path}?{field}={term} → {searched.status_code}: shows {sorted(found)}"
                    )
                    break  # one term per box is enough to show the leak
        admin_response, admin_html = _get(admin, path)
        if admin_response.status_code == 200:
            links |= detail_links(admin_html)

    # Detail pages: what the tenant admin can open from a list, the scoped user opens too.
    assert links, "the tenant admin's pages link to detail pages"
    for path in sorted(links):
        response, html = _get(client, path)
        if response.status_code >= 500:
            failures.append(f"GET {path} → {response.status_code}")
        elif response.status_code == 200 and (found := markers_in(html, markers)):
            failures.append(f"GET {path} (detail) → 200: shows {sorted(found)}")

    assert not failures, f"{role}:\n" + "\n".join(failures)
    # The detector works: the user's own rows do show up where they are listed.
    expected = {
        Role.REGIONAL_OPERATOR: {
            "/console/coupons/redemptions/",
            "/console/customers/",
            "/console/merchants/",
            "/console/points/accounts/",
            "/console/reports/reconciliation/",
        },
        Role.BU_ADMIN: {
            "/console/coupons/redemptions/",
            "/console/customers/",
            "/console/reports/reconciliation/",
        },
        Role.MERCHANT_ADMIN: {"/portal/staff/"},
    }[role]
    assert expected <= inside_on, f"{role}: own rows missing on {sorted(expected - inside_on)}"


def test_the_redemptions_page_lists_a_regional_operators_own_redemptions(scoped):
    client = scoped.console_client(Role.REGIONAL_OPERATOR)
    _response, html = _get(client, "/console/coupons/redemptions/")
    assert "INSIDE-ORD-1" in html and "OTHERBU-ORD-6" in html
    assert "OUTSIDE" not in html


def test_the_api_scopes_a_customers_coupons_as_the_console_does(scoped):
    """GET /customers/{code}/coupons goes through the selector the console's lookup uses."""

    def codes(role, customer):
        response = scoped.client(role).get(f"/api/v1/customers/{customer}/coupons")
        return response.status_code, [row["code"] for row in response.json().get("results", [])]

    status, admin_codes = codes(Role.TENANT_ADMIN, "INSIDE-C1")
    assert status == 200 and any(c.startswith("OTHERBU") for c in admin_codes)
    status, unit_codes = codes(Role.BU_ADMIN, "INSIDE-C1")
    assert status == 200 and unit_codes and not any(c.startswith("OTHERBU") for c in unit_codes)
    assert codes(Role.REGIONAL_OPERATOR, "OUTSIDE-C2")[0] == 404


def test_a_regional_operator_opens_no_detail_page_of_another_region(scoped):
    t = scoped.tenant
    coupon = Coupon.objects.for_tenant(t).filter(customer__code="OUTSIDE-C2").first()
    account = PointsAccount.objects.for_tenant(t).filter(staff__code="OUTSIDE-S3").first()
    client = scoped.console_client(Role.REGIONAL_OPERATOR)
    for path in (
        f"/console/coupons/coupon/{coupon.pk}/",
        "/console/customers/OUTSIDE-C2/edit/",
        "/console/merchants/OUTSIDE-M3/",
        "/console/staff/OUTSIDE-S3/edit/",
        f"/console/points/accounts/{account.pk}/",
    ):
        assert client.get(path).status_code == 404, path
