"""The merchant admin's view of their staff (SPEC §5, merchant view): exact figures, scope,
paging and sorting, the CSV and XLSX export, and a fixed number of queries however many staff
and entries there are."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.roles import Role
from accounts.tests.factories import MerchantFactory, StaffFactory
from orders.services import order_complete
from points.models import EntryKind, LedgerEntry, Lot, LotStatus
from points.tests.factories import place, program, rule, running_campaign, staff_with_history
from redemption import services as redemption_services
from redemption.tests.factories import give_points, lottery, prize
from reports.selectors import STAFF_FIGURES, merchant_staff_overview, merchant_staff_totals

pytestmark = pytest.mark.django_db

R = Role
LIST = reverse("portal:staff_list")


def _earn(world, prog, staff, *, orders: int, completed: int):
    """`orders` orders of 100 points each for the staff member; the first `completed` complete."""
    for n in range(orders):
        order = place(world, staff=staff)
        if n < completed:
            order_complete(tenant=world.tenant, actor=world.system, order=order)


def _lots_of(world, staff):
    return Lot.objects.for_tenant(world.tenant).filter(account__staff=staff)


@pytest.fixture
def shop(world):
    """A merchant with three staff (alice busy, bob pending only, carol idle), a colleague
    merchant's staff member (dave) and the figures each should show."""
    prog = program(world)
    rule(world, running_campaign(world), prog, kind="per_order", points=100)
    operator = world.actor(R.OPERATOR)
    alice = world.staff
    alice.name, alice.phone = "Alice Wang", "13800000001"
    alice.save()
    bob = StaffFactory(tenant=world.tenant, merchant=world.merchant, name="Bob Li", phone="139")
    carol = StaffFactory(tenant=world.tenant, merchant=world.merchant, name="Carol Zhou")
    dave = StaffFactory(tenant=world.tenant, merchant=MerchantFactory(tenant=world.tenant))

    _earn(world, prog, alice, orders=3, completed=2)  # lifetime 300: 200 usable, 100 pending
    give_points(world, prog, alice, 1000)  # usable 1,200; not earned from orders
    phone = prize(world, prog, points_cost=500, value=Decimal("5.00"))
    redemption_services.prize_redeem(tenant=world.tenant, actor=operator, staff=alice, prize=phone)
    draw_for_nothing = lottery(
        world, prog, cost_points=100,
        outcomes=[{"kind": "nothing", "probability": Decimal("1")}], activate=True,
    )  # fmt: skip
    redemption_services.lottery_draw(
        tenant=world.tenant, actor=operator, lottery=draw_for_nothing, staff=alice
    )
    mug = prize(world, prog, name="Mug", points_cost=200, value=Decimal("2.00"))
    taken_back = redemption_services.prize_redeem(
        tenant=world.tenant, actor=operator, staff=alice, prize=mug
    )
    redemption_services.redemption_cancel(
        tenant=world.tenant, actor=operator, redemption=taken_back
    )
    # Spent 500 + 100 + 200, 200 refunded: 600 spent, 600 usable. The refund's lot (200) is the
    # one due within 30 days; a pending lot due sooner is not usable, so not "expiring".
    now = timezone.now()
    _lots_of(world, alice).update(expires_at=now + timedelta(days=60))
    _lots_of(world, alice).filter(entry__kind=EntryKind.REFUND).update(
        expires_at=now + timedelta(days=10)
    )
    _lots_of(world, alice).filter(status=LotStatus.PENDING).update(
        expires_at=now + timedelta(days=5)
    )

    _earn(world, prog, bob, orders=1, completed=0)
    _earn(world, prog, dave, orders=2, completed=2)

    def last_entry(staff):
        entry = LedgerEntry.objects.for_tenant(world.tenant).filter(account__staff=staff).first()
        return entry.created_at if entry else None

    expected = {
        alice.code: dict(earned=300, pending=100, spent=600, balance=600, expiring=200,
                         redemptions=1, draws=1, last_activity=last_entry(alice)),
        bob.code: dict(earned=100, pending=100, spent=0, balance=0, expiring=0,
                       redemptions=0, draws=0, last_activity=last_entry(bob)),
        carol.code: dict(earned=0, pending=0, spent=0, balance=0, expiring=0,
                         redemptions=0, draws=0, last_activity=None),
    }  # fmt: skip
    world.alice, world.bob, world.carol, world.dave = alice, bob, carol, dave
    world.expected = expected
    return world


def _figures(row) -> dict:
    return {name: getattr(row, name) for name in (*STAFF_FIGURES, "last_activity")}


def _page_figures(body: str, code: str) -> dict:
    """The figures of one staff member's table row on the overview page."""
    row = re.search(rf'<tr data-staff="{re.escape(code)}">(.*?)</tr>', body, re.S)
    assert row, f"no row for {code}"
    cells = re.findall(r'data-figure="(\w+)">([^<]*)<', row.group(1))
    return {name: int(value.replace(",", "")) for name, value in cells}


# --- the figures --------------------------------------------------------------------------------


def test_each_staff_members_figures_are_exact(shop):
    admin = shop.actor(R.MERCHANT_ADMIN)
    rows = {s.code: _figures(s) for s in merchant_staff_overview(tenant=shop.tenant, actor=admin)}
    assert rows == shop.expected  # dave (another merchant) is not there


def test_totals_sum_each_column_in_one_query(shop, django_assert_num_queries):
    admin = shop.actor(R.MERCHANT_ADMIN)
    with django_assert_num_queries(1):
        totals = merchant_staff_totals(tenant=shop.tenant, actor=admin)
    assert totals == {
        "staff": 3, "earned": 400, "pending": 200, "spent": 600, "balance": 600,
        "expiring": 200, "redemptions": 1, "draws": 1,
        "last_activity": max(v["last_activity"] for v in shop.expected.values() if v["last_activity"]),
    }  # fmt: skip


def test_the_overview_is_one_query(shop, django_assert_num_queries):
    admin = shop.actor(R.MERCHANT_ADMIN)
    with django_assert_num_queries(1):
        rows = [_figures(s) for s in merchant_staff_overview(tenant=shop.tenant, actor=admin)]
    assert len(rows) == 3


def test_search_by_name_code_or_phone(shop):
    admin = shop.actor(R.MERCHANT_ADMIN)

    def found(q):
        rows = merchant_staff_overview(tenant=shop.tenant, actor=admin, filters={"q": q})
        return [s.code for s in rows]

    assert found("alice") == [shop.alice.code]
    assert found(shop.bob.code.lower()) == [shop.bob.code]
    assert found("1380000") == [shop.alice.code]
    assert found(shop.dave.code) == []  # the search never widens the scope


def test_sorts_come_from_a_whitelist(shop):
    admin = shop.actor(R.MERCHANT_ADMIN)
    alice, bob, carol = shop.alice.code, shop.bob.code, shop.carol.code

    def order(sort):
        rows = merchant_staff_overview(tenant=shop.tenant, actor=admin, filters={"sort": sort})
        return [s.code for s in rows]

    assert order("-earned") == [alice, bob, carol]
    assert order("earned") == [carol, bob, alice]
    assert order("-balance")[0] == alice
    assert order("-last_activity") == [bob, alice, carol]  # no activity yet sorts last
    assert order("last_activity") == [alice, bob, carol]
    assert order("name") == [alice, bob, carol]
    client = shop.console_client(R.MERCHANT_ADMIN)
    for junk in ("pk); DROP TABLE x", "-user__password", "tenant"):
        response = client.get(LIST, {"sort": junk})
        assert response.status_code == 200
        assert [s.code for s in response.context["page"]] == [alice, bob, carol]


# --- the pages ----------------------------------------------------------------------------------


def test_overview_page_shows_totals_and_each_staff_members_figures(shop):
    response = shop.console_client(R.MERCHANT_ADMIN).get(LIST)
    assert response.status_code == 200
    body = response.content.decode()
    for code, figures in shop.expected.items():
        expected = {k: v for k, v in figures.items() if k != "last_activity"}
        assert _page_figures(body, code) == expected
        assert reverse("portal:staff_detail", args=[code]) in body
    assert shop.dave.code not in body
    assert re.search(r'data-total="balance">600<', body)
    assert re.search(r'data-total="staff">3<', body)
    assert 'data-layout="cards"' in body and 'data-layout="table"' in body
    assert reverse("portal:staff_export", args=["csv"]) in body
    assert reverse("portal:staff_export", args=["xlsx"]) in body


def test_overview_pages_through_many_staff(world):
    StaffFactory.create_batch(30, tenant=world.tenant, merchant=world.merchant)
    client = world.console_client(R.MERCHANT_ADMIN)
    first = client.get(LIST)
    assert len(first.context["page"]) == 25 and first.context["page"].paginator.count == 31
    second = client.get(LIST, {"page": 2})
    assert len(second.context["page"]) == 6
    assert "?page=2" in first.content.decode()


def test_drill_down_shows_the_figures_history_redemptions_and_draws(shop):
    client = shop.console_client(R.MERCHANT_ADMIN)
    response = client.get(reverse("portal:staff_detail", args=[shop.alice.code]))
    assert response.status_code == 200
    body = response.content.decode()
    staff = response.context["staff"]
    assert _figures(staff) == shop.expected[shop.alice.code]
    for name in ("earned", "pending", "spent", "balance", "expiring"):
        shown = re.search(rf'data-figure="{name}">([^<]*)<', body).group(1)
        assert int(shown.replace(",", "")) == shop.expected[shop.alice.code][name]
    assert "Phone top-up" in body and "Mug" in body  # the cancelled redemption shows too
    assert "Climax lottery" in body and "Nothing won" in body
    history = response.context["page"]
    assert (
        history.paginator.count
        == LedgerEntry.objects.for_tenant(shop.tenant).filter(account__staff=shop.alice).count()
    )
    assert len(response.context["redemptions"]) == 2 and len(response.context["draws"]) == 1


def test_drill_down_pages_redemptions_and_draws_each_on_its_own(world):
    program(world)
    _give_redemptions_and_draws(world, 12)
    client = world.console_client(R.MERCHANT_ADMIN)
    url = reverse("portal:staff_detail", args=[world.staff.code])
    first = client.get(url, {"draws_page": 2})
    redemptions, draws = first.context["redemptions"], first.context["draws"]
    assert (len(redemptions), redemptions.paginator.count, len(draws)) == (10, 12, 2)
    assert "redemptions_page=2" in redemptions.next_url and "draws_page=2" in redemptions.next_url
    assert "draws_page=1" in draws.previous_url and not draws.next_url
    second = client.get(url + redemptions.next_url)
    assert len(second.context["redemptions"]) == 2 and len(second.context["draws"]) == 2


# --- scope --------------------------------------------------------------------------------------


def test_a_colleague_merchants_or_another_tenants_staff_is_not_found(shop, other_world):
    client = shop.console_client(R.MERCHANT_ADMIN)
    for code in (shop.dave.code, other_world.staff.code, "NOBODY"):
        assert client.get(reverse("portal:staff_detail", args=[code])).status_code == 404
    assert other_world.staff.code not in client.get(LIST).content.decode()
    theirs = other_world.console_client(R.MERCHANT_ADMIN).get(LIST)
    assert [s.code for s in theirs.context["page"]] == [other_world.staff.code]
    assert shop.alice.code not in theirs.content.decode()


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("portal:staff_list", []),
        ("portal:staff_export", ["csv"]),
        ("portal:staff_export", ["xlsx"]),
    ],
)
def test_merchant_staff_may_not_open_the_merchant_view(shop, name, args):
    client = shop.console_client(R.MERCHANT_STAFF)
    assert client.get(reverse(name, args=args)).status_code == 403


def test_merchant_staff_may_not_drill_down_even_into_themself(shop):
    client = shop.console_client(R.MERCHANT_STAFF)
    assert client.get(reverse("portal:staff_detail", args=[shop.alice.code])).status_code == 403


@pytest.mark.parametrize("role", [R.TENANT_ADMIN, R.OPERATOR, R.AUDITOR])
def test_console_roles_are_sent_to_the_console(shop, role):
    response = shop.console_client(role).get(LIST)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:home")


# --- the export ---------------------------------------------------------------------------------

HEADER = [
    "Code", "Name", "Phone", "Active", "Earned", "Pending", "Spent", "Balance",
    "Expiring in 30 days", "Redemptions", "Draws", "Last activity",
]  # fmt: skip
NUMBERS = slice(4, 11)


def _expected_row(world, code):
    figures = world.expected[code]
    last = figures["last_activity"]
    return [*(figures[n] for n in STAFF_FIGURES), last and last.astimezone(world.tenant.zone)]


def test_csv_export_streams_the_overview(shop):
    client = shop.console_client(R.MERCHANT_ADMIN)
    response = client.get(reverse("portal:staff_export", args=["csv"]))
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert f"staff-{shop.merchant.code.lower()}-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == HEADER
    page = client.get(LIST).content.decode()
    by_code = {row[0]: row for row in rows[1:]}
    assert sorted(by_code) == sorted(shop.expected)
    for code, row in by_code.items():
        numbers = [int(v) for v in row[NUMBERS]]
        assert numbers == _expected_row(shop, code)[:-1]
        assert numbers == list(_page_figures(page, code).values())
        last = _expected_row(shop, code)[-1]
        assert row[-1] == (last.replace(microsecond=0).isoformat() if last else "")
    assert by_code[shop.alice.code][1:4] == ["Alice Wang", "13800000001", "yes"]


def test_xlsx_export_opens_with_the_overviews_figures(shop):
    client = shop.console_client(R.MERCHANT_ADMIN)
    response = client.get(reverse("portal:staff_export", args=["xlsx"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADER
    by_code = {row[0]: row for row in rows[1:]}
    assert sorted(by_code) == sorted(shop.expected)
    for code, row in by_code.items():
        assert row[NUMBERS] == _expected_row(shop, code)[:-1]  # numeric cells, not text
        last = _expected_row(shop, code)[-1]
        # A date cell in the tenant's time, to the second; no activity: an empty cell.
        assert row[-1] == (last and last.replace(microsecond=0, tzinfo=None))


def test_export_follows_the_search_and_sort(shop):
    client = shop.console_client(R.MERCHANT_ADMIN)
    response = client.get(reverse("portal:staff_export", args=["csv"]), {"q": "bob"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r[0] for r in rows[1:]] == [shop.bob.code]
    response = client.get(reverse("portal:staff_export", args=["xlsx"]), {"sort": "-earned"})
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    codes = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert codes == [shop.alice.code, shop.bob.code, shop.carol.code]


def test_export_of_an_unknown_format_is_not_found(shop):
    client = shop.console_client(R.MERCHANT_ADMIN)
    assert client.get(reverse("portal:staff_export", args=["pdf"])).status_code == 404


# --- queries: a fixed number, however many staff and entries ---------------------------------

PAGES = {  # page → the most queries it may make (session, membership, tenant, its own reads)
    "overview": (lambda w: LIST, 10),
    "overview sorted": (lambda w: f"{LIST}?sort=-last_activity&q=staff", 10),
    "drill-down": (lambda w: reverse("portal:staff_detail", args=[w.staff.code]), 14),
    "export csv": (lambda w: reverse("portal:staff_export", args=["csv"]), 7),
    "export xlsx": (lambda w: reverse("portal:staff_export", args=["xlsx"]), 7),
}


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(captured)


def test_pages_stay_under_a_fixed_query_count(world, django_assert_max_num_queries):
    """The same queries for 5 staff with 20 entries as for 50 with 200 (no query per staff
    member, entry, redemption or draw), and no more than the page's bound."""
    staff_with_history(world, staff_count=5, entries_each=20)
    _give_redemptions_and_draws(world, 2)
    client = world.console_client(R.MERCHANT_ADMIN)
    few = {name: _queries(client, url(world)) for name, (url, _most) in PAGES.items()}
    staff_with_history(world, staff_count=45, entries_each=200, include_world_staff=False)
    _give_redemptions_and_draws(world, 12)
    for name, (url, most) in PAGES.items():
        with django_assert_max_num_queries(most):
            response = client.get(url(world))
            if response.streaming:
                b"".join(response.streaming_content)
        assert _queries(client, url(world)) == few[name], name


def _give_redemptions_and_draws(world, count):
    """`count` redemptions and draws for world.staff: the drill-down's lists have rows."""
    from points.models import PointsProgram

    prog = PointsProgram.objects.for_tenant(world.tenant).get(name="Staff task points")
    operator = world.actor(R.OPERATOR)
    give_points(world, prog, world.staff, 110 * count)
    gift = prize(world, prog, points_cost=100, value=Decimal("1.00"), stock=count)
    for _n in range(count):
        redemption_services.prize_redeem(
            tenant=world.tenant, actor=operator, staff=world.staff, prize=gift
        )
    game = lottery(
        world, prog, cost_points=10,
        outcomes=[{"kind": "nothing", "probability": Decimal("1")}], activate=True,
    )  # fmt: skip
    for _n in range(count):
        redemption_services.lottery_draw(
            tenant=world.tenant, actor=operator, lottery=game, staff=world.staff
        )
