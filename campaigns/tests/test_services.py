from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.permissions import Actor
from accounts.roles import Role
from accounts.tests.factories import RegionFactory
from budgets.tests.factories import approved_budget, submitted_budget
from campaigns import selectors, services, tasks
from campaigns.checks import CheckCode
from campaigns.errors import CampaignErrorCode
from campaigns.models import Campaign, CampaignStatus, Channel
from core.errors import (
    ConflictError,
    CoreErrorCode,
    NotFoundError,
    PermissionDeniedError,
    RuleRefusal,
    ValidationFailed,
)
from core.models import AuditEntry

from .factories import new_campaign, set_status

pytestmark = pytest.mark.django_db
S = CampaignStatus


@pytest.fixture
def budget(world):
    return approved_budget(world)


def codes(items):
    return [item["code"] for item in items]


class TestCreateAndUpdate:
    def test_create_takes_the_budget_unit_and_the_caller_as_owner(self, world, budget):
        campaign = new_campaign(world, budget=budget, description="11.11")
        assert campaign.status == S.DRAFT
        assert campaign.business_unit == world.unit
        assert campaign.owner == world.members[Role.OPERATOR].user
        assert [c.code for c in campaign.channels.all()] == ["app"]
        entry = AuditEntry.objects.for_tenant(world.tenant).get(action="campaign.create")
        assert entry.after["regions"] == [world.region.code]

    def test_create_refusals(self, world, budget):
        now = timezone.now()
        with pytest.raises(ValidationFailed) as exc:
            new_campaign(world, budget=budget, starts_at=now, ends_at=now)
        assert "ends_at" in exc.value.fields
        with pytest.raises(ValidationFailed) as exc:
            new_campaign(world, budget=budget, regions=[])
        assert "regions" in exc.value.fields
        for role in (Role.FINANCE, Role.AUDITOR):
            with pytest.raises(PermissionDeniedError):
                new_campaign(world, budget=budget, role=role)

    def test_bu_admin_uses_only_budgets_of_their_unit(self, world):
        other = approved_budget(world, unit=world.other_unit)
        with pytest.raises(ValidationFailed) as exc:
            new_campaign(world, budget=other, role=Role.BU_ADMIN)
        assert "budget" in exc.value.fields
        mine = approved_budget(world)
        assert new_campaign(world, budget=mine, role=Role.BU_ADMIN).business_unit == world.unit

    def test_regional_operator_creates_only_in_their_regions(self, world, budget):
        with pytest.raises(PermissionDeniedError) as exc:
            new_campaign(
                world,
                budget=budget,
                role=Role.REGIONAL_OPERATOR,
                regions=[world.region, world.other_region],
            )
        assert exc.value.code == CampaignErrorCode.OUT_OF_SCOPE
        campaign = new_campaign(world, budget=budget, role=Role.REGIONAL_OPERATOR)
        assert campaign.owner == world.members[Role.REGIONAL_OPERATOR].user

    def test_update_a_draft_and_audit_before_after(self, world, budget):
        campaign = new_campaign(world, budget=budget)
        web = Channel.objects.for_tenant(world.tenant).get(code="web")
        campaign = services.campaign_update(
            tenant=world.tenant,
            actor=world.actor(Role.OPERATOR),
            campaign=campaign,
            name="Renamed",
            channels=[web],
            regions=[world.region, world.other_region],
        )
        assert campaign.name == "Renamed"
        entry = AuditEntry.objects.for_tenant(world.tenant).get(action="campaign.update")
        assert entry.before["channels"] == ["app"] and entry.after["channels"] == ["web"]
        assert len(entry.after["regions"]) == 2

    def test_a_scheduled_campaign_cannot_leave_its_budget_period(self, world, budget):
        campaign = new_campaign(world, budget=budget)
        services.campaign_schedule(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign
        )
        with pytest.raises(RuleRefusal) as exc:
            services.campaign_update(
                tenant=world.tenant,
                actor=world.actor(Role.OPERATOR),
                campaign=campaign,
                ends_at=timezone.now() + timedelta(days=365),
            )
        assert exc.value.code == CampaignErrorCode.CAMPAIGN_CHECK_FAILED
        assert CheckCode.OUTSIDE_BUDGET_PERIOD in exc.value.fields
        other = approved_budget(world)
        with pytest.raises(ValidationFailed):
            services.campaign_update(
                tenant=world.tenant,
                actor=world.actor(Role.OPERATOR),
                campaign=campaign,
                budget=other,
            )

    def test_an_ended_campaign_cannot_be_changed(self, world, budget):
        campaign = set_status(new_campaign(world, budget=budget), S.ENDED)
        with pytest.raises(ConflictError) as exc:
            services.campaign_update(
                tenant=world.tenant, actor=world.actor(Role.OPERATOR), campaign=campaign, name="x"
            )
        assert exc.value.code == CoreErrorCode.INVALID_TRANSITION


class TestCheck:
    def test_a_good_campaign_passes(self, world, budget):
        campaign = new_campaign(world, budget=budget)
        report = services.campaign_check(tenant=world.tenant, campaign=campaign)
        assert (report["errors"], report["warnings"]) == ([], [])
        assert report["simulation"]["status"] == "none"  # no points rules to replay

    def test_budget_not_approved_outside_period_over_and_no_channels(self, world):
        budget = submitted_budget(world)
        now = timezone.now()
        campaign = new_campaign(
            world,
            budget=budget,
            channels=(),
            starts_at=now - timedelta(days=400),
            ends_at=now - timedelta(days=1),
        )
        report = services.campaign_check(tenant=world.tenant, campaign=campaign)
        assert codes(report["errors"]) == [
            CheckCode.BUDGET_NOT_APPROVED,
            CheckCode.OUTSIDE_BUDGET_PERIOD,
            CheckCode.ALREADY_OVER,
        ]
        assert codes(report["warnings"]) == [CheckCode.NO_CHANNELS]
        assert all(item["detail"] for item in report["errors"] + report["warnings"])

    def test_period_uses_the_tenant_local_days(self, world, budget):
        # the budget covers its last day up to local midnight, not UTC midnight
        zone = world.tenant.zone
        end = timezone.datetime.combine(
            budget.ends_on + timedelta(days=1), timezone.datetime.min.time(), tzinfo=zone
        )
        campaign = new_campaign(world, budget=budget, ends_at=end)
        assert services.campaign_check(tenant=world.tenant, campaign=campaign)["errors"] == []
        campaign.ends_at = end + timedelta(seconds=1)
        assert codes(services.campaign_check(tenant=world.tenant, campaign=campaign)["errors"]) == [
            CheckCode.OUTSIDE_BUDGET_PERIOD
        ]

    def test_exhausted_budget_is_a_warning(self, world, budget):
        from budgets.services import budget_reserve

        budget_reserve(tenant=world.tenant, budget=budget, amount=budget.amount, reference="all")
        campaign = new_campaign(world, budget=budget)
        report = services.campaign_check(tenant=world.tenant, campaign=campaign)
        assert codes(report["warnings"]) == [CheckCode.BUDGET_EXHAUSTED]


class TestLifeCycle:
    def op(self, world):
        return world.actor(Role.OPERATOR)

    def test_schedule_pause_resume_end(self, world, budget):
        t, op = world.tenant, self.op(world)
        campaign = new_campaign(world, budget=budget)
        campaign = services.campaign_schedule(tenant=t, actor=op, campaign=campaign)
        assert campaign.status == S.SCHEDULED and campaign.scheduled_at is not None
        set_status(campaign, S.RUNNING)
        campaign = services.campaign_pause(tenant=t, actor=op, campaign=campaign, note="why")
        assert campaign.status == S.PAUSED
        campaign = services.campaign_resume(tenant=t, actor=op, campaign=campaign)
        assert campaign.status == S.RUNNING
        campaign = services.campaign_end(tenant=t, actor=op, campaign=campaign)
        assert campaign.status == S.ENDED and campaign.ended_at is not None
        actions = list(
            AuditEntry.objects.for_tenant(t)
            .filter(object_type="campaigns.campaign")
            .order_by("id")
            .values_list("action", flat=True)
        )
        assert actions == [
            "campaign.create",
            "campaign.schedule",
            "campaign.pause",
            "campaign.resume",
            "campaign.end",
        ]

    def test_schedule_when_the_start_has_come_runs_at_once(self, world, budget):
        campaign = new_campaign(world, budget=budget, starts_at=timezone.now() - timedelta(hours=1))
        campaign = services.campaign_schedule(
            tenant=world.tenant, actor=self.op(world), campaign=campaign
        )
        assert campaign.status == S.RUNNING and campaign.started_at is not None

    def test_schedule_refuses_errors_and_unacknowledged_warnings(self, world):
        campaign = new_campaign(world, budget=submitted_budget(world))
        with pytest.raises(RuleRefusal) as exc:
            services.campaign_schedule(tenant=world.tenant, actor=self.op(world), campaign=campaign)
        assert exc.value.code == CampaignErrorCode.CAMPAIGN_CHECK_FAILED
        assert list(exc.value.fields) == [CheckCode.BUDGET_NOT_APPROVED]
        campaign = new_campaign(world, budget=approved_budget(world), channels=())
        with pytest.raises(RuleRefusal) as exc:
            services.campaign_schedule(tenant=world.tenant, actor=self.op(world), campaign=campaign)
        assert exc.value.code == CampaignErrorCode.WARNINGS_NOT_ACKNOWLEDGED
        campaign.refresh_from_db()
        assert campaign.status == S.DRAFT
        campaign = services.campaign_schedule(
            tenant=world.tenant, actor=self.op(world), campaign=campaign, acknowledge_warnings=True
        )
        assert campaign.status == S.SCHEDULED

    def test_resume_refused_when_the_check_now_fails(self, world, budget):
        campaign = set_status(new_campaign(world, budget=budget), S.PAUSED)
        Campaign.objects.for_tenant(world.tenant).filter(pk=campaign.pk).update(
            starts_at=timezone.now() - timedelta(days=2), ends_at=timezone.now() - timedelta(days=1)
        )
        with pytest.raises(RuleRefusal) as exc:
            services.campaign_resume(tenant=world.tenant, actor=self.op(world), campaign=campaign)
        assert CheckCode.ALREADY_OVER in exc.value.fields

    ALLOWED = {
        ("schedule", S.DRAFT),
        ("pause", S.RUNNING),
        ("resume", S.PAUSED),
        ("end", S.SCHEDULED),
        ("end", S.RUNNING),
        ("end", S.PAUSED),
    }

    @pytest.mark.parametrize("status", list(S))
    @pytest.mark.parametrize("move", ["schedule", "pause", "resume", "end"])
    def test_every_move_not_listed_is_invalid_transition(self, world, budget, status, move):
        campaign = set_status(new_campaign(world, budget=budget), status)
        call = getattr(services, f"campaign_{move}")
        if (move, status) in self.ALLOWED:
            call(tenant=world.tenant, actor=self.op(world), campaign=campaign)
            return
        with pytest.raises(ConflictError) as exc:
            call(tenant=world.tenant, actor=self.op(world), campaign=campaign)
        assert exc.value.code == CoreErrorCode.INVALID_TRANSITION
        campaign.refresh_from_db()
        assert campaign.status == status


class TestDataScope:
    def test_regional_operator_sees_any_changes_all(self, world, budget):
        parent = RegionFactory(tenant=world.tenant, code="alpha-country")
        world.region.parent = parent
        world.region.save()
        mine = new_campaign(world, budget=budget, name="mine")
        mixed = new_campaign(
            world, budget=budget, name="mixed", regions=[world.region, world.other_region]
        )
        foreign = new_campaign(world, budget=budget, name="foreign", regions=[world.other_region])
        above = new_campaign(world, budget=budget, name="above", regions=[parent])
        regional = world.actor(Role.REGIONAL_OPERATOR)
        visible = selectors.campaign_list(tenant=world.tenant, actor=regional)
        assert {c.name for c in visible} == {"mine", "mixed", "above"}
        with pytest.raises(NotFoundError):
            selectors.campaign_get(tenant=world.tenant, actor=regional, id=foreign.pk)
        services.campaign_schedule(tenant=world.tenant, actor=regional, campaign=mine)
        for campaign in (mixed, above):
            with pytest.raises(PermissionDeniedError) as exc:
                services.campaign_schedule(tenant=world.tenant, actor=regional, campaign=campaign)
            assert exc.value.code == CampaignErrorCode.OUT_OF_SCOPE
            with pytest.raises(PermissionDeniedError):
                services.campaign_update(
                    tenant=world.tenant, actor=regional, campaign=campaign, name="x"
                )
        # nor may they widen their own campaign beyond their regions
        with pytest.raises(PermissionDeniedError):
            services.campaign_update(
                tenant=world.tenant,
                actor=regional,
                campaign=mine,
                regions=[world.region, world.other_region],
            )

    def test_bu_admin_sees_only_their_unit(self, world, budget):
        new_campaign(world, budget=budget, name="ours")
        new_campaign(world, budget=approved_budget(world, unit=world.other_unit), name="theirs")
        bu = world.actor(Role.BU_ADMIN)
        assert [c.name for c in selectors.campaign_list(tenant=world.tenant, actor=bu)] == ["ours"]
        finance = world.actor(Role.FINANCE)
        assert selectors.campaign_list(tenant=world.tenant, actor=finance).count() == 2

    def test_another_tenant_sees_nothing(self, world, other_world, budget):
        campaign = new_campaign(world, budget=budget)
        admin = other_world.actor(Role.TENANT_ADMIN)
        assert not selectors.campaign_list(tenant=other_world.tenant, actor=admin).exists()
        with pytest.raises(NotFoundError):
            selectors.campaign_get(tenant=other_world.tenant, actor=admin, id=campaign.pk)

    def test_merchant_roles_read_no_campaigns(self, world, budget):
        for role in (Role.MERCHANT_ADMIN, Role.MERCHANT_STAFF):
            with pytest.raises(PermissionDeniedError):
                selectors.campaign_list(tenant=world.tenant, actor=world.actor(role))


class TestAdvance:
    def test_starts_and_ends_on_time_and_twice_is_harmless(self, world, other_world, budget):
        now = timezone.now()
        due = set_status(new_campaign(world, budget=budget), S.SCHEDULED)
        later = set_status(new_campaign(world, budget=budget), S.SCHEDULED)
        over = set_status(new_campaign(world, budget=budget), S.RUNNING)
        paused_over = set_status(new_campaign(world, budget=budget), S.PAUSED)
        Campaign.objects.for_tenant(world.tenant).filter(pk=due.pk).update(
            starts_at=now - timedelta(minutes=1)
        )
        Campaign.objects.for_tenant(world.tenant).filter(pk__in=[over.pk, paused_over.pk]).update(
            starts_at=now - timedelta(days=2), ends_at=now - timedelta(minutes=1)
        )
        other_budget = approved_budget(other_world)
        elsewhere = set_status(new_campaign(other_world, budget=other_budget), S.SCHEDULED)
        Campaign.objects.for_tenant(other_world.tenant).filter(pk=elsewhere.pk).update(
            starts_at=now - timedelta(minutes=1)
        )
        assert tasks.campaigns_advance() == {"started": 2, "ended": 2}
        status = dict(Campaign.objects.unscoped().values_list("pk", "status"))
        assert status[due.pk] == S.RUNNING and status[elsewhere.pk] == S.RUNNING
        assert status[later.pk] == S.SCHEDULED
        assert status[over.pk] == S.ENDED and status[paused_over.pk] == S.ENDED
        assert tasks.campaigns_advance() == {"started": 0, "ended": 0}
        audits = AuditEntry.objects.for_tenant(world.tenant).filter(actor_label="system")
        assert sorted(audits.values_list("action", flat=True)) == [
            "campaign.end",
            "campaign.end",
            "campaign.start",
        ]

    def test_a_scheduled_campaign_past_its_end_ends_without_running(self, world, budget):
        campaign = set_status(new_campaign(world, budget=budget), S.SCHEDULED)
        later = timezone.now() + timedelta(days=30)
        assert services.campaigns_advance(now=later) == {"started": 0, "ended": 1}
        campaign.refresh_from_db()
        assert campaign.status == S.ENDED and campaign.started_at is None


class TestChannels:
    def test_create_and_update_by_tenant_wide_operators(self, world):
        op = world.actor(Role.OPERATOR)
        channel = services.channel_create(
            tenant=world.tenant, actor=op, code="tiktok", name="TikTok"
        )
        channel = services.channel_update(
            tenant=world.tenant, actor=op, channel=channel, is_active=False
        )
        assert not channel.is_active
        with pytest.raises(ValidationFailed):
            services.channel_create(tenant=world.tenant, actor=op, code="app", name="App")
        for role in (Role.REGIONAL_OPERATOR, Role.BU_ADMIN, Role.FINANCE, Role.AUDITOR):
            with pytest.raises(PermissionDeniedError):
                services.channel_create(
                    tenant=world.tenant, actor=world.actor(role), code=f"x{role}", name="x"
                )

    def test_system_actor_may_do_everything(self, world, budget):
        campaign = new_campaign(world, budget=budget)
        services.campaign_schedule(
            tenant=world.tenant, actor=Actor.for_system(world.tenant), campaign=campaign
        )
