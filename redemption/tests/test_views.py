"""Console pages of prizes, lotteries and fulfilment through Django's test client."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import MerchantFactory, StaffFactory
from core.models import AuditEntry
from coupons.tests.factories import draft_batch
from points.models import EntryKind, LedgerEntry
from points.tests.factories import program
from redemption import services
from redemption.models import Lottery, LotteryStatus, Prize, PrizeRedemption

from .factories import give_points, lottery, prize, staff_program

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def _prize_form(world, **changes) -> dict:
    form = {
        "program": staff_program(world).pk,
        "name": "Thermos flask",
        "kind": "physical",
        "points_cost": "2000",
        "value": "20.00",
        "stock": "5",
        "per_holder_limit": "1",
        "available_from": "2026-11-01T08:00",
        "available_until": "",
        "coupon_batch": "",
    }
    form.update(changes)
    return form


def _outcomes(*rows, prefix="outcomes", initial=0) -> dict:
    """The formset's POST data: rows of {kind, points, prize, batch, percent, inventory}."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for name in ("kind", "points", "prize", "batch", "percent", "inventory"):
            data[f"{prefix}-{i}-{name}"] = str(row.get(name, ""))
    return data


def _shipped_prize(world, *, staff=None, points=5000):
    """A physical prize redeemed by the staff member, waiting to ship."""
    p = prize(world, name="Desk lamp", kind="physical", points_cost=1000, stock=3)
    staff = staff or world.staff
    account = give_points(world, staff_program(world), staff, points)
    redemption = services.prize_redeem(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        staff=staff,
        prize=p,
        shipping_address="1 Harbour Road\nShanghai",
    )
    return p, account, redemption


# --- the lists, as before ----------------------------------------------------------------------


def test_prize_and_lottery_pages_with_nav(world):
    prize(world, name="Phone top-up 10", stock=0)
    lottery(world, cost_points=80)
    client = world.console_client(Role.AUDITOR)
    prizes = client.get(reverse("redemption:prize_list")).content.decode()
    assert "Phone top-up 10" in prizes and "Out of stock" in prizes
    assert reverse("redemption:lottery_list") in prizes  # in the navigation
    lotteries = client.get(reverse("redemption:lottery_list")).content.decode()
    assert "Climax lottery" in lotteries
    assert f"{Decimal('50'):.2f}" in lotteries  # 0.5 x 100 points back for 80
    assert "Points 100 — 50 %" in lotteries  # probabilities as people read them


def test_pages_are_for_console_readers(world):
    finance = world.console_client(Role.FINANCE)
    assert finance.get(reverse("redemption:prize_list")).status_code == 200
    staff = world.console_client(Role.MERCHANT_STAFF)
    assert staff.get(reverse("redemption:prize_list")).status_code != 200


# --- prizes -----------------------------------------------------------------------------------


def test_operator_creates_a_prize_and_reads_its_page(world):
    client = world.console_client(Role.OPERATOR)
    assert "New prize" in _text(client.get(reverse("redemption:prize_list")))
    form_page = _text(client.get(reverse("redemption:prize_create")))
    assert "Asia/Shanghai" in form_page  # availability is read in the tenant's time zone
    response = client.post(reverse("redemption:prize_create"), _prize_form(world))
    created = Prize.objects.for_tenant(world.tenant).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("redemption:prize_detail", args=[created.pk])
    assert (created.name, created.kind, created.points_cost, created.stock) == (
        "Thermos flask", "physical", 2000, 5,
    )  # fmt: skip
    assert created.per_holder_limit == 1 and created.value == Decimal("20.00")
    # 08:00 in Shanghai is midnight UTC.
    assert created.available_from == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    page = _text(client.get(reverse("redemption:prize_detail", args=[created.pk])))
    assert "Thermos flask" in page and "2026-11-01 08:00" in page
    assert "created with a stock of 5" in page  # the stock history starts at creation
    assert "Adjust stock" in page and "Deactivate" in page


def test_prize_form_takes_a_product_group(world):
    client = world.console_client(Role.OPERATOR)
    assert "Product group" in _text(client.get(reverse("redemption:prize_create")))
    response = client.post(reverse("redemption:prize_create"), _prize_form(world, group="Flasks"))
    assert response.status_code == 302
    made = Prize.objects.for_tenant(world.tenant).get()
    assert made.group == "Flasks"
    assert "Flasks" in _text(client.get(reverse("redemption:prize_detail", args=[made.pk])))
    edit = reverse("redemption:prize_edit", args=[made.pk])
    assert 'value="Flasks"' in _text(client.get(edit))
    saved = client.post(
        edit,
        {"name": "Thermos flask", "group": "", "points_cost": "2000", "value": "20.00",
         "per_holder_limit": "1", "available_from": "", "available_until": ""},
    )  # fmt: skip
    assert saved.status_code == 302
    made.refresh_from_db()
    assert made.group == ""


def test_refused_prize_shows_the_field_error_and_saves_nothing(world):
    client = world.console_client(Role.OPERATOR)
    url = reverse("redemption:prize_create")
    # 10.00 for 100 points is 0.10 a point, ten times the program's 0.01.
    cheap = client.post(url, _prize_form(world, points_cost="100", value="10.00"))
    assert cheap.status_code == 200
    page = _text(cheap)
    assert "gives 0.100000 a point, outside the program&#x27;s range 0.008000 to 0.012000" in page
    value_field = page.split('class="mb-3 field-value"')[1].split("</div>")[0]
    assert "is-invalid" in value_field and 'aria-invalid="true"' in value_field
    no_batch = client.post(url, _prize_form(world, kind="coupon"))
    assert "A coupon prize needs a coupon batch." in _text(no_batch)
    assert not Prize.objects.for_tenant(world.tenant).exists()


def test_coupon_prize_takes_a_batch_of_the_actor(world, other_world):
    batch = draft_batch(world)
    foreign = draft_batch(other_world)
    client = world.console_client(Role.OPERATOR)
    url = reverse("redemption:prize_create")
    form = _prize_form(world, kind="coupon", name="Voucher", value="0.00", stock="100")
    assert batch.name in _text(client.get(url))  # offered in the select
    forged = client.post(url, {**form, "coupon_batch": foreign.pk})
    assert "Select a valid choice." in _text(forged)
    assert client.post(url, {**form, "coupon_batch": batch.pk}).status_code == 302
    assert Prize.objects.for_tenant(world.tenant).get().coupon_batch == batch


def test_edit_then_deactivate_and_activate_a_prize(world):
    p = prize(world, name="Phone top-up", stock=10)
    client = world.console_client(Role.OPERATOR)
    url = reverse("redemption:prize_edit", args=[p.pk])
    form_page = _text(client.get(url))
    assert 'name="stock"' not in form_page and 'name="kind"' not in form_page
    assert 'value="Phone top-up"' in form_page
    response = client.post(
        url,
        {"name": "Phone top-up 20", "points_cost": "2000", "value": "20.00",
         "per_holder_limit": "", "available_from": "", "available_until": ""},
    )  # fmt: skip
    assert response.status_code == 302
    p.refresh_from_db()
    assert (p.name, p.points_cost, p.value, p.stock) == ("Phone top-up 20", 2000, 20, 10)
    update = AuditEntry.objects.for_tenant(world.tenant).get(action="prize.update")
    assert update.before["name"] == "Phone top-up" and update.after["name"] == "Phone top-up 20"

    deactivate = reverse("redemption:prize_action", args=[p.pk, "deactivate"])
    assert client.post(deactivate).status_code == 302
    p.refresh_from_db()
    assert not p.is_active
    page = _text(client.get(reverse("redemption:prize_detail", args=[p.pk])))
    assert "inactive" in page and "Activate" in page
    client.post(reverse("redemption:prize_action", args=[p.pk, "activate"]))
    p.refresh_from_db()
    assert p.is_active


def test_edit_refusal_stays_on_the_form(world):
    p = prize(world, name="Phone top-up", stock=10)
    client = world.console_client(Role.OPERATOR)
    response = client.post(
        reverse("redemption:prize_edit", args=[p.pk]),
        {"name": "Phone top-up", "points_cost": "10", "value": "10.00"},
    )
    assert response.status_code == 200
    assert "outside the program&#x27;s range" in _text(response)
    p.refresh_from_db()
    assert p.points_cost == 1000


def test_stock_adjustment_is_audited_and_in_the_history(world):
    p = prize(world, stock=10)
    client = world.console_client(Role.OPERATOR)
    url = reverse("redemption:prize_stock_adjust", args=[p.pk])
    done = client.post(url, {"stock-delta": "5", "stock-reason": "Delivery from the supplier"})
    assert done.status_code == 302
    p.refresh_from_db()
    assert p.stock == 15
    entry = AuditEntry.objects.for_tenant(world.tenant).get(action="prize.stock_adjust")
    assert entry.note == "Delivery from the supplier" and entry.after["stock"] == 15
    assert entry.actor_label == world.members[Role.OPERATOR].user.username
    page = _text(client.get(reverse("redemption:prize_detail", args=[p.pk])))
    assert "+5" in page and "(10 → 15)" in page and "Delivery from the supplier" in page

    too_many = client.post(url, {"stock-delta": "-16", "stock-reason": "Broken"})
    assert too_many.status_code == 200
    assert "Only 15 in stock to remove." in _text(too_many)
    no_reason = client.post(url, {"stock-delta": "-1", "stock-reason": ""})
    assert no_reason.status_code == 200 and "This field is required." in _text(no_reason)
    p.refresh_from_db()
    assert p.stock == 15
    assert (
        AuditEntry.objects.for_tenant(world.tenant).filter(action="prize.stock_adjust").count() == 1
    )


def test_prize_page_lists_recent_redemptions(world):
    p, _account, _redemption = _shipped_prize(world)
    page = _text(
        world.console_client(Role.AUDITOR).get(reverse("redemption:prize_detail", args=[p.pk]))
    )
    assert world.staff.code in page and world.merchant.name in page and "To ship" in page


# --- lotteries --------------------------------------------------------------------------------


def test_lottery_create_with_its_prize_table(world):
    client = world.console_client(Role.OPERATOR)
    url = reverse("redemption:lottery_create")
    page = _text(client.get(url))
    assert "js/lottery_outcomes.js" in page and "data-outcome-template" in page
    assert "<script>" not in page.split("</main>")[0]  # no inline script (a CSP will forbid it)
    head = {"program": staff_program(world).pk, "name": "Lucky wheel", "cost_points": "80"}
    rows = [
        {"kind": "points", "points": "100", "percent": "12.5", "inventory": "10"},
        {"kind": "nothing", "percent": "77.5"},
    ]
    short = client.post(url, {**head, **_outcomes(*rows)})
    assert short.status_code == 200
    assert "The probabilities add up to 90 %; they must make exactly 100 %." in _text(short)
    assert not Lottery.objects.for_tenant(world.tenant).exists()

    rows[1]["percent"] = "87.5"
    rows[1]["inventory"] = "5"  # a "nothing" row has no inventory: dropped, not refused
    response = client.post(url, {**head, **_outcomes(*rows)})
    made = Lottery.objects.for_tenant(world.tenant).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("redemption:lottery_detail", args=[made.pk])
    assert made.status == LotteryStatus.DRAFT and made.cost_points == 80
    assert [(o.kind, o.points, o.probability, o.inventory) for o in made.outcomes.all()] == [
        ("points", 100, Decimal("0.125"), 10),
        ("nothing", None, Decimal("0.875"), None),
    ]
    detail = _text(client.get(response["Location"]))
    assert "12.5 %" in detail and "12.50" in detail  # odds and the points a draw returns
    assert "Activate" in detail and "Edit" in detail


def test_lottery_refusals_of_the_service_show_on_the_form(world):
    main = staff_program(world)
    other_program = program(world, name="Zeta staff program")
    foreign_prize = prize(world, other_program, name="Not this program's")
    client = world.console_client(Role.OPERATOR)
    head = {"program": main.pk, "name": "Lucky wheel", "cost_points": "80"}
    rows = [
        {"kind": "prize", "prize": foreign_prize.pk, "percent": "10"},
        {"kind": "nothing", "percent": "90"},
    ]
    response = client.post(reverse("redemption:lottery_create"), {**head, **_outcomes(*rows)})
    assert response.status_code == 200
    assert "A prize of the lottery&#x27;s program." in _text(response)
    missing = client.post(
        reverse("redemption:lottery_create"),
        {**head, **_outcomes({"kind": "points", "percent": "100"})},
    )
    assert "Required for this outcome." in _text(missing)
    assert not Lottery.objects.for_tenant(world.tenant).exists()


def test_edit_a_draft_lottery(world):
    draft = lottery(world, cost_points=100)
    client = world.console_client(Role.OPERATOR)
    url = reverse("redemption:lottery_edit", args=[draft.pk])
    page = _text(client.get(url))
    assert 'value="Climax lottery"' in page and 'value="50"' in page  # 0.5 shown as 50 %
    rows = [
        {"kind": "points", "points": "200", "percent": "25"},
        {"kind": "nothing", "percent": "75"},
    ]
    response = client.post(
        url, {"name": "Climax wheel", "cost_points": "60", **_outcomes(*rows, initial=2)}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.name, draft.cost_points) == ("Climax wheel", 60)
    assert [(o.points, o.probability) for o in draft.outcomes.all()] == [
        (200, Decimal("0.25")),
        (None, Decimal("0.75")),
    ]
    assert AuditEntry.objects.for_tenant(world.tenant).filter(action="lottery.update").exists()


def test_a_live_lottery_is_not_edited(world):
    live = lottery(world, cost_points=80, activate=True)
    client = world.console_client(Role.OPERATOR)
    url = reverse("redemption:lottery_edit", args=[live.pk])
    response = client.get(url, follow=True)
    assert "Only a draft lottery can be changed." in _text(response)
    assert reverse("redemption:lottery_edit", args=[live.pk]) not in _text(
        client.get(reverse("redemption:lottery_detail", args=[live.pk]))
    )


def test_activate_refuses_an_inflationary_lottery_then_activate_and_end(world):
    generous = lottery(world, cost_points=40)  # returns 50 on average
    client = world.console_client(Role.OPERATOR)
    detail = reverse("redemption:lottery_detail", args=[generous.pk])
    assert "it would create points" in _text(client.get(detail))
    response = client.post(
        reverse("redemption:lottery_action", args=[generous.pk, "activate"]), follow=True
    )
    assert "A draw returns 50 points on average but costs 40." in _text(response)
    generous.refresh_from_db()
    assert generous.status == LotteryStatus.DRAFT

    fair = lottery(world, cost_points=80)
    client.post(reverse("redemption:lottery_action", args=[fair.pk, "activate"]))
    fair.refresh_from_db()
    assert fair.status == LotteryStatus.ACTIVE
    page = _text(client.get(reverse("redemption:lottery_detail", args=[fair.pk])))
    assert "End lottery" in page and reverse("redemption:lottery_edit", args=[fair.pk]) not in page
    client.post(reverse("redemption:lottery_action", args=[fair.pk, "end"]))
    fair.refresh_from_db()
    assert fair.status == LotteryStatus.ENDED
    again = client.post(reverse("redemption:lottery_action", args=[fair.pk, "end"]), follow=True)
    assert again.status_code == 200 and "alert-danger" in _text(again)


# --- fulfilment -------------------------------------------------------------------------------


def test_fulfilment_ship_then_deliver(world):
    _p, _account, redemption = _shipped_prize(world)
    client = world.console_client(Role.OPERATOR)
    queue = reverse("redemption:fulfilment_list")
    page = _text(client.get(queue))
    assert "Desk lamp" in page and world.staff.code in page and world.merchant.name in page
    assert "1 Harbour Road<br>Shanghai" in page and "Mark shipped" in page
    ship = reverse("redemption:fulfilment_ship", args=[redemption.pk])

    incomplete = client.post(ship, {"carrier": "SF Express", "tracking_number": ""}, follow=True)
    assert "Give the carrier and the tracking number." in _text(incomplete)
    response = client.post(
        ship, {"carrier": "SF Express", "tracking_number": "SF123456", "next": queue}
    )
    assert response.status_code == 302 and response["Location"] == queue
    redemption.refresh_from_db()
    assert (redemption.fulfilment_status, redemption.carrier, redemption.tracking_number) == (
        "shipped", "SF Express", "SF123456",
    )  # fmt: skip
    assert redemption.shipped_at is not None
    assert "Desk lamp" not in _text(client.get(queue))  # no longer to ship
    shipped = _text(client.get(queue, {"fulfilment": "shipped"}))
    assert "SF123456" in shipped and "Mark delivered" in shipped

    client.post(reverse("redemption:fulfilment_action", args=[redemption.pk, "deliver"]))
    redemption.refresh_from_db()
    assert redemption.fulfilment_status == "delivered" and redemption.delivered_at is not None
    delivered = _text(client.get(queue, {"fulfilment": "delivered"}))
    assert "SF123456" in delivered and "Mark delivered" not in delivered
    assert "Desk lamp" in _text(client.get(queue, {"fulfilment": ""}))  # "All"


def test_fulfilment_search_and_only_physical_prizes(world):
    _shipped_prize(world)
    top_up = prize(world, name="Phone top-up", kind="virtual")
    services.prize_redeem(
        tenant=world.tenant, actor=world.actor(Role.OPERATOR), staff=world.staff, prize=top_up
    )
    client = world.console_client(Role.OPERATOR)
    queue = reverse("redemption:fulfilment_list")
    everything = _text(client.get(queue, {"fulfilment": ""}))
    assert "Desk lamp" in everything and "Phone top-up" not in everything
    assert "Desk lamp" in _text(client.get(queue, {"q": world.staff.code}))
    assert "Desk lamp" in _text(client.get(queue, {"q": "lamp"}))
    assert "Desk lamp" not in _text(client.get(queue, {"q": "nobody-like-this"}))


def test_cancel_refunds_points_and_stock_once(world):
    p, account, redemption = _shipped_prize(world)
    client = world.console_client(Role.OPERATOR)
    cancel = reverse("redemption:fulfilment_action", args=[redemption.pk, "cancel"])
    done = client.post(cancel, follow=True)
    assert "the points were refunded" in _text(done)
    account.refresh_from_db()
    p.refresh_from_db()
    redemption.refresh_from_db()
    assert account.balance == 5000 and (p.stock, p.redeemed) == (3, 0)
    assert redemption.status == "cancelled"
    again = client.post(cancel, follow=True)
    assert again.status_code == 200 and "alert-danger" in _text(again)
    account.refresh_from_db()
    p.refresh_from_db()
    assert account.balance == 5000 and p.stock == 3
    refunds = LedgerEntry.objects.for_tenant(world.tenant).filter(
        account=account, kind=EntryKind.REFUND
    )
    assert refunds.count() == 1
    cancelled = _text(
        client.get(reverse("redemption:fulfilment_list"), {"fulfilment": "cancelled"})
    )
    assert "Desk lamp" in cancelled and "Mark shipped" not in cancelled


def test_fulfilment_queue_stays_under_a_fixed_query_count(world, django_assert_max_num_queries):
    p = prize(world, name="Desk lamp", kind="physical", points_cost=1000, stock=40)
    merchants = [MerchantFactory(tenant=world.tenant, region=world.region) for _ in range(5)]
    for i in range(25):  # one each: redemptions are throttled per holder
        staff = StaffFactory(tenant=world.tenant, merchant=merchants[i % 5])
        give_points(world, staff_program(world), staff, 1000)
        services.prize_redeem(
            tenant=world.tenant,
            actor=world.actor(Role.OPERATOR),
            staff=staff,
            prize=p,
            shipping_address="1 Harbour Road",
        )
    client = world.console_client(Role.OPERATOR)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("redemption:fulfilment_list"))
    assert _text(response).count("Mark shipped") == 25


# --- who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.FINANCE, Role.AUDITOR])
def test_finance_and_auditors_read_without_buttons(world, role):
    p, _account, redemption = _shipped_prize(world)
    draft = lottery(world, cost_points=80)
    client = world.console_client(role)
    prize_page = _text(client.get(reverse("redemption:prize_detail", args=[p.pk])))
    assert "Desk lamp" in prize_page
    for button in ("Adjust stock", "Deactivate", reverse("redemption:prize_edit", args=[p.pk])):
        assert button not in prize_page
    assert "New prize" not in _text(client.get(reverse("redemption:prize_list")))
    lottery_page = _text(client.get(reverse("redemption:lottery_detail", args=[draft.pk])))
    assert "Climax lottery" in lottery_page and "End lottery" not in lottery_page
    assert "New lottery" not in _text(client.get(reverse("redemption:lottery_list")))
    queue = _text(client.get(reverse("redemption:fulfilment_list")))
    assert "Desk lamp" in queue and "Mark shipped" not in queue
    writes = [
        (reverse("redemption:prize_create"), _prize_form(world)),
        (reverse("redemption:prize_edit", args=[p.pk]), {"name": "x"}),
        (reverse("redemption:prize_stock_adjust", args=[p.pk]), {"stock-delta": "1", "stock-reason": "x"}),
        (reverse("redemption:prize_action", args=[p.pk, "deactivate"]), {}),
        (reverse("redemption:lottery_create"), {}),
        (reverse("redemption:lottery_edit", args=[draft.pk]), {}),
        (reverse("redemption:lottery_action", args=[draft.pk, "activate"]), {}),
        (reverse("redemption:fulfilment_ship", args=[redemption.pk]), {"carrier": "x", "tracking_number": "y"}),
        (reverse("redemption:fulfilment_action", args=[redemption.pk, "cancel"]), {}),
    ]  # fmt: skip
    for url, data in writes:
        assert client.post(url, data).status_code == 403, url
    p.refresh_from_db()
    redemption.refresh_from_db()
    assert p.is_active and p.stock == 2 and redemption.status == "redeemed"


@pytest.mark.parametrize("role", [Role.MERCHANT_ADMIN, Role.MERCHANT_STAFF])
def test_merchant_roles_are_sent_to_the_portal(world, role):
    client = world.console_client(role)
    for name in ("prize_list", "lottery_list", "fulfilment_list", "prize_create"):
        response = client.get(reverse(f"redemption:{name}"))
        assert response.status_code == 302 and response["Location"] == reverse("portal:home")


def test_regional_operator_fulfils_their_regions_only(world):
    far_merchant = MerchantFactory(tenant=world.tenant, region=world.other_region)
    far_staff = StaffFactory(tenant=world.tenant, merchant=far_merchant, name="Far Away")
    _p, _account, near = _shipped_prize(world)
    give_points(world, staff_program(world), far_staff, 5000)
    far = services.prize_redeem(
        tenant=world.tenant,
        actor=world.actor(Role.OPERATOR),
        staff=far_staff,
        prize=near.prize,
        shipping_address="9 Far Street",
    )
    client = world.console_client(Role.REGIONAL_OPERATOR)
    queue = _text(client.get(reverse("redemption:fulfilment_list")))
    assert world.staff.code in queue and far_staff.code not in queue
    ship = reverse("redemption:fulfilment_ship", args=[far.pk])
    assert client.post(ship, {"carrier": "SF", "tracking_number": "1"}).status_code == 404
    cancel = reverse("redemption:fulfilment_action", args=[far.pk, "cancel"])
    assert client.post(cancel).status_code == 404
    assert (
        client.post(
            reverse("redemption:fulfilment_ship", args=[near.pk]),
            {"carrier": "SF", "tracking_number": "1"},
        ).status_code
        == 302
    )
    near.refresh_from_db()
    far.refresh_from_db()
    assert near.fulfilment_status == "shipped" and far.fulfilment_status == "pending"


def test_another_tenants_objects_are_not_found(world, other_world):
    foreign_prize = prize(other_world, name="Elsewhere")
    foreign_lottery = lottery(other_world)
    _p, _account, foreign_redemption = _shipped_prize(other_world)
    client = world.console_client(Role.OPERATOR)
    gets = [
        reverse("redemption:prize_detail", args=[foreign_prize.pk]),
        reverse("redemption:prize_edit", args=[foreign_prize.pk]),
        reverse("redemption:lottery_detail", args=[foreign_lottery.pk]),
        reverse("redemption:lottery_edit", args=[foreign_lottery.pk]),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [
        reverse("redemption:prize_stock_adjust", args=[foreign_prize.pk]),
        reverse("redemption:prize_action", args=[foreign_prize.pk, "deactivate"]),
        reverse("redemption:lottery_action", args=[foreign_lottery.pk, "activate"]),
        reverse("redemption:fulfilment_action", args=[foreign_redemption.pk, "cancel"]),
    ]
    for url in posts:
        assert client.post(url, {"stock-delta": "1", "stock-reason": "x"}).status_code == 404, url
    assert PrizeRedemption.objects.for_tenant(other_world.tenant).get().status == "redeemed"


def test_editing_only_a_drafts_name_keeps_its_outcomes(world):
    draft = lottery(world, cost_points=100)
    client = world.console_client(Role.OPERATOR)
    unchanged = [
        {"kind": "points", "points": "100", "percent": "50"},
        {"kind": "nothing", "percent": "50"},
    ]
    response = client.post(
        reverse("redemption:lottery_edit", args=[draft.pk]),
        {"name": "Renamed", "cost_points": "100", **_outcomes(*unchanged, initial=2)},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "Renamed"
    assert [(o.kind, o.probability) for o in draft.outcomes.all()] == [
        ("points", Decimal("0.5")),
        ("nothing", Decimal("0.5")),
    ]
