"""The staff member's points in the portal: home, how to earn, history — their figures, their
scope (my own data only, my merchant's for its admin, never another tenant's) and their query
counts with 50 staff and 200 entries each."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import MerchantStaff
from accounts.permissions import Actor
from accounts.roles import Role
from accounts.tests.factories import (
    MembershipFactory,
    MerchantFactory,
    RegionFactory,
    StaffFactory,
)
from campaigns.tests import factories as campaigns
from core.errors import NotFoundError
from orders.services import order_close, order_complete
from points import selectors, services
from points.models import LedgerEntry, PointsAccount
from points.services.ledger import ledger_mismatches

from .factories import place, program, rule, staff_with_history

pytestmark = pytest.mark.django_db

DASH, MINUS, TIMES = "\u2013", "\u2212", "\u00d7"  # as the pages print them
TIERS = [
    {"name": "Bronze", "threshold": 0, "multiplier": 1},
    {"name": "Silver", "threshold": 50, "multiplier": 1.5},
    {"name": "Gold", "threshold": 200, "multiplier": 2},
]


def campaign_now(world, *, regions=None, **kwargs):
    """A points campaign running now (started an hour ago, ends in 10 days)."""
    return campaigns.running_campaign(
        world, amount="100000.00", purpose="points",
        regions=regions or [world.region, world.other_region], **kwargs,
    )  # fmt: skip


def order_now(world, **kwargs):
    return place(world, placed_at=timezone.now(), **kwargs)


def page(client, name, **params):
    response = client.get(reverse(f"portal:{name}"), params)
    assert response.status_code == 200
    return response.content.decode()


class _Figure(HTMLParser):
    """The text inside the first element marked data-figure=`name`, its children included."""

    VOID = {"area", "br", "col", "hr", "img", "input", "link", "meta", "source", "wbr"}

    def __init__(self, name):
        super().__init__()
        self.name, self.depth, self.done, self.parts = name, 0, False, []

    def handle_starttag(self, tag, attrs):
        if self.done or tag in self.VOID:
            return
        if self.depth or dict(attrs).get("data-figure") == self.name:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.depth and tag not in self.VOID:
            self.depth -= 1
            self.done = self.done or not self.depth

    def handle_data(self, data):
        if self.depth and not self.done:
            self.parts.append(data)


def figure(html, name):
    parser = _Figure(name)
    parser.feed(html)
    assert parser.done, f"no figure {name}"
    return " ".join(" ".join(parser.parts).split())


def staff_actor(world):
    return world.actor(Role.MERCHANT_STAFF)


# --- the factory ----------------------------------------------------------------------------------


def test_staff_with_history_is_quick_and_keeps_the_ledger_invariants(
    world, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        staff = staff_with_history(world, staff_count=5, entries_each=50)
    assert len(staff) == 5 and staff[0] == world.staff
    assert LedgerEntry.objects.for_tenant(world.tenant).count() == 250
    assert ledger_mismatches() == []
    again = staff_with_history(world, staff_count=2, entries_each=13)  # world.staff goes on
    assert again[0] == world.staff and ledger_mismatches() == []


# --- home ----------------------------------------------------------------------------------------


@pytest.fixture
def earned(world):
    """Three orders of 10 points this week: one completed (usable, expiring in 20 days), one
    closed while pending (cancelled), one open (pending)."""
    prog = program(world, weekly_cap=100, tiers=TIERS, expiry_policy="days", expiry_days=20)
    campaign = campaign_now(world)
    rule(world, campaign, prog, kind="per_order", points=10)
    done, closed, waiting = (order_now(world, external_id=f"ORD-{n}") for n in "ABC")
    order_complete(tenant=world.tenant, actor=world.system, order=done)
    order_close(tenant=world.tenant, actor=world.system, order=closed)
    return prog, campaign, (done, closed, waiting)


def test_home_shows_balance_pending_orders_expiry_tier_and_week(world, earned):
    html = page(world.console_client(Role.MERCHANT_STAFF), "home")
    assert world.staff.name in html and world.staff.code in html and world.merchant.name in html
    assert figure(html, "balance") == "10"
    assert figure(html, "pending") == "10"
    pending = figure(html, "pending-orders")
    assert "ORD-C" in pending and "+10" in pending and "ORD-A" not in pending
    assert "when the order completes" in pending
    lot = PointsAccount.objects.for_tenant(world.tenant).get().lots.get(status="open")
    day = timezone.localtime(lot.expires_at, world.tenant.zone).date()
    assert figure(html, "expiring") == f"{day:%Y-%m-%d} 10"
    tier = figure(html, "tier")  # lifetime 20 (the cancelled 10 left it): Bronze, Silver at 50
    assert "Bronze" in tier and "30 more points to reach Silver" in tier
    assert "20 of 100 points this week; 80 left." in figure(html, "week")
    for name in ("earn", "history", "prizes"):
        assert f'href="{reverse(f"portal:{name}")}"' in html


def test_dashboard_cards_per_program_with_days_pending_and_rolling_tiers(world, earned):
    other = program(
        world, name="Service stars", pending_policy="days", pending_days=7, monthly_cap=500,
        tiers=TIERS, tier_basis="rolling_12m",
    )  # fmt: skip
    _prog, campaign, _orders = earned
    rule(world, campaign, other, kind="per_order", points=60)
    order_now(world, external_id="ORD-D")
    cards = selectors.staff_dashboard(
        tenant=world.tenant, actor=staff_actor(world), staff=world.staff
    )
    assert [c.program.name for c in cards] == ["Service stars", "Staff task points"]
    stars, task = cards
    assert [(o.external_id, o.points) for o in stars.pending_orders] == [("ORD-D", 60)]
    assert stars.pending_orders[0].activates_at is not None  # known under a days policy
    assert (stars.week.earned, stars.week.cap, stars.month.earned, stars.month.left) == (
        60, None, 60, 440,
    )  # fmt: skip
    assert stars.tier.basis == "rolling_12m" and stars.tier.value == 60
    # The award code sets the tier before the order's award counts in the last 12 months: the
    # account is still Bronze, and Silver comes with the next points.
    assert stars.tier.current["name"] == "Bronze" and stars.tier.next["name"] == "Silver"
    assert stars.tier.needed == 0
    assert [(o.external_id, o.points) for o in task.pending_orders] == [
        ("ORD-C", 10), ("ORD-D", 10),
    ]  # fmt: skip
    assert (task.week.earned, task.week.left, task.expiring_total) == (30, 70, 10)
    html = page(world.console_client(Role.MERCHANT_STAFF), "home")
    assert "Service stars" in html and "usable from" in html
    assert "This month: 60 of 500 points; 440 left." in html


def test_home_of_a_new_staff_member_and_of_an_unlinked_login(world):
    html = page(world.console_client(Role.MERCHANT_STAFF), "home")
    assert "You have no points yet" in html and reverse("portal:earn") in html
    world.staff.user = None
    world.staff.save()
    client = world.console_client(Role.MERCHANT_STAFF)
    for name in ("home", "earn", "history"):
        assert "Your login is not linked to a staff record yet." in page(client, name)


def test_merchant_admin_starts_at_the_staff_list(world):
    client = world.console_client(Role.MERCHANT_ADMIN)
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302 and response.url == reverse("portal:staff_list")
    for name in ("earn", "history"):  # a staff member's own pages
        assert client.get(reverse(f"portal:{name}")).status_code == 403


# --- how to earn ---------------------------------------------------------------------------------


def zones(world, parent, count, prefix="Z"):
    return [
        RegionFactory(tenant=world.tenant, parent=parent, code=f"{prefix}{n:03d}", name=f"Zone {n}")
        for n in range(1, count + 1)
    ]


def test_earn_lists_rules_in_words_with_my_next_order(world):
    prog = program(world, weekly_cap=1000, tiers=TIERS)
    campaign = campaign_now(world)
    per_order = rule(world, campaign, prog, kind="per_order", points=10, cap_per_holder_week=100)
    per_amount = rule(
        world, campaign, prog, kind="per_amount", points=2, per_amount=Decimal("50"),
        min_amount=Decimal("100"), cap_total=5000,
    )  # fmt: skip
    rule(world, campaign, prog, kind="milestone", milestone={"count": 3, "period": "week",
         "points": 20})  # fmt: skip
    order_now(world, amount="120.00")  # 10 + 4 points
    html = page(world.console_client(Role.MERCHANT_STAFF), "earn")
    assert campaign.name in html
    assert (
        f"Runs until {timezone.localtime(campaign.ends_at, world.tenant.zone):%Y-%m-%d %H:%M}"
        in html
    )
    assert "10 points per order." in html and "Your next order earns 10 points." in html
    assert "2 points per 50 CNY of order amount (orders from 100 CNY)." in html
    assert "Your next order earns 2 points per 50 CNY." in html
    assert "3 completed orders in a week: 20 points." in html
    assert "At most 1,000 points a week in this program; 986 left for you this week." in html
    assert "At most 100 points a week per person from this rule; 90 left for you this week." in html
    assert "5,000 points in all for everyone; 4,996 still to earn." in html
    guide = selectors.earning_guide(
        tenant=world.tenant, actor=staff_actor(world), staff=world.staff
    )
    rules = {g.rule.pk: g for g in guide[0].rules}
    assert rules[per_order.pk].room == 90 and rules[per_order.pk].next_points == 10
    assert rules[per_amount.pk].room == 986


def test_earn_next_order_follows_my_tier_and_the_caps(world):
    prog = program(world, tiers=[{"name": "Star", "threshold": 0, "multiplier": 1.5}])
    campaign = campaign_now(world)
    capped = rule(world, campaign, prog, kind="per_order", points=10, cap_per_holder_week=22)
    order_now(world)  # 10 points: the tier (x1.5) comes with them, for the next order
    [guide] = selectors.earning_guide(
        tenant=world.tenant, actor=staff_actor(world), staff=world.staff
    )
    [item] = guide.rules
    assert item.rule == capped and item.multiplier == Decimal("1.5") and item.tier_name == "Star"
    assert item.next_points == 12  # 15 by the tier, 12 by the cap
    order_now(world)
    html = page(world.console_client(Role.MERCHANT_STAFF), "earn")
    assert f"Your tier Star multiplies these points {TIMES}1.5." in html
    assert "Your next order earns 0 points." in html and "A cap is reached" in html


def test_earn_lists_open_first_n_regions_of_my_merchant_best_first(world):
    prog = program(world)
    campaign = campaign_now(world)
    z1, z2, z3 = zones(world, world.region, 3)
    elsewhere = RegionFactory(tenant=world.tenant, parent=world.other_region, code="FAR")
    first_n = rule(
        world, campaign, prog, kind="region_first_n", regions=[z1, z2, z3, elsewhere],
        tiers=[{"from": 1, "to": 2, "points": 5}, {"from": 3, "to": 5, "points": 2}],
    )  # fmt: skip
    for _ in range(2):
        order_now(world, region=z1)
    for _ in range(5):
        order_now(world, region=z2)
    [guide] = selectors.earning_guide(
        tenant=world.tenant, actor=staff_actor(world), staff=world.staff
    )
    [item] = guide.rules
    assert item.rule == first_n and [t["points"] for t in item.tiers] == [5, 2]
    listed = [(s.code, s.orders, s.next_points, s.tier_left, s.total_left) for s in item.regions]
    assert listed == [("Z003", 0, 5, 2, 5), ("Z001", 2, 2, 3, 3)]  # FAR is not my merchant's
    assert (item.regions_full, item.regions_more) == (1, 0)
    html = page(world.console_client(Role.MERCHANT_STAFF), "earn")
    assert f"Orders 1{DASH}2 in a region: 5 points" in html
    assert f"Orders 3{DASH}5 in a region: 2 points" in html
    assert figure(html, "regions").startswith("Zone 3 Z003 +5 0 orders so far")
    assert "2 orders so far · 3 left in this tier, 3 in all" in " ".join(html.split())
    assert "1 region full" in html and "FAR" not in html


def test_earn_region_above_my_merchant_counts_and_the_list_is_bounded(world):
    prog = program(world)
    campaign = campaign_now(world)
    [home] = zones(world, world.region, 1, prefix="HOME")
    sibling = RegionFactory(tenant=world.tenant, parent=world.region, code="SIB")
    world.merchant.region = home
    world.merchant.save()
    tiers = [{"from": 1, "to": 3, "points": 4}]
    above = rule(world, campaign, prog, kind="region_first_n", regions=[world.region, sibling],
                 tiers=tiers)  # fmt: skip
    many = zones(world, home, 60)  # 60 zones below my merchant's
    wide = rule(world, campaign, prog, kind="region_first_n", regions=many, tiers=tiers)
    order_now(world, region=many[0])
    staff = (
        MerchantStaff.objects.for_tenant(world.tenant)
        .select_related("merchant")
        .get(pk=world.staff.pk)
    )
    guide = selectors.earning_guide(tenant=world.tenant, actor=staff_actor(world), staff=staff)
    items = {item.rule.pk: item for item in guide[0].rules}
    # An order in my zone counts in the nearest named region above it: world.region, not SIB.
    assert [s.region_id for s in items[above.pk].regions] == [world.region.pk]
    bounded = items[wide.pk]
    assert len(bounded.regions) == selectors.REGIONS_SHOWN and bounded.regions_more == 10
    assert bounded.regions[-1].orders == 0 and many[0].pk not in {
        s.region_id for s in bounded.regions
    }  # fewest orders first: the zone with an order comes last, beyond the 50
    html = page(world.console_client(Role.MERCHANT_STAFF), "earn")
    assert "and 10 more open regions" in html


def test_earn_leaves_out_rules_of_other_regions_and_other_holders(world):
    prog = program(world)
    merchants = program(world, name="Merchant points", holder="merchant")
    campaign = campaign_now(world)
    far = RegionFactory(tenant=world.tenant, parent=world.other_region, code="FAR")
    rule(world, campaign, prog, kind="per_order", points=3, regions=[far])
    rule(world, campaign, merchants, kind="per_order", points=4)
    assert (
        selectors.earning_guide(tenant=world.tenant, actor=staff_actor(world), staff=world.staff)
        == []
    )
    assert "No campaign is running for you right now." in page(
        world.console_client(Role.MERCHANT_STAFF), "earn"
    )


# --- history -------------------------------------------------------------------------------------


def test_history_shows_each_entry_with_its_order_status_and_reason(world):
    prog = program(world)
    campaign = campaign_now(world)
    rule(world, campaign, prog, kind="per_order", points=10)
    system = world.system
    kept, spent, closed, reversed_, _waiting = (
        order_now(world, external_id=f"ORD-{name}")
        for name in ("KEPT", "SPENT", "CLOSED", "REVERSED", "WAITING")
    )
    for order in (kept, spent, reversed_):
        order_complete(tenant=world.tenant, actor=system, order=order)
    order_close(tenant=world.tenant, actor=system, order=closed)
    order_close(tenant=world.tenant, actor=system, order=reversed_)
    account = PointsAccount.objects.for_tenant(world.tenant).get()
    services.points_spend(
        tenant=world.tenant, actor=system, account=account, points=10, reference="prize-1",
        source="prize:1",
    )  # fmt: skip  # first in, first out: the lot of ORD-KEPT is used up
    services.points_adjust(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), account=account, points=7,
        reason="Helped at the fair",
    )  # fmt: skip
    entries = list(
        selectors.staff_history(tenant=world.tenant, actor=staff_actor(world), staff=world.staff)
    )
    status = {(e.kind, e.order.external_id if e.order else ""): e.lot_status for e in entries}
    assert status[("earn", "ORD-KEPT")] == "used"
    assert status[("earn", "ORD-SPENT")] == "open"
    assert status[("earn", "ORD-CLOSED")] == "cancelled"
    assert status[("earn", "ORD-REVERSED")] == "reversed"
    assert status[("earn", "ORD-WAITING")] == "pending"
    assert status[("adjust", "")] == "open" and status[("spend", "")] is None
    assert entries[0].kind == "adjust" and entries[-1].kind == "earn"  # newest first
    html = page(world.console_client(Role.MERCHANT_STAFF), "history")
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Prize redemption" in text and f"{MINUS}10" in text
    assert "Adjustment" in text and "“Helped at the fair”" in text
    assert "Reversed the order closed after it completed" in text  # the earned points' status
    assert "Cancelled the order closed before it completed" in text
    assert "The order closed after it completed: its points are taken back." in text
    assert "usable when the order completes" in text and "Spent" in text
    assert "ORD-REVERSED" in text and campaign.name in text


def test_history_names_transfers_lottery_draws_and_refunds(world):
    prog = program(world, transferable=True)
    colleague = StaffFactory(tenant=world.tenant, merchant=world.merchant, name="Lin Wei")
    account = services.account_for_holder(tenant=world.tenant, program=prog, holder=world.staff)
    operator = world.actor(Role.OPERATOR)
    services.points_adjust(
        tenant=world.tenant, actor=operator, account=account, points=50, reason="Welcome"
    )
    services.points_transfer(
        tenant=world.tenant, actor=staff_actor(world), program=prog, from_holder=world.staff,
        to_holder=colleague, points=5,
    )  # fmt: skip
    services.points_spend(
        tenant=world.tenant, actor=world.system, account=account, points=10, reference="draw-1",
        source="lottery:3",
    )  # fmt: skip
    services.points_credit(
        tenant=world.tenant, actor=world.system, account=account, points=30,
        reference="draw-1:win", source="lottery:3",
    )  # fmt: skip
    prize = services.points_spend(
        tenant=world.tenant, actor=world.system, account=account, points=20, reference="prize-9",
        source="prize:9",
    )  # fmt: skip
    services.points_refund(tenant=world.tenant, actor=world.system, spend=prize, reference="back")
    html = page(world.console_client(Role.MERCHANT_STAFF), "history")
    kinds = re.findall(r'data-kind="(\w+)"', html)
    assert kinds == ["refund", "spend", "adjust", "spend", "transfer_out", "adjust"]
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    for words in (
        "Refund", "The points of a cancelled redemption are back.", "Prize redemption",
        "Lottery win", "Lottery draw", "Transfer to Lin Wei", "Adjustment", "“Welcome”",
    ):  # fmt: skip
        assert words in text, words


def test_history_expired_and_paging(world):
    staff_with_history(world, staff_count=1, entries_each=30)
    client = world.console_client(Role.MERCHANT_STAFF)
    first = page(client, "history")
    assert first.count("data-entry=") == 25 and f"1{DASH}25 of 30" in first
    statuses = set(re.findall(r'data-status="(\w+)"', first + page(client, "history", page=2)))
    assert statuses == {"pending", "open", "used", "expired", "cancelled", "reversed"}
    assert page(client, "history", page=2).count("data-entry=") == 5
    assert page(client, "history", page=99).count("data-entry=") == 5  # the nearest real page


def test_history_filters_by_program_when_there_are_several(world):
    staff_with_history(world, staff_count=1, entries_each=3)
    stars = program(world, name="Service stars")
    staff_with_history(world, staff_count=1, entries_each=2, points_program=stars)
    client = world.console_client(Role.MERCHANT_STAFF)
    html = page(client, "history")
    assert html.count("data-entry=") == 5 and 'id="history-program"' in html
    only = page(client, "history", program=stars.pk)
    assert only.count("data-entry=") == 2
    assert page(client, "history", program="junk").count("data-entry=") == 5


# --- scope ---------------------------------------------------------------------------------------


def test_a_staff_member_never_sees_a_colleague_or_another_tenant(world, other_world):
    _me, colleague = staff_with_history(world, staff_count=2, entries_each=12)
    staff_with_history(other_world, staff_count=1, entries_each=12)
    theirs = set(
        LedgerEntry.objects.for_tenant(world.tenant)
        .filter(account__staff=colleague, order__isnull=False)
        .values_list("order__external_id", flat=True)
    ) | set(
        LedgerEntry.objects.for_tenant(other_world.tenant)
        .filter(order__isnull=False)
        .values_list("order__external_id", flat=True)
    )
    client = world.console_client(Role.MERCHANT_STAFF)
    for name in ("home", "earn", "history"):
        html = page(client, name)
        assert not any(f">{external_id}<" in html for external_id in theirs)
    actor = staff_actor(world)
    for read in (selectors.staff_history, selectors.staff_dashboard, selectors.earning_guide):
        with pytest.raises(NotFoundError):
            read(tenant=world.tenant, actor=actor, staff=colleague)
        with pytest.raises(NotFoundError):
            read(tenant=world.tenant, actor=actor, staff=other_world.staff)


def test_a_merchant_admin_reads_their_merchant_staff_only(world):
    _me, colleague = staff_with_history(world, staff_count=2, entries_each=12)
    admin = world.actor(Role.MERCHANT_ADMIN)
    entries = selectors.staff_history(tenant=world.tenant, actor=admin, staff=colleague)
    assert entries.count() == 12 and {e.account.staff_id for e in entries} == {colleague.pk}
    assert selectors.staff_dashboard(tenant=world.tenant, actor=admin, staff=colleague)
    other_merchant = MerchantFactory(tenant=world.tenant, region=world.region)
    admin_elsewhere = Actor(
        tenant=world.tenant,
        membership=MembershipFactory(
            tenant=world.tenant, role=Role.MERCHANT_ADMIN, merchant=other_merchant
        ),
    )
    with pytest.raises(NotFoundError):
        selectors.staff_history(tenant=world.tenant, actor=admin_elsewhere, staff=colleague)


# --- query counts: 50 staff, 200 entries each ----------------------------------------------------------


@pytest.fixture
def crowded(world):
    staff = staff_with_history(world)
    prog = PointsAccount.objects.for_tenant(world.tenant).first().program
    campaign = campaign_now(world)
    rule(world, campaign, prog, kind="per_order", points=10, cap_per_holder_week=100)
    rule(world, campaign, prog, kind="milestone", milestone={"count": 3, "period": "week",
         "points": 20})  # fmt: skip
    rule(world, campaign, prog, kind="region_first_n", regions=zones(world, world.region, 80),
         tiers=[{"from": 1, "to": 10, "points": 5}])  # fmt: skip
    for person in staff[:3]:
        order_now(world, staff=person, region=world.region)
    return staff


@pytest.mark.parametrize(("name", "most"), [("home", 13), ("earn", 16), ("history", 14)])
def test_portal_pages_stay_under_a_fixed_query_count(
    world, crowded, django_assert_max_num_queries, name, most
):
    client = world.console_client(Role.MERCHANT_STAFF)
    client.get(reverse(f"portal:{name}"))  # warm: sessions, content types
    with django_assert_max_num_queries(most):
        html = page(client, name, **({"page": 3} if name == "history" else {}))
    if name == "history":
        assert html.count("data-entry=") == 25 and f"51{DASH}75 of 201" in html
    if name == "home":  # 16 orders of the factory and one of the rule wait: 10 listed
        assert html.count("data-order=") == 10 and "and 7 more orders" in html
    if name == "earn":
        assert figure(html, "regions").startswith("Zone") and "and 30 more open regions" in html
