from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError

from accounts.roles import Role
from accounts.tests.factories import RegionFactory, StaffFactory
from core.errors import ConflictError, RuleRefusal
from orders.services import order_close, order_complete
from points import services
from points.models import (
    AwardOutcome,
    EntryKind,
    LedgerEntry,
    Lot,
    LotStatus,
    OrderAward,
    PointsAccount,
)

from .factories import place, program, rule, running_campaign

pytestmark = pytest.mark.django_db


def account_of(world, prog, staff=None) -> PointsAccount:
    return PointsAccount.objects.for_tenant(world.tenant).get(
        program=prog, staff=staff or world.staff
    )


def assert_ledger_clean():
    assert services.ledger_mismatches() == []


def complete(world, order):
    return order_complete(tenant=world.tenant, actor=world.system, order=order)


def close(world, order):
    return order_close(tenant=world.tenant, actor=world.system, order=order)


@pytest.fixture
def prog(world):
    return program(world)


@pytest.fixture
def campaign(world):
    return running_campaign(world)


class TestPerOrderAndAmount:
    def test_order_exactly_at_the_minimum_earns_and_below_does_not(self, world, prog, campaign):
        rule(world, campaign, prog, kind="per_order", points=10, min_amount=Decimal("50.00"))
        place(world, amount="50.00")
        place(world, amount="49.99")
        account = account_of(world, prog)
        assert (account.pending, account.balance) == (10, 0)
        assert_ledger_clean()

    def test_per_amount_floors_to_whole_steps(self, world, prog, campaign):
        rule(world, campaign, prog, kind="per_amount", points=1, per_amount=Decimal("10.00"))
        place(world, amount="129.99")
        assert account_of(world, prog).pending == 12

    def test_pending_until_completed_then_usable_and_money_reserved_then_spent(
        self, world, prog, campaign
    ):
        rule(world, campaign, prog, kind="per_order", points=500)
        order = place(world)
        budget = campaign.budget
        budget.refresh_from_db()
        assert (budget.reserved, budget.spent) == (Decimal("5.00"), Decimal("0.00"))
        complete(world, order)
        account = account_of(world, prog)
        assert (account.pending, account.balance, account.lifetime_earned) == (0, 500, 500)
        budget.refresh_from_db()
        assert (budget.reserved, budget.spent) == (Decimal("0.00"), Decimal("5.00"))
        kinds = list(
            LedgerEntry.objects.for_tenant(world.tenant)
            .filter(account=account)
            .order_by("id")
            .values_list("kind", flat=True)
        )
        assert kinds == [EntryKind.EARN, EntryKind.ACTIVATE]
        earn = LedgerEntry.objects.for_tenant(world.tenant).get(kind=EntryKind.EARN)
        assert (earn.order, earn.rule, earn.campaign) == (
            order,
            campaign.points_rules.get(),
            campaign,
        )
        assert_ledger_clean()

    def test_rules_of_campaigns_not_running_or_outside_their_period_do_nothing(
        self, world, prog, campaign
    ):
        rule(world, campaign, prog, kind="per_order", points=5)
        place(world, placed_at=datetime(2026, 12, 2, tzinfo=UTC))
        campaign.status = "paused"
        campaign.save()
        place(world)
        assert not PointsAccount.objects.for_tenant(world.tenant).exists()

    def test_the_same_order_twice_earns_once(self, world, prog, campaign):
        rule(world, campaign, prog, kind="per_order", points=5)
        place(world, external_id="X-1")
        place(world, external_id="X-1")
        assert account_of(world, prog).pending == 5
        assert OrderAward.objects.for_tenant(world.tenant).count() == 1


class TestRegionFirstN:
    TIERS = [{"from": 1, "to": 2, "points": 5}, {"from": 3, "to": 4, "points": 10}]

    def test_kth_order_gets_the_tier_of_k_and_ranks_are_not_reused(self, world, prog, campaign):
        rule(world, campaign, prog, kind="region_first_n", regions=[world.region], tiers=self.TIERS)
        orders = [place(world) for _ in range(5)]
        close(world, orders[0])
        late = place(world)
        awards = OrderAward.objects.for_tenant(world.tenant).order_by("id")
        assert [(a.rank, a.requested) for a in awards] == [
            (1, 5), (2, 5), (3, 10), (4, 10), (5, 0), (6, 0),
        ]  # fmt: skip
        assert awards.get(order=orders[4]).outcome == AwardOutcome.NO_TIER
        assert awards.get(order=late).rank == 6  # the closed first order kept its rank
        assert account_of(world, prog).pending == 25
        assert_ledger_clean()

    def test_other_regions_do_not_count(self, world, prog, campaign):
        rule(world, campaign, prog, kind="region_first_n", regions=[world.region], tiers=self.TIERS)
        place(world, region=world.other_region)
        place(world)
        assert OrderAward.objects.for_tenant(world.tenant).get().rank == 1

    def test_per_region_cap(self, world, prog, campaign):
        rule(
            world, campaign, prog, kind="region_first_n", regions=[world.region],
            tiers=self.TIERS, cap_per_region=12,
        )  # fmt: skip
        for _ in range(4):
            place(world)
        assert [a.points for a in OrderAward.objects.for_tenant(world.tenant).order_by("id")] == [
            5, 5, 2, 0,
        ]  # fmt: skip


class TestCaps:
    def test_weekly_cap_reached_mid_order_awards_part(self, world, campaign):
        prog = program(world, weekly_cap=50)
        rule(world, campaign, prog, kind="per_order", points=20)
        for _ in range(3):
            place(world)
        awards = list(OrderAward.objects.for_tenant(world.tenant).order_by("id"))
        assert [(a.points, a.outcome) for a in awards] == [
            (20, AwardOutcome.AWARDED), (20, AwardOutcome.AWARDED), (10, AwardOutcome.PARTIAL),
        ]  # fmt: skip
        place(world)
        assert OrderAward.objects.for_tenant(world.tenant).last().outcome == AwardOutcome.CAPPED

    def test_weeks_start_on_monday_in_the_tenants_zone(self, world, campaign):
        prog = program(world, weekly_cap=10)
        rule(world, campaign, prog, kind="per_order", points=10)
        # Sunday 23:30 and Monday 00:30 in Shanghai (UTC+8) are two weeks.
        place(world, placed_at=datetime(2026, 11, 15, 15, 30, tzinfo=UTC))
        place(world, placed_at=datetime(2026, 11, 15, 16, 30, tzinfo=UTC))
        place(world, placed_at=datetime(2026, 11, 15, 17, 30, tzinfo=UTC))
        assert [a.points for a in OrderAward.objects.for_tenant(world.tenant).order_by("id")] == [
            10, 10, 0,
        ]  # fmt: skip

    def test_monthly_cap_and_cancelled_points_free_the_cap(self, world, campaign):
        prog = program(world, monthly_cap=10)
        rule(world, campaign, prog, kind="per_order", points=10)
        first = place(world)
        place(world)
        close(world, first)
        place(world)
        assert [a.points for a in OrderAward.objects.for_tenant(world.tenant).order_by("id")] == [
            10, 0, 10,
        ]  # fmt: skip

    def test_rule_total_cap_and_per_holder_week(self, world, prog, campaign):
        other = StaffFactory(tenant=world.tenant, merchant=world.merchant)
        rule(world, campaign, prog, kind="per_order", points=10, cap_total=25,
             cap_per_holder_week=15)  # fmt: skip
        place(world)
        place(world)
        place(world, staff=other)
        place(world, staff=other)
        assert account_of(world, prog).pending == 15
        assert account_of(world, prog, other).pending == 10

    def test_budget_refusal_is_recorded_on_the_order_not_raised(self, world, prog):
        campaign = running_campaign(world, amount="0.15")
        rule(world, campaign, prog, kind="per_order", points=10)
        place(world)
        order = place(world)
        award = OrderAward.objects.for_tenant(world.tenant).get(order=order)
        assert award.outcome == AwardOutcome.BUDGET_REFUSED and award.points == 0
        campaign.budget.refresh_from_db()
        assert campaign.budget.reserved == Decimal("0.10")

    def test_tier_multiplier_applies_and_tiers_recompute_on_earning(self, world, campaign):
        prog = program(
            world,
            tiers=[{"name": "silver", "threshold": 10, "multiplier": 1.5}],
        )
        rule(world, campaign, prog, kind="per_order", points=10)
        place(world)
        assert account_of(world, prog).tier == "silver"
        place(world)
        assert account_of(world, prog).pending == 25


class TestClose:
    def test_close_cancels_pending_and_releases_the_reservation(self, world, prog, campaign):
        rule(world, campaign, prog, kind="per_order", points=100)
        order = place(world)
        close(world, order)
        account = account_of(world, prog)
        assert (account.pending, account.balance, account.lifetime_earned) == (0, 0, 0)
        campaign.budget.refresh_from_db()
        assert (campaign.budget.reserved, campaign.budget.spent) == (0, 0)
        assert Lot.objects.for_tenant(world.tenant).get().status == LotStatus.CANCELLED
        close(world, order)  # a retry changes nothing
        assert LedgerEntry.objects.for_tenant(world.tenant).count() == 2
        assert_ledger_clean()

    def test_close_after_completion_reverses_and_refunds(self, world, prog, campaign):
        rule(world, campaign, prog, kind="per_order", points=100)
        order = place(world)
        complete(world, order)
        close(world, order)
        account = account_of(world, prog)
        assert account.balance == 0
        campaign.budget.refresh_from_db()
        assert (campaign.budget.reserved, campaign.budget.spent) == (0, 0)
        assert_ledger_clean()

    @pytest.mark.parametrize("allow_negative,balance,shortfall", [(True, -60, 0), (False, 0, 60)])
    def test_close_after_spending(self, world, campaign, allow_negative, balance, shortfall):
        prog = program(world, allow_negative=allow_negative)
        rule(world, campaign, prog, kind="per_order", points=100)
        order = place(world)
        complete(world, order)
        account = account_of(world, prog)
        services.points_spend(
            tenant=world.tenant, actor=world.system, account=account, points=60, reference="p1"
        )
        close(world, order)
        account.refresh_from_db()
        assert (account.balance, account.shortfall) == (balance, shortfall)
        award = OrderAward.objects.for_tenant(world.tenant).get()
        assert award.note  # the shortfall or negative balance is explained on the order
        assert_ledger_clean()
        # New points repay a debt first.
        complete(world, place(world))
        account.refresh_from_db()
        assert account.balance == balance + 100
        assert_ledger_clean()

    def test_close_after_spending_takes_from_other_points_first(self, world, prog, campaign):
        rule(world, campaign, prog, kind="per_order", points=100)
        first, second = place(world), place(world)
        complete(world, first)
        complete(world, second)
        account = account_of(world, prog)
        services.points_spend(
            tenant=world.tenant, actor=world.system, account=account, points=150, reference="p"
        )
        close(world, first)  # its 100 were spent; 50 remain on the second lot
        account.refresh_from_db()
        assert (account.balance, account.shortfall) == (0, 50)
        assert_ledger_clean()


class TestSpendExpiryTransferAdjust:
    def _usable(self, world, prog, campaign, points_each, count):
        rule(world, campaign, prog, kind="per_order", points=points_each)
        for _ in range(count):
            complete(world, place(world))
        return account_of(world, prog)

    def test_spend_is_fifo_and_refuses_more_than_the_balance(self, world, prog, campaign):
        account = self._usable(world, prog, campaign, 10, 3)
        entry = services.points_spend(
            tenant=world.tenant, actor=world.system, account=account, points=15, reference="s"
        )
        lots = list(Lot.objects.for_tenant(world.tenant).order_by("id"))
        assert [lot.remaining for lot in lots] == [0, 5, 10]
        assert sorted(m.points for m in entry.movements.all()) == [5, 10]
        with pytest.raises(RuleRefusal):
            services.points_spend(
                tenant=world.tenant, actor=world.system, account=account, points=16,
                reference="s2",
            )  # fmt: skip
        services.points_refund(tenant=world.tenant, actor=world.system, spend=entry, reference="r")
        account.refresh_from_db()
        assert account.balance == 30
        assert_ledger_clean()

    def test_expiry_of_part_of_a_lot_and_expiring_soon(self, world, campaign):
        prog = program(world, expiry_policy="days", expiry_days=30)
        account = self._usable(world, prog, campaign, 10, 2)
        first, second = Lot.objects.for_tenant(world.tenant).order_by("id")
        Lot.objects.for_tenant(world.tenant).filter(pk=second.pk).update(
            expires_at=second.expires_at + timedelta(days=60)
        )
        services.points_spend(
            tenant=world.tenant, actor=world.system, account=account, points=4, reference="s"
        )
        from points.selectors import expiring_soon

        assert (
            expiring_soon(
                tenant=world.tenant, account=account, now=first.expires_at - timedelta(days=1)
            )
            == 6
        )
        expired = services.points_expire_due(now=first.expires_at + timedelta(seconds=1))
        assert expired == 6
        account.refresh_from_db()
        assert account.balance == 10
        entry = LedgerEntry.objects.for_tenant(world.tenant).get(kind=EntryKind.EXPIRE)
        assert entry.points == 6 and [m.lot_id for m in entry.movements.all()] == [first.pk]
        assert services.points_expire_due(now=first.expires_at + timedelta(seconds=2)) == 0
        assert_ledger_clean()

    def test_expiry_orm_fallback_matches(self, world, campaign, monkeypatch):
        prog = program(world, expiry_policy="period_end", expiry_period="month")
        account = self._usable(world, prog, campaign, 10, 2)
        lot = Lot.objects.for_tenant(world.tenant).first()
        monkeypatch.setattr(connection, "vendor", "sqlite")
        assert services.points_expire_due(now=lot.expires_at) == 20
        account.refresh_from_db()
        assert account.balance == 0
        assert_ledger_clean()

    def test_pending_days_activate_periodically(self, world, campaign):
        prog = program(world, pending_policy="days", pending_days=7)
        rule(world, campaign, prog, kind="per_order", points=10)
        order = place(world)
        complete(world, order)
        assert account_of(world, prog).pending == 10  # completion does not shorten the period
        assert services.points_activate_due(now=order.placed_at + timedelta(days=6)) == 0
        assert services.points_activate_due(now=order.placed_at + timedelta(days=7)) == 1
        account = account_of(world, prog)
        assert (account.pending, account.balance) == (0, 10)
        assert_ledger_clean()

    def test_transfer_within_limits(self, world, campaign):
        prog = program(world, transferable=True, transfer_per_transfer=8, transfer_per_month=10)
        self._usable(world, prog, campaign, 10, 2)
        other = StaffFactory(tenant=world.tenant, merchant=world.merchant)
        kwargs = {"tenant": world.tenant, "actor": world.system, "program": prog,
                  "from_holder": world.staff, "to_holder": other}  # fmt: skip
        services.points_transfer(points=8, **kwargs)
        with pytest.raises(RuleRefusal) as per_transfer:
            services.points_transfer(points=9, **kwargs)
        with pytest.raises(RuleRefusal) as per_month:
            services.points_transfer(points=3, **kwargs)
        assert per_transfer.value.code == per_month.value.code == "transfer_limit"
        assert account_of(world, prog, other).balance == 8
        assert account_of(world, prog).balance == 12
        assert_ledger_clean()

    def test_not_transferable(self, world, prog):
        other = StaffFactory(tenant=world.tenant, merchant=world.merchant)
        with pytest.raises(RuleRefusal):
            services.points_transfer(
                tenant=world.tenant, actor=world.system, program=prog, from_holder=world.staff,
                to_holder=other, points=1,
            )  # fmt: skip

    def test_adjust_needs_a_reason_scope_and_is_audited(self, world, prog):
        from core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
        from core.models import AuditEntry

        account = services.account_for_holder(tenant=world.tenant, program=prog, holder=world.staff)
        services.points_adjust(
            tenant=world.tenant, actor=world.actor(Role.OPERATOR), account=account, points=30,
            reason="Goodwill",
        )  # fmt: skip
        services.points_adjust(
            tenant=world.tenant, actor=world.actor(Role.REGIONAL_OPERATOR), account=account,
            points=-10, reason="Typo",
        )  # fmt: skip
        account.refresh_from_db()
        assert account.balance == 20
        assert (
            AuditEntry.objects.for_tenant(world.tenant)
            .filter(action="points_account.adjust")
            .count()
            == 2
        )
        with pytest.raises(ValidationFailed):
            services.points_adjust(tenant=world.tenant, actor=world.actor(Role.OPERATOR),
                                   account=account, points=1, reason=" ")  # fmt: skip
        with pytest.raises(PermissionDeniedError):
            services.points_adjust(tenant=world.tenant, actor=world.actor(Role.FINANCE),
                                   account=account, points=1, reason="x")  # fmt: skip
        stranger = StaffFactory(
            tenant=world.tenant, merchant__region=RegionFactory(tenant=world.tenant)
        )
        far = services.account_for_holder(tenant=world.tenant, program=prog, holder=stranger)
        with pytest.raises(NotFoundError):
            services.points_adjust(tenant=world.tenant, actor=world.actor(Role.REGIONAL_OPERATOR),
                                   account=far, points=1, reason="x")  # fmt: skip
        with pytest.raises(RuleRefusal):
            services.points_adjust(tenant=world.tenant, actor=world.actor(Role.OPERATOR),
                                   account=account, points=-21, reason="x")  # fmt: skip
        assert_ledger_clean()


class TestMilestone:
    def test_n_completed_orders_in_a_week_earn_one_bonus(self, world, prog, campaign):
        rule(world, campaign, prog, kind="milestone",
             milestone={"count": 3, "period": "week", "points": 50})  # fmt: skip
        for _ in range(4):
            complete(world, place(world))
        account = account_of(world, prog)
        assert account.balance == 50
        assert OrderAward.objects.for_tenant(world.tenant).count() == 1
        assert_ledger_clean()


class TestLedgerIntegrity:
    def test_entries_are_immutable_in_the_database(self, world, prog, campaign):
        rule(world, campaign, prog, kind="per_order", points=5)
        place(world)
        with pytest.raises(DatabaseError), transaction.atomic():
            LedgerEntry.objects.for_tenant(world.tenant).update(points=6)

    def test_check_ledger_command_fails_on_a_mismatch(self, world, prog, campaign):
        rule(world, campaign, prog, kind="per_order", points=5)
        place(world)
        call_command("check_ledger")
        PointsAccount.objects.for_tenant(world.tenant).update(pending=4)
        with pytest.raises(SystemExit) as exit_:
            call_command("check_ledger")
        assert exit_.value.code == 1


def test_beat_runs_expiry_and_activation(settings, world, campaign):
    from points import tasks

    scheduled = {entry["task"] for entry in settings.PERIODIC_TASKS.values()}
    assert {"points.tasks.points_expire_due", "points.tasks.points_activate_due"} <= scheduled
    prog = program(
        world, expiry_policy="days", expiry_days=1, pending_policy="days", pending_days=0
    )
    rule(world, campaign, prog, kind="per_order", points=10)
    place(world)  # placed in November 2026: its pending period is over and its day has passed
    assert tasks.points_activate_due.apply().get() == 1
    account = account_of(world, prog)
    assert account.balance == 10
    lot = Lot.objects.for_tenant(world.tenant).get()
    Lot.objects.for_tenant(world.tenant).filter(pk=lot.pk).update(
        expires_at=lot.earned_at - timedelta(days=1)
    )
    assert tasks.points_expire_due.apply().get() == 10
    account.refresh_from_db()
    assert account.balance == 0
    assert_ledger_clean()


def test_a_budget_with_pending_points_is_not_closed_until_they_settle(world, prog, campaign):
    """Closing would take the reservation the pending points are paid from when they activate."""
    from budgets.services import budget_close
    from campaigns.models import Campaign, CampaignStatus

    rule(world, campaign, prog, kind="per_order", points=100)
    order = place(world)
    Campaign.objects.for_tenant(world.tenant).filter(pk=campaign.pk).update(
        status=CampaignStatus.ENDED
    )
    finance = world.actor(Role.FINANCE)
    with pytest.raises(ConflictError) as exc:
        budget_close(tenant=world.tenant, actor=finance, budget=campaign.budget)
    assert exc.value.code == "budget_in_use" and "pending" in exc.value.detail
    complete(world, order)
    closed = budget_close(tenant=world.tenant, actor=finance, budget=campaign.budget)
    assert closed.reserved == 0 and closed.spent == Decimal("1.00")
