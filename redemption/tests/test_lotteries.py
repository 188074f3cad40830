"""Lotteries: the inflation guard on activation, draws recorded, inventories (SPEC §4)."""

from decimal import Decimal
from unittest import mock

import pytest

from accounts.models import ApiKeyScope
from accounts.roles import Role
from accounts.tests.factories import StaffFactory
from core.errors import ConflictError, RuleRefusal, ValidationFailed
from points.models import EntryKind
from points.services import ledger_mismatches
from redemption import services
from redemption.models import LotteryDraw, LotteryOutcome

from .factories import give_points, lottery, prize, staff_program

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
