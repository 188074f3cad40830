"""Changing points programs and rules after creation: PATCH, deactivate and activate over the
API, per role and scope, with what a change means for points already earned."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.roles import Role
from campaigns.models import Campaign, CampaignStatus
from core.models import AuditEntry
from orders.services import order_close, order_complete
from points import services
from points.models import AwardStatus, OrderAward, PointsProgram, PointsRule, RuleRegionCounter

from .factories import place, program, rule, running_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def prog(world):
    return program(world)


@pytest.fixture
def campaign(world):
    return running_campaign(world)


@pytest.fixture
def first_n(world, prog, campaign):
    return rule(
        world, campaign, prog, regions=[world.region], kind="region_first_n",
        tiers=[{"from": 1, "to": 10, "points": 5}],
    )  # fmt: skip


def audits(world, action):
    return list(AuditEntry.objects.for_tenant(world.tenant).filter(action=action))


def awards_of(world, order):
    return list(OrderAward.objects.for_tenant(world.tenant).filter(order=order))


def patch(world, role, url, body):
    return world.client(role).patch(url, body, format="json")


# --- programs ---------------------------------------------------------------------------------


class TestProgramUpdate:
    def test_operator_changes_fields_and_the_change_is_audited(self, world, prog):
        response = patch(
            world, Role.OPERATOR, f"/api/v1/points-programs/{prog.pk}",
            {"name": "Staff points", "weekly_cap": 80, "expiry": {"policy": "days", "days": 30},
             "transfer_limits": {"per_month": 500}},
        )  # fmt: skip
        assert response.status_code == 200, response.json()
        body = response.json()
        assert (body["name"], body["weekly_cap"], body["expiry"]["days"]) == (
            "Staff points",
            80,
            30,
        )
        assert body["transfer_limits"] == {"per_transfer": None, "per_month": 500}
        assert body["holder"] == "staff" and body["pending"] == "until_completed"  # untouched
        (entry,) = audits(world, "points_program.update")
        assert entry.before["name"] == "Staff task points" and entry.after["weekly_cap"] == 80

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"point_value": "0"}, "point_value"),
            ({"holder": "merchant"}, "holder"),
            ({"expiry": {"policy": "days"}}, "expiry"),
            (
                {
                    "tiers": [
                        {"name": "a", "threshold": 10, "multiplier": "1"},
                        {"name": "b", "threshold": 5, "multiplier": "2"},
                    ]
                },
                "tiers",
            ),
            ({"weekly_cap": 0}, "weekly_cap"),
        ],
    )
    def test_invalid_input_is_400_with_fields_and_changes_nothing(self, world, prog, body, field):
        response = patch(world, Role.OPERATOR, f"/api/v1/points-programs/{prog.pk}", body)
        assert response.status_code == 400, response.json()
        assert field in response.json()["fields"]
        stored = PointsProgram.objects.for_tenant(world.tenant).get(pk=prog.pk)
        assert (stored.point_value, stored.holder, stored.expiry_policy, stored.tiers) == (
            Decimal("0.01"), "staff", "none", [],
        )  # fmt: skip
        assert audits(world, "points_program.update") == []

    def test_name_of_another_program_is_refused(self, world, prog):
        program(world, name="Merchant points")
        response = patch(
            world, Role.OPERATOR, f"/api/v1/points-programs/{prog.pk}", {"name": "Merchant points"}
        )
        assert response.status_code == 400 and "name" in response.json()["fields"]

    def test_point_value_and_pending_are_fixed_once_points_were_earned(self, world, prog, first_n):
        url = f"/api/v1/points-programs/{prog.pk}"
        moved = {"point_value": "0.02", "point_value_range": {"min": "0.016", "max": "0.024"}}
        assert patch(world, Role.OPERATOR, url, moved).status_code == 200
        place(world)
        for body in ({"point_value": "0.03"}, {"pending": "days", "pending_days": 3}):
            response = patch(world, Role.OPERATOR, url, body)
            assert response.status_code == 409, response.json()
            assert response.json()["code"] == "program_in_use"
        # the same value again is no change; other fields still change
        assert patch(world, Role.OPERATOR, url, {"point_value": "0.020000"}).status_code == 200
        assert patch(world, Role.OPERATOR, url, {"monthly_cap": 100}).status_code == 200
        stored = PointsProgram.objects.for_tenant(world.tenant).get(pk=prog.pk)
        assert (stored.point_value, stored.pending_policy, stored.monthly_cap) == (
            Decimal("0.02"), "until_completed", 100,
        )  # fmt: skip

    @pytest.mark.parametrize("role", [Role.FINANCE, Role.AUDITOR, Role.MERCHANT_ADMIN])
    def test_roles_without_campaign_rights_are_refused(self, world, prog, role):
        response = patch(world, role, f"/api/v1/points-programs/{prog.pk}", {"weekly_cap": 5})
        assert response.status_code == 403
        assert (
            world.client(role).post(f"/api/v1/points-programs/{prog.pk}/deactivate").status_code
            == 403
        )
        assert PointsProgram.objects.for_tenant(world.tenant).get(pk=prog.pk).is_active

    def test_regional_operator_changes_a_program_only_its_own_rules_use(
        self, world, prog, campaign, first_n
    ):
        url = f"/api/v1/points-programs/{prog.pk}"
        assert patch(world, Role.REGIONAL_OPERATOR, url, {"weekly_cap": 7}).status_code == 200
        rule(world, campaign, prog, regions=[world.other_region], kind="per_order", points=1)
        response = patch(world, Role.REGIONAL_OPERATOR, url, {"weekly_cap": 9})
        assert response.status_code == 403 and response.json()["code"] == "out_of_scope"
        assert patch(world, Role.BU_ADMIN, url, {"weekly_cap": 9}).status_code == 200
        Campaign.objects.for_tenant(world.tenant).filter(pk=campaign.pk).update(
            business_unit=world.other_unit
        )
        response = patch(world, Role.BU_ADMIN, url, {"weekly_cap": 10})
        assert response.status_code == 403 and response.json()["code"] == "out_of_scope"


class TestProgramActivation:
    def test_inactive_program_earns_nothing_and_keeps_its_points(self, world, prog, first_n):
        earned = place(world)
        client = world.client(Role.OPERATOR)
        response = client.post(
            f"/api/v1/points-programs/{prog.pk}/deactivate", {"note": "season over"}, format="json"
        )
        assert response.status_code == 200 and response.json()["is_active"] is False
        assert awards_of(world, place(world)) == []
        (award,) = awards_of(world, earned)
        assert (award.status, award.points) == (AwardStatus.ACTIVE, 5)
        # a repeat is a conflict, as in every life cycle, and writes no second audit row
        repeat = client.post(f"/api/v1/points-programs/{prog.pk}/deactivate")
        assert repeat.status_code == 409 and repeat.json()["code"] == "invalid_transition"
        (entry,) = audits(world, "points_program.deactivate")
        assert (entry.before, entry.after, entry.note) == (
            {"is_active": True}, {"is_active": False}, "season over",
        )  # fmt: skip
        response = client.post(f"/api/v1/points-programs/{prog.pk}/activate")
        assert response.status_code == 200 and response.json()["is_active"] is True
        (award,) = awards_of(world, place(world))
        assert (award.rank, award.points) == (2, 5)  # the order while inactive was never ranked
        assert len(audits(world, "points_program.activate")) == 1


# --- rules ------------------------------------------------------------------------------------


class TestRuleUpdate:
    def test_a_new_tier_table_applies_to_later_orders_only(self, world, first_n):
        first, second = place(world), place(world)
        response = patch(
            world, Role.OPERATOR, f"/api/v1/points-rules/{first_n.pk}",
            {"tiers": [{"from": 3, "to": 4, "points": 9}, {"from": 1, "to": 2, "points": 1}],
             "cap_per_holder_week": 100},
        )  # fmt: skip
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["tiers"][0] == {"from": 1, "to": 2, "points": 1}  # kept in rank order
        assert (body["awarded"], body["kind"], body["regions"]) == (
            10,
            "region_first_n",
            [world.region.code],
        )
        assert [a.points for a in awards_of(world, first) + awards_of(world, second)] == [5, 5]
        third = place(world)
        (award,) = awards_of(world, third)
        assert (award.rank, award.points) == (3, 9)
        (entry,) = audits(world, "points_rule.update")
        assert entry.before["tiers"] == [{"from": 1, "to": 10, "points": 5}]
        assert entry.after["cap_per_holder_week"] == 100

    def test_shrinking_tiers_below_ranks_given_awards_nothing_more(self, world, first_n):
        place(world), place(world)
        services.rule_update(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), rule=first_n,
            tiers=[{"from": 1, "to": 2, "points": 5}],
        )  # fmt: skip
        (award,) = awards_of(world, place(world))
        assert (award.rank, award.points, award.outcome) == (3, 0, "no_tier")

    def test_a_region_taken_off_and_named_again_continues_its_ranking(self, world, first_n):
        place(world)
        operator = world.actor(Role.OPERATOR)
        services.rule_update(tenant=world.tenant, actor=operator, rule=first_n,
                             regions=[world.other_region])  # fmt: skip
        assert awards_of(world, place(world)) == []  # not a region of the rule any more
        services.rule_update(tenant=world.tenant, actor=operator, rule=first_n,
                             regions=[world.region, world.other_region])  # fmt: skip
        (award,) = awards_of(world, place(world))
        assert award.rank == 2  # never a second first order
        (award,) = awards_of(world, place(world, region=world.other_region))
        assert award.rank == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (
                {"tiers": [{"from": 1, "to": 5, "points": 1}, {"from": 5, "to": 6, "points": 2}]},
                "tiers",
            ),
            ({"tiers": []}, "tiers"),
            ({"regions": []}, "regions"),
            ({"regions": ["nowhere"]}, "regions"),
            ({"kind": "per_order"}, "kind"),
            ({"campaign": 1}, "campaign"),
            ({"cap_total": 0}, "cap_total"),
        ],
    )
    def test_invalid_input_is_400_with_fields_and_changes_nothing(
        self, world, first_n, body, field
    ):
        response = patch(world, Role.OPERATOR, f"/api/v1/points-rules/{first_n.pk}", body)
        assert response.status_code == 400, response.json()
        assert field in response.json()["fields"]
        stored = PointsRule.objects.for_tenant(world.tenant).get(pk=first_n.pk)
        assert stored.tiers == [{"from": 1, "to": 10, "points": 5}]
        assert list(stored.regions.all()) == [world.region]
        assert audits(world, "points_rule.update") == []

    def test_per_order_rule_validates_against_its_stored_fields(self, world, prog, campaign):
        per_amount = rule(world, campaign, prog, kind="per_amount", points=1,
                          per_amount=Decimal("10.00"))  # fmt: skip
        url = f"/api/v1/points-rules/{per_amount.pk}"
        response = patch(world, Role.OPERATOR, url, {"per_amount": None})
        assert response.status_code == 400 and "per_amount" in response.json()["fields"]
        response = patch(world, Role.OPERATOR, url, {"points": 3, "min_amount": "50.00"})
        assert response.status_code == 200
        assert [a.points for a in awards_of(world, place(world, amount="49.99"))] == [0]
        assert [a.points for a in awards_of(world, place(world, amount="55.00"))] == [15]

    def test_a_total_cap_set_later_counts_what_was_awarded(self, world, first_n):
        place(world), place(world)  # 10 points awarded before there was a cap
        url = f"/api/v1/points-rules/{first_n.pk}"
        response = patch(world, Role.OPERATOR, url, {"cap_total": 9})
        assert response.status_code == 400 and "cap_total" in response.json()["fields"]
        assert patch(world, Role.OPERATOR, url, {"cap_total": 12}).status_code == 200
        (award,) = awards_of(world, place(world))
        assert (award.points, award.outcome) == (2, "partial")
        assert PointsRule.objects.for_tenant(world.tenant).get(pk=first_n.pk).awarded == 12

    def test_a_region_cap_set_later_counts_what_was_awarded(self, world, prog, campaign):
        per_order = rule(world, campaign, prog, regions=[world.region], kind="per_order", points=4)
        place(world), place(world)
        services.rule_update(tenant=world.tenant, actor=world.actor(Role.OPERATOR),
                             rule=per_order, cap_per_region=10)  # fmt: skip
        counter = RuleRegionCounter.objects.for_tenant(world.tenant).get(rule=per_order)
        assert counter.awarded == 8
        (award,) = awards_of(world, place(world))
        assert (award.points, award.outcome) == (2, "partial")

    def test_closing_an_order_of_an_uncapped_regional_rule(self, world, prog, campaign):
        # Its region counter never counted the points, so the close must not take them back.
        rule(world, campaign, prog, regions=[world.region], kind="per_order", points=4)
        order = place(world)
        order_close(tenant=world.tenant, actor=world.system, order=order)
        (award,) = awards_of(world, order)
        assert award.status == AwardStatus.CANCELLED
        assert services.ledger_mismatches() == []

    def test_ended_campaign_rules_are_not_changed_or_activated(self, world, campaign, first_n):
        Campaign.objects.for_tenant(world.tenant).filter(pk=campaign.pk).update(
            status=CampaignStatus.ENDED
        )
        client = world.client(Role.OPERATOR)
        response = client.patch(f"/api/v1/points-rules/{first_n.pk}", {"points": 3}, format="json")
        assert response.status_code == 409 and response.json()["code"] == "invalid_rule"
        assert client.post(f"/api/v1/points-rules/{first_n.pk}/deactivate").status_code == 200
        response = client.post(f"/api/v1/points-rules/{first_n.pk}/activate")
        assert response.status_code == 409 and response.json()["code"] == "invalid_rule"

    @pytest.mark.parametrize("role", [Role.FINANCE, Role.AUDITOR])
    def test_roles_without_campaign_rights_are_refused(self, world, first_n, role):
        url = f"/api/v1/points-rules/{first_n.pk}"
        assert patch(world, role, url, {"cap_total": 5}).status_code == 403
        assert world.client(role).post(f"{url}/deactivate").status_code == 403
        assert PointsRule.objects.for_tenant(world.tenant).get(pk=first_n.pk).is_active

    def test_regional_operator_changes_only_rules_all_in_its_regions(
        self, world, prog, campaign, first_n
    ):
        url = f"/api/v1/points-rules/{first_n.pk}"
        assert patch(world, Role.REGIONAL_OPERATOR, url, {"cap_total": 50}).status_code == 200
        response = patch(world, Role.REGIONAL_OPERATOR, url,
                         {"regions": [world.region.code, world.other_region.code]})  # fmt: skip
        assert response.status_code == 403 and response.json()["code"] == "out_of_scope"
        both = rule(world, campaign, prog, regions=[world.region, world.other_region],
                    kind="per_order", points=1)  # fmt: skip
        response = patch(world, Role.REGIONAL_OPERATOR, f"/api/v1/points-rules/{both.pk}",
                         {"points": 2})  # fmt: skip
        assert response.status_code == 403
        response = world.client(Role.REGIONAL_OPERATOR).post(
            f"/api/v1/points-rules/{both.pk}/deactivate"
        )
        assert response.status_code == 403
        elsewhere = rule(world, campaign, prog, regions=[world.other_region],
                         kind="per_order", points=1)  # fmt: skip
        response = patch(world, Role.REGIONAL_OPERATOR, f"/api/v1/points-rules/{elsewhere.pk}",
                         {"points": 2})  # fmt: skip
        assert response.status_code == 404
        assert PointsRule.objects.for_tenant(world.tenant).get(pk=both.pk).points == 1


class TestRuleActivation:
    def test_inactive_rule_awards_nothing_and_its_awards_stay(self, world, first_n):
        earned = place(world)
        client = world.client(Role.OPERATOR)
        response = client.post(f"/api/v1/points-rules/{first_n.pk}/deactivate")
        assert response.status_code == 200
        assert (response.json()["is_active"], response.json()["awarded"]) == (False, 5)
        assert awards_of(world, place(world)) == []
        (award,) = awards_of(world, earned)
        assert (award.status, award.points) == (AwardStatus.ACTIVE, 5)
        order_complete(tenant=world.tenant, actor=world.system, order=earned)
        award.lot.refresh_from_db()
        assert award.lot.status == "open"  # its pending points still became usable
        assert client.post(f"/api/v1/points-rules/{first_n.pk}/activate").status_code == 200
        (award,) = awards_of(world, place(world))
        assert (award.rank, award.points) == (2, 5)
        assert [
            len(audits(world, f"points_rule.{verb}")) for verb in ("deactivate", "activate")
        ] == [1, 1]


# --- console ----------------------------------------------------------------------------------


def _form_of(page) -> dict:
    """The values a browser would send back from the rendered form, unchanged."""
    form = page.context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.disabled or value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    tiers = page.context.get("tiers")
    if tiers is not None:
        data.update({f"tiers-{key}": value for key, value in tiers.management_form.initial.items()})
        for index, row in enumerate(tiers):
            for name in row.fields:
                if row[name].value() is not None:
                    data[f"tiers-{index}-{name}"] = row[name].value()
    return data


class TestConsole:
    def test_program_edit_page_saves_and_shows_refusals(self, world, prog, first_n):
        client = world.console_client(Role.OPERATOR)
        detail = client.get(reverse("points:program_detail", args=[prog.pk])).content.decode()
        assert reverse("points:program_edit", args=[prog.pk]) in detail
        assert reverse("points:rule_edit", args=[first_n.pk]) in detail
        url = reverse("points:program_edit", args=[prog.pk])
        page = client.get(url)
        assert page.status_code == 200 and 'value="Staff task points"' in page.content.decode()
        data = {**_form_of(page), "weekly_cap": "40", "holder": "merchant"}
        assert client.post(url, data).status_code == 302
        stored = PointsProgram.objects.for_tenant(world.tenant).get(pk=prog.pk)
        assert (stored.weekly_cap, stored.holder) == (40, "staff")  # the holder is fixed
        assert len(audits(world, "points_program.update")) == 1
        place(world)
        refused = client.post(url, {**data, "point_value": "0.05"})
        assert refused.status_code == 200
        assert "what they mean" in refused.content.decode()
        assert PointsProgram.objects.for_tenant(world.tenant).get(
            pk=prog.pk
        ).point_value == Decimal("0.01")

    def test_rule_edit_page_keeps_the_tier_table_and_saves(self, world, first_n):
        client = world.console_client(Role.OPERATOR)
        url = reverse("points:rule_edit", args=[first_n.pk])
        page = client.get(url)
        assert page.status_code == 200
        data = _form_of(page)
        assert (data["tiers-0-rank_from"], data["tiers-0-rank_to"]) == (1, 10)
        assert data["regions"] == world.region.code
        data.update({"tiers-1-rank_from": "11", "tiers-1-rank_to": "20", "tiers-1-points": "7"})
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        stored = PointsRule.objects.for_tenant(world.tenant).get(pk=first_n.pk)
        assert stored.tiers == [
            {"from": 1, "to": 10, "points": 5}, {"from": 11, "to": 20, "points": 7},
        ]  # fmt: skip
        overlapping = client.post(url, {**data, "tiers-1-rank_from": "10"})
        assert overlapping.status_code == 200 and "overlap" in overlapping.content.decode()

    def test_activation_buttons_post_and_need_campaign_rights(self, world, prog, first_n):
        client = world.console_client(Role.OPERATOR)
        detail = reverse("points:program_detail", args=[prog.pk])
        rule_off = reverse("points:rule_action", args=[first_n.pk, "deactivate"])
        page = client.get(detail).content.decode()
        assert rule_off in page and "data-confirm" in page
        assert client.post(rule_off).status_code == 302
        assert not PointsRule.objects.for_tenant(world.tenant).get(pk=first_n.pk).is_active
        assert (
            reverse("points:rule_action", args=[first_n.pk, "activate"])
            in client.get(detail).content.decode()
        )
        program_off = reverse("points:program_action", args=[prog.pk, "deactivate"])
        assert client.post(program_off).status_code == 302
        assert not PointsProgram.objects.for_tenant(world.tenant).get(pk=prog.pk).is_active
        assert client.get(rule_off).status_code == 405  # a button, never a link
        auditor = world.console_client(Role.AUDITOR)
        assert rule_off not in auditor.get(detail).content.decode()
        on = reverse("points:program_action", args=[prog.pk, "activate"])
        assert auditor.post(on).status_code == 403
        assert not PointsProgram.objects.for_tenant(world.tenant).get(pk=prog.pk).is_active

    def test_refused_action_is_a_message(self, world, campaign, first_n):
        services.rule_deactivate(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), rule=first_n
        )
        Campaign.objects.for_tenant(world.tenant).filter(pk=campaign.pk).update(
            status=CampaignStatus.ENDED
        )
        client = world.console_client(Role.OPERATOR)
        response = client.post(
            reverse("points:rule_action", args=[first_n.pk, "activate"]), follow=True
        )
        assert "The campaign has ended." in response.content.decode()
        assert not PointsRule.objects.for_tenant(world.tenant).get(pk=first_n.pk).is_active

    def test_program_form_takes_membership_tiers(self, world, prog):
        client = world.console_client(Role.OPERATOR)
        url = reverse("points:program_edit", args=[prog.pk])
        data = _form_of(client.get(url))
        bad = client.post(url, {**data, "tiers": "gold, lots, 2"})
        assert bad.status_code == 200 and "is not: name, points, multiplier" in bad.content.decode()
        falling = client.post(url, {**data, "tiers": "gold, 100, 2\nsilver, 50, 1.5"})
        assert (
            falling.status_code == 200 and "Tier thresholds must rise" in falling.content.decode()
        )
        saved = client.post(url, {**data, "tiers": "silver, 50, 1.5\ngold, 100, 2"})
        assert saved.status_code == 302
        stored = PointsProgram.objects.for_tenant(world.tenant).get(pk=prog.pk)
        assert stored.tiers == [
            {"name": "silver", "threshold": 50, "multiplier": "1.5"},
            {"name": "gold", "threshold": 100, "multiplier": "2"},
        ]
        assert "silver, 50, 1.5\ngold, 100, 2" in client.get(url).content.decode()


def test_a_program_no_rule_uses_is_changed_by_tenant_wide_roles_only(world):
    """Nothing ties it to a region or business unit: scoped roles cannot reach every holder."""
    unused = program(world, name="Unused")
    url = f"/api/v1/points-programs/{unused.pk}"
    for role in (Role.REGIONAL_OPERATOR, Role.BU_ADMIN):
        response = patch(world, role, url, {"weekly_cap": 5})
        assert response.status_code == 403 and response.json()["code"] == "out_of_scope"
    assert patch(world, Role.OPERATOR, url, {"weekly_cap": 5}).status_code == 200
