from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from accounts.roles import Role
from accounts.tests.factories import MembershipFactory
from budgets import services
from budgets.errors import BudgetErrorCode
from budgets.models import Budget, BudgetEntry, BudgetStatus, EntryKind
from core.errors import (
    ConflictError,
    CoreErrorCode,
    PermissionDeniedError,
    ValidationFailed,
)
from core.models import AuditEntry

from .factories import approved_budget, draft_budget, submitted_budget

pytestmark = pytest.mark.django_db
D = Decimal


def second_finance(world):
    membership = MembershipFactory(
        tenant=world.tenant, user__username="alpha-finance2", role=Role.FINANCE
    )
    from accounts.permissions import Actor

    return Actor(tenant=world.tenant, membership=membership)


def audit(world, action):
    return AuditEntry.objects.for_tenant(world.tenant).filter(action=action)


class TestLifeCycle:
    def test_draft_submit_approve_records_who_when_why(self, world):
        budget = draft_budget(world)
        assert budget.status == BudgetStatus.DRAFT
        budget = services.budget_submit(
            tenant=world.tenant, actor=world.actor(Role.TENANT_ADMIN), budget=budget, note="Q4"
        )
        assert budget.status == BudgetStatus.SUBMITTED
        budget = services.budget_approve(
            tenant=world.tenant, actor=world.actor(Role.FINANCE), budget=budget, note="fine"
        )
        assert budget.status == BudgetStatus.APPROVED
        assert budget.approved_by == world.members[Role.FINANCE].user
        assert budget.approved_at is not None and budget.decision_note == "fine"
        entry = audit(world, "budget.approve").get()
        assert entry.before["status"] == "submitted" and entry.after["status"] == "approved"
        assert entry.note == "fine" and entry.actor_user == world.members[Role.FINANCE].user
        assert audit(world, "budget.create").count() == 1
        assert audit(world, "budget.submit").get().note == "Q4"

    def test_reject_needs_a_note_and_rejected_goes_back_to_draft_and_resubmits(self, world):
        budget = submitted_budget(world)
        finance = world.actor(Role.FINANCE)
        with pytest.raises(ValidationFailed):
            services.budget_reject(tenant=world.tenant, actor=finance, budget=budget, note=" ")
        budget = services.budget_reject(
            tenant=world.tenant, actor=finance, budget=budget, note="too much"
        )
        assert budget.status == BudgetStatus.REJECTED and budget.rejected_by == finance.user
        admin = world.actor(Role.TENANT_ADMIN)
        # a rejected budget is not submitted again as is: it goes back to draft first
        with pytest.raises(ConflictError) as exc:
            services.budget_submit(tenant=world.tenant, actor=admin, budget=budget)
        assert exc.value.code == CoreErrorCode.INVALID_TRANSITION
        budget = services.budget_update(
            tenant=world.tenant, actor=admin, budget=budget, amount=D("500.00"), note="smaller"
        )
        assert budget.status == BudgetStatus.DRAFT and budget.amount == D("500.00")
        change = audit(world, "budget.update").get()
        assert change.before["amount"] == "1000.00" and change.after["amount"] == "500.00"
        budget = services.budget_submit(tenant=world.tenant, actor=admin, budget=budget)
        budget = services.budget_approve(tenant=world.tenant, actor=finance, budget=budget)
        assert budget.status == BudgetStatus.APPROVED

    def test_reopen_moves_rejected_to_draft(self, world):
        budget = submitted_budget(world)
        budget = services.budget_reject(
            tenant=world.tenant, actor=world.actor(Role.FINANCE), budget=budget, note="no"
        )
        budget = services.budget_reopen(
            tenant=world.tenant, actor=world.actor(Role.FINANCE), budget=budget
        )
        assert budget.status == BudgetStatus.DRAFT

    @pytest.mark.parametrize(
        "status,move",
        [
            (BudgetStatus.DRAFT, "approve"),
            (BudgetStatus.DRAFT, "reject"),
            (BudgetStatus.DRAFT, "close"),
            (BudgetStatus.DRAFT, "reopen"),
            (BudgetStatus.SUBMITTED, "submit"),
            (BudgetStatus.SUBMITTED, "close"),
            (BudgetStatus.SUBMITTED, "update"),
            (BudgetStatus.APPROVED, "submit"),
            (BudgetStatus.APPROVED, "approve"),
            (BudgetStatus.APPROVED, "reject"),
            (BudgetStatus.APPROVED, "update"),
            (BudgetStatus.APPROVED, "reopen"),
            (BudgetStatus.CLOSED, "close"),
            (BudgetStatus.CLOSED, "submit"),
            (BudgetStatus.CLOSED, "update"),
        ],
    )
    def test_every_other_move_is_invalid_transition(self, world, status, move):
        budget = draft_budget(world)
        Budget.objects.for_tenant(world.tenant).filter(pk=budget.pk).update(status=status)
        budget.refresh_from_db()
        actor = world.actor(Role.FINANCE)
        calls = {
            "submit": lambda: services.budget_submit(
                tenant=world.tenant, actor=actor, budget=budget
            ),
            "approve": lambda: services.budget_approve(
                tenant=world.tenant, actor=actor, budget=budget
            ),
            "reject": lambda: services.budget_reject(
                tenant=world.tenant, actor=actor, budget=budget, note="x"
            ),
            "close": lambda: services.budget_close(tenant=world.tenant, actor=actor, budget=budget),
            "reopen": lambda: services.budget_reopen(
                tenant=world.tenant, actor=actor, budget=budget
            ),
            "update": lambda: services.budget_update(
                tenant=world.tenant, actor=actor, budget=budget, name="x"
            ),
        }
        with pytest.raises(ConflictError) as exc:
            calls[move]()
        assert exc.value.code == CoreErrorCode.INVALID_TRANSITION
        budget.refresh_from_db()
        assert budget.status == status

    def test_maker_checker(self, world):
        maker = world.actor(Role.FINANCE)
        budget = draft_budget(world, role=Role.FINANCE)
        budget = services.budget_submit(tenant=world.tenant, actor=maker, budget=budget)
        for call in (services.budget_approve, services.budget_reject):
            with pytest.raises(PermissionDeniedError) as exc:
                call(tenant=world.tenant, actor=maker, budget=budget, note="self")
            assert exc.value.code == BudgetErrorCode.MAKER_CHECKER
        checker = second_finance(world)
        budget = services.budget_approve(tenant=world.tenant, actor=checker, budget=budget)
        assert budget.status == BudgetStatus.APPROVED

    def test_only_finance_approves(self, world):
        budget = submitted_budget(world)
        for role in (Role.TENANT_ADMIN, Role.OPERATOR, Role.AUDITOR, Role.BU_ADMIN):
            with pytest.raises(PermissionDeniedError) as exc:
                services.budget_approve(tenant=world.tenant, actor=world.actor(role), budget=budget)
            assert exc.value.code == "permission_denied"

    def test_period_and_amount_are_validated(self, world):
        with pytest.raises(ValidationFailed):
            draft_budget(world, starts_on=date(2026, 12, 1), ends_on=date(2026, 11, 1))
        with pytest.raises(ValidationFailed):
            draft_budget(world, amount="0")
        with pytest.raises(ValidationFailed):
            draft_budget(world, amount="1.001")

    def test_close_releases_what_is_reserved_and_returns_the_rest(self, world):
        budget = approved_budget(world)
        services.budget_reserve(tenant=world.tenant, budget=budget, amount="300", reference="r1")
        services.budget_spend(tenant=world.tenant, budget=budget, amount="100", reference="s1")
        budget = services.budget_close(
            tenant=world.tenant, actor=world.actor(Role.FINANCE), budget=budget, note="done"
        )
        assert budget.status == BudgetStatus.CLOSED
        assert (budget.reserved, budget.spent, budget.available) == (D(0), D(100), D(900))
        close = BudgetEntry.objects.for_tenant(world.tenant).get(budget=budget, kind="close")
        assert close.reserved_delta == D(-200)
        with pytest.raises(ConflictError) as exc:
            services.budget_reserve(tenant=world.tenant, budget=budget, amount="1", reference="x")
        assert exc.value.code == BudgetErrorCode.BUDGET_NOT_ACTIVE
        assert services.budgets_verify(tenant=world.tenant) == []

    def test_close_refused_while_a_campaign_is_live(self, world):
        from campaigns.models import Campaign

        budget = approved_budget(world)
        campaign = Campaign.objects.create(
            tenant=world.tenant,
            name="c",
            business_unit=world.unit,
            budget=budget,
            starts_at="2026-11-02T00:00:00Z",
            ends_at="2026-11-03T00:00:00Z",
            status="running",
        )
        with pytest.raises(ConflictError) as exc:
            services.budget_close(
                tenant=world.tenant, actor=world.actor(Role.FINANCE), budget=budget
            )
        assert exc.value.code == BudgetErrorCode.BUDGET_IN_USE
        Campaign.objects.for_tenant(world.tenant).filter(pk=campaign.pk).update(status="ended")
        services.budget_close(tenant=world.tenant, actor=world.actor(Role.FINANCE), budget=budget)


class TestAdjustments:
    def test_increase_applies_when_another_finance_user_approves(self, world):
        budget = approved_budget(world)
        finance = world.actor(Role.FINANCE)
        adjustment = services.budget_adjustment_create(
            tenant=world.tenant,
            actor=finance,
            budget=budget,
            amount_delta=D("250.00"),
            reason="more",
        )
        with pytest.raises(PermissionDeniedError) as exc:
            services.budget_adjustment_approve(
                tenant=world.tenant, actor=finance, adjustment=adjustment
            )
        assert exc.value.code == BudgetErrorCode.MAKER_CHECKER
        adjustment = services.budget_adjustment_approve(
            tenant=world.tenant, actor=second_finance(world), adjustment=adjustment, note="ok"
        )
        assert adjustment.status == "approved"
        budget.refresh_from_db()
        assert budget.amount == D("1250.00")
        change = audit(world, "budget.adjust").get()
        assert (change.before["amount"], change.after["amount"]) == ("1000.00", "1250.00")
        assert change.note == "more"
        with pytest.raises(ConflictError) as exc:  # decided once
            services.budget_adjustment_reject(
                tenant=world.tenant,
                actor=second_finance_again(world),
                adjustment=adjustment,
                note="x",
            )
        assert exc.value.code == CoreErrorCode.INVALID_TRANSITION
        assert services.budgets_verify(tenant=world.tenant) == []

    def test_a_decrease_below_what_is_committed_is_refused(self, world):
        budget = approved_budget(world)
        services.budget_reserve(tenant=world.tenant, budget=budget, amount="800", reference="r")
        adjustment = services.budget_adjustment_create(
            tenant=world.tenant,
            actor=world.actor(Role.TENANT_ADMIN),
            budget=budget,
            amount_delta=D("-300.00"),
            reason="cut",
        )
        with pytest.raises(ConflictError) as exc:
            services.budget_adjustment_approve(
                tenant=world.tenant, actor=world.actor(Role.FINANCE), adjustment=adjustment
            )
        assert exc.value.code == BudgetErrorCode.BUDGET_EXCEEDED
        budget.refresh_from_db()
        assert budget.amount == D("1000.00")

    def test_reject_and_only_on_approved_budgets(self, world):
        with pytest.raises(ConflictError):
            services.budget_adjustment_create(
                tenant=world.tenant,
                actor=world.actor(Role.FINANCE),
                budget=draft_budget(world),
                amount_delta=D("1"),
                reason="r",
            )
        budget = approved_budget(world)
        adjustment = services.budget_adjustment_create(
            tenant=world.tenant,
            actor=world.actor(Role.TENANT_ADMIN),
            budget=budget,
            amount_delta=D("10"),
            reason="r",
        )
        adjustment = services.budget_adjustment_reject(
            tenant=world.tenant, actor=world.actor(Role.FINANCE), adjustment=adjustment, note="no"
        )
        assert adjustment.status == "rejected"
        budget.refresh_from_db()
        assert budget.amount == D("1000.00")
        assert audit(world, "budget_adjustment.reject").get().note == "no"


def second_finance_again(world):
    from accounts.models import Membership
    from accounts.permissions import Actor

    membership = Membership.objects.for_tenant(world.tenant).get(user__username="alpha-finance2")
    return Actor(tenant=world.tenant, membership=membership)


class TestMoney:
    def test_reserve_spend_release_refund_move_the_figures(self, world):
        budget = approved_budget(world)
        t = world.tenant
        services.budget_reserve(tenant=t, budget=budget, amount="400.00", reference="batch:1")
        assert (budget.reserved, budget.spent, budget.available) == (D(400), D(0), D(600))
        services.budget_spend(tenant=t, budget=budget, amount="30.00", reference="coupon:1")
        assert (budget.reserved, budget.spent) == (D(370), D(30))
        services.budget_spend(
            tenant=t, budget=budget, amount="50.00", reference="points:1", from_reserved=False
        )
        assert (budget.reserved, budget.spent, budget.available) == (D(370), D(80), D(550))
        services.budget_release(tenant=t, budget=budget, amount="70.00", reference="batch:1:end")
        services.budget_refund(tenant=t, budget=budget, amount="50.00", reference="points:1:rev")
        services.budget_refund(
            tenant=t, budget=budget, amount="30.00", reference="coupon:1:rb", to_reserved=True
        )
        budget.refresh_from_db()
        assert (budget.reserved, budget.spent, budget.available) == (D(330), D(0), D(670))
        assert services.budgets_verify(tenant=t) == []

    def test_refusals(self, world):
        budget = approved_budget(world)
        t = world.tenant
        with pytest.raises(ConflictError) as exc:
            services.budget_reserve(tenant=t, budget=budget, amount="1000.01", reference="a")
        assert exc.value.code == BudgetErrorCode.BUDGET_EXCEEDED
        services.budget_reserve(tenant=t, budget=budget, amount="1000.00", reference="b")
        with pytest.raises(ConflictError) as exc:
            services.budget_spend(
                tenant=t, budget=budget, amount="0.01", reference="c", from_reserved=False
            )
        assert exc.value.code == BudgetErrorCode.BUDGET_EXCEEDED
        with pytest.raises(ConflictError) as exc:
            services.budget_release(tenant=t, budget=budget, amount="1000.01", reference="d")
        assert exc.value.code == BudgetErrorCode.RESERVATION_EXCEEDED
        with pytest.raises(ConflictError) as exc:
            services.budget_refund(tenant=t, budget=budget, amount="1", reference="e")
        assert exc.value.code == BudgetErrorCode.REFUND_EXCEEDED
        # a refused movement leaves no entry behind
        refs = set(
            BudgetEntry.objects.for_tenant(t)
            .filter(budget=budget)
            .values_list("reference", flat=True)
        )
        assert refs == {"approve", "b"}

    def test_money_moves_only_on_approved_budgets(self, world):
        budget = submitted_budget(world)
        with pytest.raises(ConflictError) as exc:
            services.budget_reserve(tenant=world.tenant, budget=budget, amount="1", reference="a")
        assert exc.value.code == BudgetErrorCode.BUDGET_NOT_ACTIVE

    def test_a_retried_call_is_a_no_op(self, world):
        budget = approved_budget(world)
        t = world.tenant
        first = services.budget_reserve(tenant=t, budget=budget, amount="10", reference="r")
        again = services.budget_reserve(tenant=t, budget=budget, amount="10", reference="r")
        assert first.pk == again.pk
        budget.refresh_from_db()
        assert budget.reserved == D(10)
        # the same reference under another kind is another movement
        services.budget_spend(tenant=t, budget=budget, amount="10", reference="r")
        with pytest.raises(ConflictError) as exc:
            services.budget_reserve(tenant=t, budget=budget, amount="11", reference="r")
        assert exc.value.code == BudgetErrorCode.REFERENCE_REUSED

    def test_a_retry_is_a_no_op_even_once_nothing_is_left(self, world):
        budget = approved_budget(world, amount="100.00")
        t = world.tenant
        first = services.budget_reserve(tenant=t, budget=budget, amount="100", reference="all")
        again = services.budget_reserve(tenant=t, budget=budget, amount="100", reference="all")
        assert again.pk == first.pk
        services.budget_close(tenant=t, actor=world.actor(Role.FINANCE), budget=budget)
        again = services.budget_reserve(tenant=t, budget=budget, amount="100", reference="all")
        assert again.pk == first.pk
        with pytest.raises(ConflictError) as exc:
            services.budget_reserve(tenant=t, budget=budget, amount="1", reference="new")
        assert exc.value.code == BudgetErrorCode.BUDGET_NOT_ACTIVE

    def test_the_database_refuses_reserved_plus_spent_above_amount(self, world):
        budget = approved_budget(world)
        with pytest.raises(IntegrityError), transaction.atomic():
            Budget.objects.for_tenant(world.tenant).filter(pk=budget.pk).update(
                reserved=D("600"), spent=D("401")
            )
        with pytest.raises(IntegrityError), transaction.atomic():
            Budget.objects.for_tenant(world.tenant).filter(pk=budget.pk).update(reserved=D("-1"))

    def test_labels_and_actor_are_kept_on_the_entry(self, world):
        budget = approved_budget(world)
        entry = services.budget_reserve(
            tenant=world.tenant,
            budget=budget,
            amount="5",
            reference="batch:9",
            actor=world.actor(Role.OPERATOR),
            source="coupon_batch:9",
            note="activated",
        )
        assert entry.kind == EntryKind.RESERVE and entry.source == "coupon_batch:9"
        assert entry.actor_user == world.members[Role.OPERATOR].user


class TestCheckBudgets:
    def test_detects_a_tampered_figure(self, world, capsys):
        budget = approved_budget(world)
        services.budget_reserve(tenant=world.tenant, budget=budget, amount="10", reference="r")
        call_command("check_budgets")
        Budget.objects.for_tenant(world.tenant).filter(pk=budget.pk).update(spent=D("5"))
        with pytest.raises(CommandError):
            call_command("check_budgets")
        assert f"budget {budget.pk}" in capsys.readouterr().err
        mismatch = services.budgets_verify(tenant=world.tenant)
        assert [(m.field, m.stored, m.rebuilt) for m in mismatch] == [("spent", D(5), D(0))]

    def test_detects_a_tampered_amount(self, world):
        budget = approved_budget(world)
        Budget.objects.for_tenant(world.tenant).filter(pk=budget.pk).update(amount=D("2000"))
        assert [m.field for m in services.budgets_verify(tenant=world.tenant)] == ["amount"]
