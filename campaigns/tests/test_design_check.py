"""Every design check of SPEC §6: a design that triggers it, and one that passes it."""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import RegionFactory, StaffFactory
from budgets.tests.factories import approved_budget
from campaigns import services
from campaigns.models import CampaignStatus
from campaigns.tests.factories import new_campaign, set_status
from core.errors import RuleRefusal
from core.models import AuditEntry
from orders.services import OrderFacts, order_place
from points import services as points_services
from points.tests.factories import program, rule
from redemption import services as redemption_services
from redemption.models import Lottery, LotteryStatus, Prize
from redemption.tests.factories import lottery, prize

pytestmark = pytest.mark.django_db


def _campaign(world, *, amount="1000.00", regions=None):
    budget = approved_budget(world, amount=amount, purpose="points")
    return new_campaign(world, budget=budget, regions=regions or [world.region])


def _check(world, campaign) -> dict:
    report = services.campaign_check(tenant=world.tenant, campaign=campaign)
    return {item["code"]: item for item in report["errors"] + report["warnings"]}


def _first_n(world, campaign, prog, *, regions=None, cap_total=7500, points=10, to=1000):
    return rule(
        world, campaign, prog, regions=regions or [world.region, world.other_region],
        kind="region_first_n", tiers=[{"from": 1, "to": to, "points": points}], cap_total=cap_total,
    )  # fmt: skip


class TestPrizeUnreachable:
    def test_the_reviews_top_prize_above_what_the_campaign_can_award(self, world):
        campaign, prog = _campaign(world), program(world)
        iphone = prize(world, prog, name="iPhone X", points_cost=10_000, value=Decimal("100.00"))
        _first_n(world, campaign, prog, cap_total=7500)
        found = _check(world, campaign)["prize_unreachable"]
        assert found["severity"] == "error"
        assert found["figures"] == {"points_cost": 10_000, "max_per_holder": 7500}
        assert "10,000" in found["detail"] and "7,500" in found["detail"]
        assert found["object"] == {
            "type": "prize", "id": iphone.pk, "name": "iPhone X",
            "url": f"/console/prizes/{iphone.pk}/edit/",
        }  # fmt: skip

    def test_weekly_caps_bound_a_holder_over_the_campaigns_weeks(self, world):
        campaign, prog = _campaign(world), program(world, weekly_cap=50)
        prize(world, prog, points_cost=1000, value=Decimal("10.00"))
        rule(world, campaign, prog, kind="per_order", points=10)
        found = _check(world, campaign)["prize_unreachable"]
        weeks = found["figures"]["max_per_holder"] // 50
        assert found["figures"]["max_per_holder"] == 50 * weeks and 2 <= weeks <= 3  # 9 days

    def test_a_reachable_prize_or_an_uncapped_rule_passes(self, world):
        campaign, prog = _campaign(world), program(world)
        prize(world, prog, points_cost=7000, value=Decimal("70.00"))
        _first_n(world, campaign, prog, cap_total=7500)
        assert "prize_unreachable" not in _check(world, campaign)
        other = _campaign(world)
        rule(world, other, prog, kind="per_order", points=1)  # nothing bounds a holder
        assert "prize_unreachable" not in _check(world, other)


class TestPointsExceedBudget:
    def test_what_the_rules_can_award_beyond_what_the_budget_can_pay(self, world):
        campaign, prog = _campaign(world, amount="50.00"), program(world)  # 0.01 a point
        _first_n(world, campaign, prog, cap_total=7500)
        found = _check(world, campaign)["points_exceed_budget"]
        assert found["severity"] == "error"
        assert found["figures"] == {"points": 7500, "money": "75.00", "can_pay": "50.00"}
        assert found["object"]["type"] == "budget"

    def test_a_budget_that_covers_the_caps_passes(self, world):
        campaign, prog = _campaign(world, amount="75.00"), program(world)
        _first_n(world, campaign, prog, cap_total=7500)
        assert "points_exceed_budget" not in _check(world, campaign)


class TestPointValue:
    def _review_program(self, world, **kwargs):
        return program(world, name="Review points", point_value=Decimal("0.1"), **kwargs)

    def test_seed_000_small_top_ups_beat_the_bundle(self, world):
        campaign = _campaign(world)
        prog = self._review_program(
            world, point_value_min=Decimal("0.05"), point_value_max=Decimal("0.25")
        )
        small = prize(world, prog, name="Top-up 5 CNY", points_cost=25, value=Decimal("5.00"))
        big = prize(world, prog, name="Top-up 10 CNY", points_cost=150, value=Decimal("10.00"))
        rule(world, campaign, prog, kind="per_order", points=5)
        checks = _check(world, campaign)
        found = checks["bundle_arbitrage"]
        assert found["severity"] == "error" and found["object"]["id"] == big.pk
        assert found["figures"]["units"] == 2 and found["figures"]["units_points"] == 50
        assert [p["id"] for p in found["figures"]["prizes"]] == [small.pk, big.pk]
        assert [p["per_point"] for p in found["figures"]["prizes"]] == ["0.200000", "0.066667"]
        assert "point_value_inconsistent" not in checks  # the pair is reported once

    def test_seed_002_a_value_per_point_rising_with_the_price_passes(self, world):
        campaign = _campaign(world)
        prog = program(
            world, name="Red envelopes", point_value=Decimal("0.01"),
            point_value_min=Decimal("0.01"), point_value_max=Decimal("0.2"),
        )  # fmt: skip
        prize(world, prog, name="Red envelope 0.5 CNY", points_cost=50, value=Decimal("0.50"))
        prize(world, prog, name="Red envelope 88 CNY", points_cost=500, value=Decimal("88.00"))
        rule(world, campaign, prog, kind="per_order", points=5)
        checks = _check(world, campaign)
        assert not {"bundle_arbitrage", "point_value_inconsistent"} & set(checks)

    def test_a_falling_curve_that_cannot_be_gamed_is_a_warning(self, world):
        campaign, prog = _campaign(world), program(world)  # 0.008 to 0.012 a point
        prize(world, prog, name="Voucher 1.20", points_cost=100, value=Decimal("1.20"))
        prize(world, prog, name="Voucher 1.25", points_cost=150, value=Decimal("1.25"))
        rule(world, campaign, prog, kind="per_order", points=5)
        found = _check(world, campaign)["point_value_inconsistent"]
        assert found["severity"] == "warning" and "0.012000" in found["detail"]
        assert "bundle_arbitrage" not in _check(world, campaign)

    def test_a_per_holder_limit_that_stops_the_arbitrage_leaves_a_warning(self, world):
        campaign = _campaign(world)
        prog = self._review_program(
            world, point_value_min=Decimal("0.05"), point_value_max=Decimal("0.25")
        )
        prize(world, prog, name="Top-up 5", points_cost=25, value=Decimal("5.00"),
              per_holder_limit=1)  # fmt: skip
        prize(world, prog, name="Top-up 10", points_cost=150, value=Decimal("10.00"))
        rule(world, campaign, prog, kind="per_order", points=5)
        checks = _check(world, campaign)
        assert "bundle_arbitrage" not in checks
        assert checks["point_value_inconsistent"]["severity"] == "warning"

    def test_prizes_of_other_groups_are_not_compared(self, world):
        campaign = _campaign(world)
        prog = self._review_program(
            world, point_value_min=Decimal("0.05"), point_value_max=Decimal("0.25")
        )
        prize(world, prog, name="Top-up 5", points_cost=25, value=Decimal("5.00"), group="Top-up")
        prize(world, prog, name="E-card", points_cost=150, value=Decimal("10.00"), group="E-card")
        rule(world, campaign, prog, kind="per_order", points=5)
        assert not {"bundle_arbitrage", "point_value_inconsistent"} & set(_check(world, campaign))

    def test_a_prize_outside_the_programs_range_is_an_error(self, world):
        campaign, prog = _campaign(world), program(world)
        made = prize(world, prog, points_cost=1000, value=Decimal("10.00"))
        rule(world, campaign, prog, kind="per_order", points=5)
        assert "point_value_inconsistent" not in _check(world, campaign)
        # priced before the range was narrowed
        Prize.objects.for_tenant(world.tenant).filter(pk=made.pk).update(value=Decimal("20.00"))
        found = _check(world, campaign)["point_value_inconsistent"]
        assert found["severity"] == "error" and found["figures"]["per_point"] == "0.020000"


class TestLotteryInflationary:
    def test_a_draft_lottery_returning_more_than_it_costs_is_a_warning(self, world):
        campaign, prog = _campaign(world), program(world)
        rule(world, campaign, prog, kind="per_order", points=5)
        lottery(
            world, prog, cost_points=100,
            outcomes=[{"kind": "points", "points": 300, "probability": Decimal("0.5")},
                      {"kind": "nothing", "probability": Decimal("0.5")}],
        )  # fmt: skip
        found = _check(world, campaign)["lottery_inflationary"]
        assert found["severity"] == "warning"
        assert found["figures"] == {"cost_points": 100, "expected_points": "150.00"}

    def test_an_active_one_is_an_error_and_a_sound_one_passes(self, world):
        campaign, prog = _campaign(world), program(world)
        rule(world, campaign, prog, kind="per_order", points=5)
        sound = lottery(world, prog, activate=True)  # returns 50 of 100
        assert "lottery_inflationary" not in _check(world, campaign)
        Lottery.objects.for_tenant(world.tenant).filter(pk=sound.pk).update(cost_points=10)
        found = _check(world, campaign)["lottery_inflationary"]
        assert found["severity"] == "error" and sound.status == LotteryStatus.ACTIVE


def _past_orders(world, staff, regions, per_staff=2):
    """Orders of the last days (inside the default window), placed while nothing runs."""
    rng = random.Random(5)
    end = datetime.combine(timezone.localdate(timezone=world.tenant.zone), time.min,
                           tzinfo=world.tenant.zone)  # fmt: skip
    n = 0
    for member in staff:
        for _ in range(per_staff):
            n += 1
            order_place(
                tenant=world.tenant, actor=world.system,
                facts=OrderFacts(
                    external_id=f"PAST-{n}", merchant=member.merchant, staff=member,
                    region=rng.choice(regions), amount=Decimal("50.00"),
                    placed_at=end - timedelta(hours=rng.randrange(1, 120)),
                ),
            )  # fmt: skip


class TestSimulationFindings:
    def _world(self, world, count=30):
        staff = [world.staff] + [
            StaffFactory(tenant=world.tenant, merchant=world.merchant) for _ in range(count - 1)
        ]
        _past_orders(world, staff, [world.region])
        return staff

    def test_a_first_order_rule_almost_nobody_can_earn_from(self, world):
        self._world(world)
        campaign, prog = _campaign(world), program(world)
        _first_n(world, campaign, prog, regions=[world.region], to=1, points=5, cap_total=None)
        prize(world, prog, points_cost=100, value=Decimal("1.00"))
        checks = _check(world, campaign)
        reach = checks["reach_too_low"]
        assert reach["severity"] == "warning"
        assert reach["figures"]["holders_earning"] == 1
        assert reach["figures"]["holders_active"] == 30
        assert reach["object"]["type"] == "points_rule"
        unaffordable = checks["prize_unaffordable_in_simulation"]
        assert unaffordable["figures"] == {"holders": 0, "holders_active": 30, "points_cost": 100}

    def test_a_rule_every_order_earns_by_passes(self, world):
        self._world(world)
        campaign, prog = _campaign(world), program(world)
        rule(world, campaign, prog, kind="per_order", points=5)
        prize(world, prog, points_cost=10, value=Decimal("0.10"))
        checks = _check(world, campaign)
        assert not {"reach_too_low", "prize_unaffordable_in_simulation"} & set(checks)

    def test_the_simulation_spending_more_than_the_budget_has(self, world):
        self._world(world, count=10)
        campaign, prog = _campaign(world, amount="0.50"), program(world)  # 50 points' worth
        rule(world, campaign, prog, kind="per_order", points=5)  # 20 orders: 100 points
        found = _check(world, campaign)["budget_short_in_simulation"]
        assert found["figures"] == {
            "points": 50, "money": "0.50", "budget_available": "0.50", "budget_refusals": 10,
            "refused_money": "0.50",
        }  # fmt: skip
        assert "10 awards" in found["detail"]

    def test_a_budget_the_simulation_fits_in_passes(self, world):
        self._world(world, count=10)
        campaign, prog = _campaign(world, amount="5.00"), program(world)
        rule(world, campaign, prog, kind="per_order", points=5)
        assert "budget_short_in_simulation" not in _check(world, campaign)


class TestSchedule:
    def test_errors_refuse_scheduling_with_each_listed(self, world):
        campaign, prog = _campaign(world, amount="50.00"), program(world)
        prize(world, prog, points_cost=10_000, value=Decimal("100.00"))
        _first_n(world, campaign, prog, cap_total=7500)
        response = world.client(Role.OPERATOR).post(f"/api/v1/campaigns/{campaign.pk}/schedule")
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "campaign_check_failed"
        assert {"prize_unreachable", "points_exceed_budget"} <= set(body["fields"])
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.DRAFT

    def test_warnings_need_an_acknowledgement_which_is_audited(self, world):
        campaign, prog = _campaign(world), program(world)
        prize(world, prog, name="Voucher 1.20", points_cost=100, value=Decimal("1.20"))
        prize(world, prog, name="Voucher 1.25", points_cost=150, value=Decimal("1.25"))
        rule(world, campaign, prog, kind="per_order", points=5)
        client = world.client(Role.OPERATOR)
        url = f"/api/v1/campaigns/{campaign.pk}/schedule"
        refused = client.post(url, {}, format="json")
        assert refused.status_code == 422
        assert refused.json()["code"] == "warnings_not_acknowledged"
        assert "point_value_inconsistent" in refused.json()["fields"]
        assert client.post(url, {"acknowledge_warnings": True}, format="json").status_code == 200
        entry = AuditEntry.objects.for_tenant(world.tenant).get(
            action="campaign.acknowledge_warnings"
        )
        assert entry.actor_user_id == world.members[Role.OPERATOR].user_id
        assert entry.object_id == str(campaign.pk) and entry.created_at
        assert [w["code"] for w in entry.after["warnings"]] == ["point_value_inconsistent"]
        assert "Voucher 1.25" in entry.after["warnings"][0]["detail"]


class TestLiveChanges:
    def test_a_rule_change_that_breaks_a_running_campaign_is_refused(self, world):
        campaign, prog = _campaign(world, amount="75.00"), program(world)
        first_n = _first_n(world, campaign, prog, cap_total=7500)
        set_status(campaign, CampaignStatus.RUNNING)
        with pytest.raises(RuleRefusal) as refused:
            points_services.rule_update(
                tenant=world.tenant, actor=world.actor(Role.OPERATOR), rule=first_n,
                cap_total=9000,
            )  # fmt: skip
        assert refused.value.code == "campaign_check_failed"
        assert "points_exceed_budget" in refused.value.fields
        first_n.refresh_from_db()
        assert first_n.cap_total == 7500
        # a change that keeps it sound goes through
        points_services.rule_update(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), rule=first_n, cap_total=7000
        )

    def test_a_prize_made_unreachable_for_a_scheduled_campaign_is_refused(self, world):
        campaign, prog = _campaign(world), program(world)
        _first_n(world, campaign, prog, cap_total=7500)
        set_status(campaign, CampaignStatus.SCHEDULED)
        with pytest.raises(RuleRefusal) as refused:
            prize(world, prog, points_cost=10_000, value=Decimal("100.00"))
        assert "prize_unreachable" in refused.value.fields
        assert not Prize.objects.for_tenant(world.tenant).exists()

    def test_an_error_that_was_there_before_does_not_block_its_fix(self, world):
        campaign, prog = _campaign(world), program(world)
        iphone = prize(world, prog, points_cost=10_000, value=Decimal("100.00"))
        _first_n(world, campaign, prog, cap_total=7500)
        set_status(campaign, CampaignStatus.RUNNING)
        region = RegionFactory(tenant=world.tenant)
        points_services.rule_update(  # unrelated; the old error stays, nothing new
            tenant=world.tenant, actor=world.actor(Role.OPERATOR),
            rule=campaign.points_rules.get(), regions=[world.region, world.other_region, region],
        )  # fmt: skip
        assert iphone.pk in {
            e["object"]["id"]
            for e in services.campaign_check(tenant=world.tenant, campaign=campaign)["errors"]
        }

    def test_a_program_change_that_breaks_a_running_campaign_is_refused(self, world):
        campaign, prog = _campaign(world, amount="75.00"), program(world)
        _first_n(world, campaign, prog, cap_total=7500)  # 7,500 points at 0.01: 75.00
        set_status(campaign, CampaignStatus.RUNNING)
        operator = world.actor(Role.OPERATOR)
        with pytest.raises(RuleRefusal) as refused:
            points_services.program_update(
                tenant=world.tenant, actor=operator, program=prog, point_value=Decimal("0.02"),
                point_value_min=Decimal("0.016"), point_value_max=Decimal("0.024"),
            )  # fmt: skip
        assert "points_exceed_budget" in refused.value.fields
        prog.refresh_from_db()
        assert prog.point_value == Decimal("0.01")
        points_services.program_update(tenant=world.tenant, actor=operator, program=prog, name="B")

    def test_a_prize_repriced_out_of_reach_is_refused_but_may_leave_the_shelf(self, world):
        campaign, prog = _campaign(world), program(world)
        _first_n(world, campaign, prog, cap_total=7500)
        voucher = prize(world, prog, points_cost=5_000, value=Decimal("50.00"))
        set_status(campaign, CampaignStatus.SCHEDULED)
        operator = world.actor(Role.OPERATOR)
        with pytest.raises(RuleRefusal) as refused:
            redemption_services.prize_update(
                tenant=world.tenant, actor=operator, prize=voucher, points_cost=10_000,
                value=Decimal("100.00"),
            )  # fmt: skip
        assert "prize_unreachable" in refused.value.fields
        voucher.refresh_from_db()
        assert voucher.points_cost == 5_000
        redemption_services.prize_update(
            tenant=world.tenant, actor=operator, prize=voucher, is_active=False
        )
        voucher.refresh_from_db()
        assert not voucher.is_active
