"""The staff member's prizes, lotteries and redemptions in the portal, through Django's client."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.authentication import SESSION_TENANT_KEY
from accounts.roles import Role
from accounts.tests.factories import MembershipFactory, MerchantFactory, StaffFactory
from core import ratelimit
from core.errors import NotFoundError
from coupons.tests.factories import active_batch
from points.models import LedgerEntry, PointsAccount
from points.tests.factories import staff_with_history
from redemption import services
from redemption.models import PrizeRedemption
from redemption.selectors import catalogue_for_staff
from redemption.tests.factories import (
    coupon_prize,
    give_points,
    link_customer,
    lottery,
    physical_prize,
    prize,
    ship_address,
    staff_program,
)

pytestmark = pytest.mark.django_db


def _key() -> str:
    return uuid.uuid4().hex


def _balance(world, staff=None) -> int:
    return (
        PointsAccount.objects.for_tenant(world.tenant)
        .get(staff=staff or world.staff, program=staff_program(world))
        .balance
    )


@pytest.fixture
def shop(world):
    """1,500 points, and prizes: two affordable, one 500 short, one opening tomorrow."""
    prog = staff_program(world)
    give_points(world, prog, world.staff, 1500)
    now = timezone.now()
    return {
        "top_up": prize(world, prog, name="Phone top-up", points_cost=1000, stock=3),
        "bank": physical_prize(world, prog, name="Power bank", points_cost=500, stock=5),
        "speaker": prize(
            world, prog, name="Speaker", points_cost=2000, value=Decimal("20.00"),
            per_holder_limit=1, available_until=now + timedelta(days=3),
        ),
        "kettle": prize(
            world, prog, name="Kettle", points_cost=800, value=Decimal("8.00"),
            available_from=now + timedelta(days=1),
        ),
        "empty": prize(world, prog, name="Umbrella", points_cost=100, value=Decimal("1.00"),
                       stock=0),
    }  # fmt: skip


def _staff_client(world):
    return world.console_client(Role.MERCHANT_STAFF)


def _page(client, name, *args, **query) -> str:
    response = client.get(reverse(f"portal:{name}", args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _client_for(membership):
    """A logged-in portal client of another member (world has one per role)."""
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_TENANT_KEY] = membership.tenant_id
    session.save()
    return client


# --- catalogue -------------------------------------------------------------------------------


def test_catalogue_puts_what_i_can_afford_first_and_shows_what_is_missing(world, shop):
    page = _page(_staff_client(world), "prizes")
    order = [page.index(name) for name in ("Power bank", "Phone top-up", "Umbrella", "Speaker")]
    assert order == sorted(order), "affordable (in stock first), then the nearest to afford"
    assert page.index("Speaker") < page.index("Kettle"), "what opens later comes last"
    assert "You can afford" in page and "Keep earning for" in page and "Coming soon" in page
    assert "1,500" in page  # the balance at the top
    assert "500 more points needed" in page  # Speaker: 2,000 - 1,500
    assert "3 left" in page and "Out of stock" in page
    assert "Limit 1 each · you have 0" in page
    assert "Opens " in page and "Until " in page
    assert "Shipped to you" in page and "Virtual" in page


def test_catalogue_shows_the_window_end_in_the_tenant_time_zone(world, shop):
    until = timezone.now().replace(microsecond=0) + timedelta(days=5)
    services.prize_update(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), prize=shop["speaker"],
        available_until=until,
    )  # fmt: skip
    local = timezone.localtime(until, world.tenant.zone)
    assert f"Until {local:%m-%d %H:%M}" in _page(_staff_client(world), "prizes")


def test_catalogue_hides_inactive_and_ended_prizes(world, shop):
    operator = world.actor(Role.OPERATOR)
    services.prize_update(
        tenant=world.tenant, actor=operator, prize=shop["top_up"], is_active=False
    )
    page = _page(_staff_client(world), "prizes")
    assert "Phone top-up" not in page and "Power bank" in page


def test_taken_counts_against_the_limit(world, shop):
    give_points(world, staff_program(world), world.staff, 1000)  # 2,500
    services.prize_redeem(
        tenant=world.tenant, actor=world.actor(Role.MERCHANT_STAFF), staff=world.staff,
        prize=shop["speaker"],
    )  # fmt: skip
    client = _staff_client(world)
    assert "Limit 1 each · you have 1" in _page(client, "prizes")
    detail = _page(client, "prize", shop["speaker"].pk)
    assert "You have reached the limit of 1 per person." in detail
    assert 'name="request_key"' not in detail  # no form to send


# --- prize page and redeeming ----------------------------------------------------------------


def _redeem(client, prize, **fields):
    data = {"quantity": 1, "request_key": _key(), "confirmed": "1", **fields}
    return client.post(reverse("portal:prize_redeem", args=[prize.pk]), data)


def test_prize_page_renders_a_fresh_request_key_each_time(world, shop):
    client = _staff_client(world)
    keys = [
        re.search(r'name="request_key" value="([0-9a-f]{32})"', _page(client, "prize", shop["bank"].pk))
        .group(1)
        for _ in range(2)
    ]  # fmt: skip
    assert keys[0] != keys[1]
    page = _page(client, "prize", shop["bank"].pk)
    assert 'autocomplete="street-address"' in page and 'name="shipping_address"' in page
    assert 'name="shipping_address"' not in _page(client, "prize", shop["top_up"].pk)


def test_redeem_reviews_first_then_redeems_a_physical_prize_to_ship(world, shop):
    client = _staff_client(world)
    url = reverse("portal:prize_redeem", args=[shop["bank"].pk])
    form = {"quantity": 2, "shipping_address": ship_address(), "request_key": _key()}
    review = client.post(url, form)
    assert review.status_code == 200
    text = review.content.decode()
    assert "Confirm: spend 1,000 points" in text and "Century Avenue" in text
    assert "500" in text  # the balance after
    assert not PrizeRedemption.objects.for_tenant(world.tenant).exists(), "nothing before confirm"

    done = client.post(url, {**form, "confirmed": "1"})
    redemption = PrizeRedemption.objects.for_tenant(world.tenant).get()
    assert done.status_code == 302
    assert done["Location"] == reverse("portal:redemption", args=[redemption.pk])
    assert redemption.quantity == 2 and redemption.fulfilment_status == "pending"
    assert redemption.shipping_address == ship_address()
    assert _balance(world) == 500
    page = _page(client, "redemption", redemption.pk)
    assert "Redeemed 2 of Power bank for 1,000 points." in page
    assert "To ship" in page and "you get 1,000 points back" in page


def test_change_on_the_review_page_goes_back_to_the_filled_form(world, shop):
    client = _staff_client(world)
    url = reverse("portal:prize_redeem", args=[shop["bank"].pk])
    form = {"quantity": 1, "shipping_address": ship_address(), "request_key": _key()}
    back = client.post(url, {**form, "confirmed": "1", "edit": "1"})
    assert back.status_code == 200 and "Century Avenue" in back.content.decode()
    assert 'name="quantity"' in back.content.decode()
    assert not PrizeRedemption.objects.for_tenant(world.tenant).exists()


def test_missing_address_is_an_error_and_spends_nothing(world, shop):
    client = _staff_client(world)
    for confirmed in ("", "1"):
        response = _redeem(client, shop["bank"], shipping_address="  ", confirmed=confirmed)
        assert response.status_code == 200
        assert "This field is required." in response.content.decode()
    assert _balance(world) == 1500
    assert not PrizeRedemption.objects.for_tenant(world.tenant).exists()


def test_insufficient_points_is_a_message_and_the_balance_stays(world, shop):
    client = _staff_client(world)
    response = _redeem(client, shop["top_up"], quantity=2)  # 2,000 of 1,500
    assert response.status_code == 200
    assert "This needs 2000 points; you have 1500." in response.content.decode()
    assert _balance(world) == 1500
    assert not PrizeRedemption.objects.for_tenant(world.tenant).exists()
    assert LedgerEntry.objects.for_tenant(world.tenant).filter(kind="spend").count() == 0


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("empty", "Out of stock."),
        ("kettle", "This prize can be redeemed from"),
    ],
)
def test_refusals_are_shown_on_the_form(world, shop, which, message):
    response = _redeem(_staff_client(world), shop[which])
    assert response.status_code == 200 and message in response.content.decode()
    assert _balance(world) == 1500


def test_limit_and_deadline_refusals(world, shop):
    give_points(world, staff_program(world), world.staff, 10_000)
    client = _staff_client(world)
    assert _redeem(client, shop["speaker"]).status_code == 302
    again = _redeem(client, shop["speaker"])
    assert "At most 1 per person; you have 1." in again.content.decode()
    ended = prize(
        world, name="Old mug", points_cost=100, value=Decimal("1.00"),
        available_from=timezone.now() - timedelta(days=3),
        available_until=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    late = _redeem(client, ended)
    assert "The deadline to redeem this prize passed" in late.content.decode()
    assert "This prize is no longer available." in late.content.decode()


def test_the_same_request_key_twice_makes_one_redemption(world, shop):
    client = _staff_client(world)
    key = _key()
    first = _redeem(client, shop["top_up"], request_key=key)
    second = _redeem(client, shop["top_up"], request_key=key)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert PrizeRedemption.objects.for_tenant(world.tenant).count() == 1
    assert _balance(world) == 500


def test_a_tampered_request_key_is_refused(world, shop):
    response = _redeem(_staff_client(world), shop["top_up"], request_key="not-a-key")
    assert response.status_code == 200
    assert "This form is out of date." in response.content.decode()
    assert not PrizeRedemption.objects.for_tenant(world.tenant).exists()


def test_a_coupon_prize_shows_its_code(world, shop):
    link_customer(world)
    gift = coupon_prize(world, staff_program(world), points_cost=500, value=Decimal("5.00"))
    client = _staff_client(world)
    page = _page(client, "prize", gift.pk)
    assert 'type="hidden" name="quantity"' in page  # one coupon, one code, per redemption
    response = _redeem(client, gift)
    assert response.status_code == 302
    redemption = PrizeRedemption.objects.for_tenant(world.tenant).get()
    code = redemption.coupon.code or redemption.coupon.batch.shared_code
    page = _page(client, "redemption", redemption.pk)
    assert code and f'value="{code}"' in page and "Copy code" in page
    assert code in _page(client, "redemptions")


def test_a_shared_code_coupon_shows_the_batch_code(world, shop):
    link_customer(world)
    batch = active_batch(world, code_mode="shared", shared_code="STAFF-20", per_customer_limit=5)
    gift = coupon_prize(world, staff_program(world), batch=batch, points_cost=500,
                        value=Decimal("5.00"))  # fmt: skip
    _redeem(_staff_client(world), gift)
    redemption = PrizeRedemption.objects.for_tenant(world.tenant).get()
    assert 'value="STAFF-20"' in _page(_staff_client(world), "redemption", redemption.pk)


def test_a_coupon_prize_without_a_linked_customer_is_refused(world, shop):
    gift = coupon_prize(world, staff_program(world), points_cost=500, value=Decimal("5.00"))
    response = _redeem(_staff_client(world), gift)
    assert response.status_code == 200
    assert "has none yet" in response.content.decode()
    assert _balance(world) == 1500


def test_a_throttled_redemption_is_a_message(world, shop, settings, monkeypatch):
    settings.HOLDER_RATES = {"prize_redeem": "1/min"}
    # One moment for both: a fixed window's edge between them would reset the count.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_000_020.0))
    client = _staff_client(world)
    assert _redeem(client, shop["bank"], shipping_address=ship_address()).status_code == 302
    again = _redeem(client, shop["bank"], shipping_address=ship_address())
    assert again.status_code == 200
    assert "Too many requests; wait a moment and try again." in again.content.decode()
    assert _balance(world) == 1000


# --- my redemptions and cancelling -----------------------------------------------------------


def _physical_redemption(world, shop, quantity=1):
    return services.prize_redeem(
        tenant=world.tenant, actor=world.actor(Role.MERCHANT_STAFF), staff=world.staff,
        prize=shop["bank"], quantity=quantity, shipping_address=ship_address(),
    )  # fmt: skip


def test_redemptions_list_newest_first_with_fulfilment_in_words(world, shop):
    operator = world.actor(Role.OPERATOR)
    first = _physical_redemption(world, shop)
    services.redemption_ship(
        tenant=world.tenant, actor=operator, redemption=first, carrier="SF Express",
        tracking_number="SF1234567890",
    )  # fmt: skip
    second = _physical_redemption(world, shop)
    services.redemption_cancel(tenant=world.tenant, actor=operator, redemption=second)
    page = _page(_staff_client(world), "redemptions")
    assert page.index(reverse("portal:redemption", args=[second.pk])) < page.index(
        reverse("portal:redemption", args=[first.pk])
    )
    assert "Shipped" in page and "SF Express" in page and "SF1234567890" in page
    assert "Cancelled" in page and "500 points refunded" in page
    detail = _page(_staff_client(world), "redemption", first.pk)
    assert "SF1234567890" in detail and "Cancel and get" not in detail  # shipped: too late


def test_cancel_shows_the_refund_and_restores_the_balance(world, shop):
    redemption = _physical_redemption(world, shop, quantity=2)
    assert _balance(world) == 500
    client = _staff_client(world)
    page = _page(client, "redemption", redemption.pk)
    assert "Cancel and get 1,000 points back" in page and "data-confirm=" in page
    response = client.post(reverse("portal:redemption_cancel", args=[redemption.pk]))
    assert response["Location"] == reverse("portal:redemption", args=[redemption.pk])
    assert _balance(world) == 1500
    page = _page(client, "redemption", redemption.pk)
    assert "Cancelled. 1,000 points are back in your balance." in page
    assert "Points refunded" in page and "Cancel and get" not in page
    again = client.post(reverse("portal:redemption_cancel", args=[redemption.pk]), follow=True)
    assert "Cannot move the redemption" in again.content.decode()
    assert _balance(world) == 1500


def test_redemptions_page_through(world, shop, settings):
    settings.HOLDER_RATES = {}  # 30 redemptions in a second
    give_points(world, staff_program(world), world.staff, 100_000)
    cheap = prize(world, name="Sticker", points_cost=100, value=Decimal("1.00"), stock=40)
    actor = world.actor(Role.MERCHANT_STAFF)
    for _ in range(30):
        services.prize_redeem(tenant=world.tenant, actor=actor, staff=world.staff, prize=cheap)
    client = _staff_client(world)
    assert "1\N{EN DASH}25 of 30" in _page(client, "redemptions")
    assert "26\N{EN DASH}30 of 30" in _page(client, "redemptions", page=2)


# --- lotteries -------------------------------------------------------------------------------


@pytest.fixture
def game(world, shop):
    return lottery(
        world,
        cost_points=100,
        outcomes=[
            {"kind": "points", "points": 50, "probability": Decimal("0.5")},
            {"kind": "prize", "prize": shop["top_up"], "probability": Decimal("0.01"),
             "inventory": 3},
            {"kind": "nothing", "probability": Decimal("0.49")},
        ],
        activate=True,
    )  # fmt: skip


def test_lottery_pages_show_the_cost_and_the_odds_before_the_draw(world, game):
    client = _staff_client(world)
    listing = _page(client, "lotteries")
    assert "Climax lottery" in listing and "100 pts a draw" in listing
    page = _page(client, "lottery", game.pk)
    assert "100 points" in page and "1,500" in page
    for words in ("50 points", "Phone top-up", "Nothing", "50 %", "1 %", "49 %", "3 left"):
        assert words in page, words
    assert "On average a draw gives back 35 points" in page  # 25 + 0.01 x 1,000
    assert "Draw for 100 points" in page and "data-confirm=" in page


def test_a_draft_lottery_is_not_shown(world, shop):
    draft = lottery(world)
    client = _staff_client(world)
    assert "Climax lottery" not in _page(client, "lotteries")
    assert client.get(reverse("portal:lottery", args=[draft.pk])).status_code == 404


def test_draw_then_the_result_and_draw_again(world, game):
    client = _staff_client(world)
    key = _key()
    url = reverse("portal:lottery_draw", args=[game.pk])
    response = client.post(url, {"request_key": key})
    assert response.status_code == 302
    draw = game.draws.get()
    assert response["Location"] == reverse("portal:draw", args=[draw.pk])
    assert client.post(url, {"request_key": key})["Location"] == response["Location"]
    assert game.draws.count() == 1, "the same key draws once"
    page = _page(client, "draw", draw.pk)
    balance = _balance(world)
    assert f"{balance:,}" in page
    assert ("You won" in page) or ("No win this time" in page)
    if draw.award_entry_id:
        assert "50 points were added to your balance." in page
    assert "Draw again for 100 points" in page
    assert reverse("portal:draw", args=[draw.pk]) in _page(client, "lottery", game.pk)


def test_a_draw_without_enough_points_is_a_message(world, shop):
    pricey = lottery(
        world,
        cost_points=5000,
        outcomes=[{"kind": "nothing", "probability": Decimal("1")}],
        activate=True,
    )
    client = _staff_client(world)
    assert "You need 3,500 more points to draw." in _page(client, "lottery", pricey.pk)
    response = client.post(
        reverse("portal:lottery_draw", args=[pricey.pk]), {"request_key": _key()}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("portal:lottery", args=[pricey.pk])
    assert not pricey.draws.exists() and _balance(world) == 1500


# --- scope -----------------------------------------------------------------------------------


def test_a_colleague_sees_neither_my_redemption_nor_my_draw(world, game, shop):
    redemption = _physical_redemption(world, shop)
    draw = services.lottery_draw(
        tenant=world.tenant, actor=world.actor(Role.MERCHANT_STAFF), lottery=game,
        staff=world.staff,
    )  # fmt: skip
    membership = MembershipFactory(
        tenant=world.tenant, role=Role.MERCHANT_STAFF, merchant=world.merchant
    )
    StaffFactory(tenant=world.tenant, merchant=world.merchant, user=membership.user)
    colleague = _client_for(membership)
    assert colleague.get(reverse("portal:redemption", args=[redemption.pk])).status_code == 404
    assert colleague.get(reverse("portal:draw", args=[draw.pk])).status_code == 404
    cancel = colleague.post(reverse("portal:redemption_cancel", args=[redemption.pk]))
    assert cancel.status_code == 404
    assert "Power bank" not in _page(colleague, "redemptions")
    assert reverse("portal:draw", args=[draw.pk]) not in _page(colleague, "lottery", game.pk)
    redemption.refresh_from_db()
    assert redemption.status == "redeemed"


def test_a_merchant_admin_is_refused_these_pages(world, game, shop):
    admin = world.console_client(Role.MERCHANT_ADMIN)
    for name, args in [
        ("prizes", []), ("prize", [shop["top_up"].pk]), ("lotteries", []),
        ("lottery", [game.pk]), ("redemptions", []),
    ]:  # fmt: skip
        assert admin.get(reverse(f"portal:{name}", args=args)).status_code == 403, name
    assert _redeem(admin, shop["top_up"]).status_code == 403


def test_a_login_without_a_staff_record_gets_a_notice(world, shop):
    world.staff.user = None
    world.staff.save()
    page = _page(_staff_client(world), "prizes")
    assert "not linked to a staff record" in page


def test_the_catalogue_selector_keeps_to_the_actors_scope(world, shop):
    admin = world.actor(Role.MERCHANT_ADMIN)
    rows = catalogue_for_staff(tenant=world.tenant, actor=admin, staff=world.staff)
    assert [p.name for p in rows][:2] == ["Power bank", "Phone top-up"]
    elsewhere = StaffFactory(
        tenant=world.tenant, merchant=MerchantFactory(tenant=world.tenant, region=world.region)
    )
    for actor in (admin, world.actor(Role.MERCHANT_STAFF)):
        with pytest.raises(NotFoundError):
            catalogue_for_staff(tenant=world.tenant, actor=actor, staff=elsewhere)


def test_an_upcoming_prize_page_says_when_it_opens_and_has_no_form(world, shop):
    page = _page(_staff_client(world), "prize", shop["kettle"].pk)
    assert "Opens on " in page and 'name="request_key"' not in page


def test_console_roles_are_sent_to_the_console(world, shop):
    response = world.console_client(Role.OPERATOR).get(reverse("portal:prizes"))
    assert response.status_code == 302


# --- queries ---------------------------------------------------------------------------------


@pytest.fixture
def busy(world, settings):
    """50 staff with 200 entries each, 20 prizes, a lottery, and redemptions and draws of mine."""
    settings.HOLDER_RATES = {}  # the fixture redeems and draws in a burst
    prog = staff_program(world)
    staff_with_history(world, staff_count=50, entries_each=200, points_program=prog)
    give_points(world, prog, world.staff, 50_000)
    actor = world.actor(Role.MERCHANT_STAFF)
    prizes = [
        prize(world, prog, name=f"Prize {n:02d}", points_cost=100 * (n + 1),
              value=Decimal(n + 1), stock=50, per_holder_limit=10 if n % 2 else None)
        for n in range(18)
    ]  # fmt: skip
    link_customer(world)
    prizes.append(coupon_prize(world, prog, points_cost=500, value=Decimal("5.00")))
    prizes.append(physical_prize(world, prog, stock=50))
    redemptions = []
    for gift in prizes[:3] + prizes[-2:]:
        for _ in range(2):
            redemptions.append(
                services.prize_redeem(
                    tenant=world.tenant,
                    actor=actor,
                    staff=world.staff,
                    prize=gift,
                    shipping_address=ship_address(),
                )
            )
    game = lottery(
        world,
        cost_points=100,
        outcomes=[
            {"kind": "points", "points": 50, "probability": Decimal("0.5")},
            {"kind": "prize", "prize": prizes[0], "probability": Decimal("0.1"), "inventory": 5},
            {"kind": "nothing", "probability": Decimal("0.4")},
        ],
        activate=True,
    )
    draws = [
        services.lottery_draw(tenant=world.tenant, actor=actor, lottery=game, staff=world.staff)
        for _ in range(12)
    ]
    return {"prizes": prizes, "redemptions": redemptions, "game": game, "draws": draws}


# Session, user, membership, staff record, merchant (the shell), then the page's own few:
# 7-10 today (2 spare), none of them growing with staff, entries, prizes or redemptions.
MAX_QUERIES = 12


def test_every_page_stays_under_a_fixed_query_count(world, busy, django_assert_max_num_queries):
    client = _staff_client(world)
    coupon_redemption = next(r for r in busy["redemptions"] if r.coupon_id)
    pages = [
        ("prizes", []),
        ("prize", [busy["prizes"][-1].pk]),
        ("lotteries", []),
        ("lottery", [busy["game"].pk]),
        ("draw", [busy["draws"][0].pk]),
        ("redemptions", []),
        ("redemption", [coupon_redemption.pk]),
    ]
    for name, args in pages:
        with django_assert_max_num_queries(MAX_QUERIES, info=name):
            _page(client, name, *args)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = _redeem(client, busy["prizes"][-1], confirmed="", shipping_address="Here 1")
        assert response.status_code == 200
