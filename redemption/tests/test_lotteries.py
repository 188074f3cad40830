"""Lotteries: the inflation guard on activation, draws recorded, inventories (SPEC §4)."""

import math
import random
import secrets
from collections import Counter
from decimal import Decimal
from unittest import mock

import pytest

from accounts.models import ApiKeyScope
from accounts.roles import Role
from accounts.tests.factories import StaffFactory
from core.errors import ConflictError, RuleRefusal, ValidationFailed
from coupons.tests.factories import active_batch
from points.models import EntryKind
from points.services import ledger_mismatches
from redemption import services
from redemption.models import LotteryDraw, LotteryOutcome
from redemption.services import lotteries

from .factories import give_points, link_customer, lottery, prize, staff_program

pytestmark = pytest.mark.django_db


def _draw(world, lot, staff=None):
    return services.lottery_draw(
        tenant=world.tenant, actor=world.system, lottery=lot, staff=staff or world.staff
    )


def _ticket(value):
    """The random source, pinned to one ticket out of TICKETS."""
    return mock.patch("secrets.SystemRandom.randrange", return_value=value)


def test_probabilities_must_add_up_to_one(world):
    with pytest.raises(ValidationFailed) as err:
        lottery(world, outcomes=[{"kind": "points", "points": 10, "probability": Decimal("0.4")}])
    assert err.value.code == "invalid_lottery"
    # says what is needed and what the table has, not "The probabilities add up to 1."
    assert err.value.fields["outcomes"] == [
        "The probabilities must add up to 1 (they add up to 0.4)."
    ]


def test_activation_refuses_an_inflationary_table(world):
    prog = staff_program(world)
    phone = prize(world, prog, points_cost=1000, value=Decimal("10.00"))
    # 0.5 * 150 + 0.1 * 1000 = 175 points back for 100 spent.
    outcomes = [
        {"kind": "points", "points": 150, "probability": Decimal("0.5")},
        {"kind": "prize", "prize": phone, "probability": Decimal("0.1"), "inventory": 3},
        {"kind": "nothing", "probability": Decimal("0.4")},
    ]
    lot = lottery(world, prog, cost_points=100, outcomes=outcomes)
    assert services.expected_points(lot) == Decimal("175")
    with pytest.raises(RuleRefusal) as err:
        services.lottery_activate(tenant=world.tenant, actor=world.system, lottery=lot)
    assert err.value.code == "lottery_inflationary"
    lot.refresh_from_db()
    assert lot.status == "draft"
    fair = lottery(world, prog, cost_points=175, outcomes=outcomes, activate=True)
    assert fair.status == "active"
    with pytest.raises(ConflictError):
        services.lottery_activate(tenant=world.tenant, actor=world.system, lottery=fair)


def test_api_activate_inflationary_is_422(world):
    lot = lottery(world, cost_points=10)  # returns 50 on average
    response = world.client(Role.OPERATOR).post(f"/api/v1/lotteries/{lot.pk}/activate")
    assert (response.status_code, response.json()["code"]) == (422, "lottery_inflationary")
    # 0.5 x 100 is Decimal 50.0, whose normalize() prints "5E+1"
    assert response.json()["detail"] == "A draw returns 50 points on average but costs 10."


def test_points_win_is_spent_and_credited_and_recorded(world):
    lot = lottery(world, activate=True)
    account = give_points(world, lot.program, world.staff, 300)
    with _ticket(0):  # the first half of the tickets: 100 points
        won = _draw(world, lot)
    with _ticket(999_999):  # the last: nothing
        lost = _draw(world, lot)
    account.refresh_from_db()
    assert account.balance == 300 - 100 + 100 - 100
    assert (won.outcome.kind, won.award_entry.points) == ("points", 100)
    assert won.award_entry.kind == EntryKind.ADJUST
    assert (lost.outcome.kind, lost.award_entry) == ("nothing", None)
    assert LotteryDraw.objects.for_tenant(world.tenant).count() == 2
    assert ledger_mismatches(account_ids=[account.pk]) == []


def test_exhausted_outcome_yields_nothing_and_prize_stock_is_taken(world):
    prog = staff_program(world)
    mug = prize(world, prog, name="Mug", points_cost=100, value=Decimal("1.00"), stock=5)
    outcomes = [
        {"kind": "prize", "prize": mug, "probability": Decimal("0.5"), "inventory": 1},
        {"kind": "nothing", "probability": Decimal("0.5")},
    ]
    lot = lottery(world, prog, cost_points=100, outcomes=outcomes, activate=True)
    give_points(world, prog, world.staff, 300)
    with _ticket(0):
        first = _draw(world, lot)
        second = _draw(world, lot)
    assert first.outcome.kind == "prize"
    assert second.outcome.kind == "nothing"
    mug.refresh_from_db()
    assert (mug.stock, mug.redeemed) == (4, 1)
    assert LotteryOutcome.objects.for_tenant(world.tenant).get(kind="prize").won == 1


def test_draw_refusals(world):
    lot = lottery(world)
    give_points(world, lot.program, world.staff, 50)
    with pytest.raises(RuleRefusal) as err:
        _draw(world, lot)
    assert err.value.code == "not_available"
    services.lottery_activate(tenant=world.tenant, actor=world.system, lottery=lot)
    with pytest.raises(RuleRefusal) as err:
        _draw(world, lot)
    assert err.value.code == "insufficient_points"
    assert LotteryOutcome.objects.for_tenant(world.tenant).filter(won__gt=0).count() == 0


def test_api_create_and_draw_with_a_points_key(world):
    client = world.client(Role.OPERATOR)
    body = {
        "program": staff_program(world).pk,
        "name": "Climax",
        "cost_points": 100,
        "outcomes": [
            {"kind": "points", "points": 50, "probability": "0.500000"},
            {"kind": "nothing", "probability": "0.5"},
        ],
    }
    created = client.post("/api/v1/lotteries", body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["status"] == "draft"
    assert len(created.json()["outcomes"]) == 2
    assert client.post(f"/api/v1/lotteries/{pk}/activate").status_code == 200
    give_points(world, staff_program(world), world.staff, 100)
    key = world.key_client(scopes=[ApiKeyScope.POINTS])
    drawn = key.post(f"/api/v1/lotteries/{pk}/draws", {"staff": world.staff.code}, format="json")
    assert drawn.status_code == 201, drawn.json()
    assert drawn.json()["points_spent"] == 100
    assert drawn.json()["kind"] in ("points", "nothing")
    assert (
        world.client(Role.FINANCE).post("/api/v1/lotteries", body, format="json").status_code == 403
    )


def test_draws_are_listed_for_those_who_may_read_them(world):
    lot = lottery(world, activate=True)
    colleague = StaffFactory(tenant=world.tenant, merchant=world.merchant)
    give_points(world, lot.program, world.staff, 100)
    give_points(world, lot.program, colleague, 100)
    with _ticket(999_999):
        _draw(world, lot)
        _draw(world, lot, colleague)
    url = f"/api/v1/lotteries/{lot.pk}/draws"
    listed = world.client(Role.AUDITOR).get(url).json()
    assert listed["count"] == 2
    assert {d["kind"] for d in listed["results"]} == {"nothing"}
    own = world.client(Role.MERCHANT_STAFF).get(url).json()
    assert [d["staff"] for d in own["results"]] == [world.staff.code]


# --- the odds, over many draws ----------------------------------------------------------------

ODDS = {"points": Decimal("0.05"), "prize": Decimal("0.15"), "coupon": Decimal("0.30")}
ODDS["nothing"] = Decimal(1) - sum(ODDS.values(), Decimal(0))


def _table() -> list[LotteryOutcome]:
    return [LotteryOutcome(kind=kind, probability=p) for kind, p in ODDS.items()]


def test_frequencies_over_100000_draws_are_within_bounds_of_the_odds():
    draws = 100_000
    source = random.Random(20261207)
    counts = Counter(lotteries._pick(_table(), source).kind for _ in range(draws))
    chi_square = 0.0
    for kind, p in ODDS.items():
        expected = draws * float(p)
        sigma = math.sqrt(expected * (1 - float(p)))
        assert abs(counts[kind] - expected) < 4 * sigma, (kind, counts[kind], expected)
        chi_square += (counts[kind] - expected) ** 2 / expected
    assert chi_square < 16.27  # 3 degrees of freedom, p = 0.001


def test_the_picker_would_notice_a_skewed_table():
    # The same check fails when the tickets are not spread as the odds say (the test can fail).
    source = random.Random(1)
    skewed = [LotteryOutcome(kind="points", probability=Decimal("0.06")), *_table()[1:]]
    counts = Counter(lotteries._pick(skewed, source).kind for _ in range(100_000))
    assert abs(counts["points"] - 5_000) > 4 * math.sqrt(5_000 * 0.95)


def test_draws_use_the_cryptographic_source_and_record_what_it_picked(world, monkeypatch):
    assert isinstance(lotteries.RANDOM, secrets.SystemRandom)
    lot = lottery(
        world,
        cost_points=100,
        outcomes=[
            {"kind": "points", "points": 150, "probability": Decimal("0.4")},
            {"kind": "nothing", "probability": Decimal("0.6")},
        ],
        activate=True,
    )
    give_points(world, lot.program, world.staff, 10_000)
    monkeypatch.setattr(lotteries, "RANDOM", random.Random(7))
    won = Counter(_draw(world, lot).outcome.kind for _ in range(60))
    replay = random.Random(7)
    outcomes = list(lot.outcomes.all())
    assert won == Counter(lotteries._pick(outcomes, replay).kind for _ in range(60))


# --- coupon wins, request keys, editing a draft ------------------------------------------------


def _coupon_lottery(world):
    batch = active_batch(world, per_customer_limit=5)
    return lottery(
        world,
        cost_points=100,
        outcomes=[
            {"kind": "coupon", "batch": batch, "probability": Decimal("0.04")},
            {"kind": "nothing", "probability": Decimal("0.96")},
        ],
        activate=True,
    )


def test_a_coupon_win_is_issued_to_the_merchants_customer_record(world):
    customer = link_customer(world)
    lot = _coupon_lottery(world)
    give_points(world, lot.program, world.staff, 100)
    with _ticket(0):
        draw = _draw(world, lot)
    assert draw.outcome.kind == "coupon"
    assert draw.coupon.customer_id == customer.pk and draw.coupon.code_to_show


def test_a_coupon_lottery_refuses_a_holder_without_a_linked_customer_before_drawing(world):
    lot = _coupon_lottery(world)
    account = give_points(world, lot.program, world.staff, 100)
    with pytest.raises(RuleRefusal) as caught:
        _draw(world, lot)
    assert caught.value.code == "no_linked_customer"
    account.refresh_from_db()
    assert account.balance == 100 and not LotteryDraw.objects.for_tenant(world.tenant).exists()


def test_the_same_request_key_returns_the_first_draw(world):
    lot = lottery(world, activate=True)
    account = give_points(world, lot.program, world.staff, 1000)
    first = services.lottery_draw(
        tenant=world.tenant, actor=world.system, lottery=lot, staff=world.staff, request_key="k"
    )
    again = services.lottery_draw(
        tenant=world.tenant, actor=world.system, lottery=lot, staff=world.staff, request_key="k"
    )
    assert again.pk == first.pk
    account.refresh_from_db()
    assert account.balance == 1000 - 100 + (first.award_entry.points if first.award_entry else 0)


def test_a_draft_is_edited_whole_and_a_live_lottery_not_at_all(world):
    lot = lottery(world)
    operator = world.actor(Role.OPERATOR)
    table = [
        {"kind": "points", "points": 40, "probability": Decimal("0.25")},
        {"kind": "nothing", "probability": Decimal("0.75")},
    ]
    edited = services.lottery_update(
        tenant=world.tenant, actor=operator, lottery=lot, name="Night draw", cost_points=20,
        outcomes=table,
    )  # fmt: skip
    assert (edited.name, edited.cost_points) == ("Night draw", 20)
    assert [(o.kind, o.points) for o in edited.outcomes.order_by("id")] == [
        ("points", 40), ("nothing", None),
    ]  # fmt: skip
    with pytest.raises(ValidationFailed):
        services.lottery_update(
            tenant=world.tenant, actor=operator, lottery=lot, name="x", cost_points=20,
            outcomes=table[:1],
        )  # fmt: skip
    services.lottery_activate(tenant=world.tenant, actor=operator, lottery=lot)
    with pytest.raises(ConflictError) as caught:
        services.lottery_update(
            tenant=world.tenant, actor=operator, lottery=lot, name="x", cost_points=20,
            outcomes=table,
        )  # fmt: skip
    assert caught.value.code == "invalid_transition"


def test_a_physical_prize_is_not_a_lottery_outcome(world):
    power_bank = prize(world, kind="physical", name="Power bank")
    with pytest.raises(ValidationFailed) as caught:
        lottery(
            world,
            outcomes=[
                {"kind": "prize", "prize": power_bank, "probability": Decimal("0.1")},
                {"kind": "nothing", "probability": Decimal("0.9")},
            ],
        )
    assert "catalogue" in caught.value.detail
