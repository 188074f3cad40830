"""Large points adjustments need a second person (maker-checker, SPEC §7): within the tenant's
bound a correction applies at once; above it, it waits until someone else who may adjust
points approves it, exactly once."""

from functools import partial

import pytest
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import RegionFactory, StaffFactory
from core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RuleRefusal,
    ValidationFailed,
)
from core.models import AuditEntry
from core.testing import run_at_once
from points import services
from points.models import AdjustmentRequestStatus, LedgerEntry, PointsAdjustmentRequest

from .factories import program

pytestmark = pytest.mark.django_db

BOUND = 1_000


@pytest.fixture
def account(world):
    world.tenant.max_points_adjustment = BOUND
    world.tenant.save()
    prog = program(world)
    return services.account_for_holder(tenant=world.tenant, program=prog, holder=world.staff)


def submit(world, account, points, role=Role.OPERATOR, reason="Store audit found missed orders"):
    return services.points_adjustment_submit(
        tenant=world.tenant, actor=world.actor(role), account=account, points=points, reason=reason
    )


def approve(world, request, role=Role.TENANT_ADMIN, note=""):
    return services.points_adjustment_approve(
        tenant=world.tenant, actor=world.actor(role), request=request, note=note
    )


def balance(account) -> int:
    account.refresh_from_db()
    return account.balance


class TestServices:
    def test_within_the_bound_it_applies_at_once(self, world, account):
        entry = submit(world, account, BOUND)
        assert isinstance(entry, LedgerEntry) and balance(account) == BOUND
        assert not PointsAdjustmentRequest.objects.for_tenant(world.tenant).exists()

    def test_above_the_bound_it_waits_then_applies_once_approved(self, world, account):
        request = submit(world, account, BOUND + 1)
        assert isinstance(request, PointsAdjustmentRequest)
        assert request.status == AdjustmentRequestStatus.PENDING and balance(account) == 0
        approved = approve(world, request, note="Checked the receipts")
        assert approved.status == AdjustmentRequestStatus.APPROVED
        assert balance(account) == BOUND + 1
        entry = approved.entry
        assert entry.reason == request.reason and entry.source.endswith(str(request.pk))
        actions = set(AuditEntry.objects.for_tenant(world.tenant).values_list("action", flat=True))
        assert {"points_adjustment.request", "points_adjustment.approved"} <= actions
        assert services.ledger_mismatches() == []

    def test_the_author_never_decides_their_own_request(self, world, account):
        request = submit(world, account, BOUND + 1)
        with pytest.raises(PermissionDeniedError) as refused:
            approve(world, request, role=Role.OPERATOR)
        assert refused.value.code == "maker_checker"
        with pytest.raises(PermissionDeniedError):
            services.points_adjustment_reject(
                tenant=world.tenant, actor=world.actor(Role.OPERATOR), request=request, note="no"
            )
        assert balance(account) == 0

    def test_only_who_may_adjust_decides(self, world, account):
        request = submit(world, account, BOUND + 1)
        for role in (Role.FINANCE, Role.AUDITOR, Role.MERCHANT_ADMIN):
            with pytest.raises(PermissionDeniedError):
                approve(world, request, role=role)
        assert balance(account) == 0

    def test_decided_twice_is_a_conflict(self, world, account):
        request = submit(world, account, BOUND + 1)
        approve(world, request)
        with pytest.raises(ConflictError) as twice:
            approve(world, request, role=Role.BU_ADMIN)
        assert twice.value.code == "invalid_transition"
        with pytest.raises(ConflictError):
            services.points_adjustment_reject(
                tenant=world.tenant, actor=world.actor(Role.BU_ADMIN), request=request, note="x"
            )
        assert balance(account) == BOUND + 1

    def test_reject_says_why_and_moves_nothing(self, world, account):
        request = submit(world, account, BOUND + 1)
        reject = services.points_adjustment_reject
        with pytest.raises(ValidationFailed):
            reject(tenant=world.tenant, actor=world.actor(Role.TENANT_ADMIN), request=request,
                   note=" ")  # fmt: skip
        rejected = reject(
            tenant=world.tenant, actor=world.actor(Role.TENANT_ADMIN), request=request,
            note="No receipts",
        )  # fmt: skip
        assert rejected.status == AdjustmentRequestStatus.REJECTED and rejected.entry is None
        assert balance(account) == 0

    def test_a_regional_operator_neither_asks_nor_decides_outside_their_regions(
        self, world, account
    ):
        far_staff = StaffFactory(
            tenant=world.tenant, merchant__region=RegionFactory(tenant=world.tenant)
        )
        far = services.account_for_holder(
            tenant=world.tenant, program=account.program, holder=far_staff
        )
        with pytest.raises(NotFoundError):
            submit(world, far, BOUND + 1, role=Role.REGIONAL_OPERATOR)
        request = submit(world, far, BOUND + 1)
        with pytest.raises(NotFoundError):
            approve(world, request, role=Role.REGIONAL_OPERATOR)
        listed = services_list(world, Role.REGIONAL_OPERATOR)
        assert request.pk not in listed

    def test_a_deduction_approved_later_still_needs_the_points(self, world, account):
        request = submit(world, account, -(BOUND + 1))
        with pytest.raises(RuleRefusal) as refused:
            approve(world, request)
        assert refused.value.code == "insufficient_points"
        request.refresh_from_db()
        assert request.status == AdjustmentRequestStatus.PENDING  # still open for a decision

    def test_the_balance_stays_within_the_column(self, world, account):
        approve(world, submit(world, account, 2**63 - 1))
        with pytest.raises(RuleRefusal) as refused:
            approve(world, submit(world, account, BOUND + 1))
        assert refused.value.code == "adjustment_too_large"
        assert balance(account) == 2**63 - 1

    def test_points_adjust_itself_still_refuses_above_the_bound(self, world, account):
        with pytest.raises(RuleRefusal) as refused:
            services.points_adjust(
                tenant=world.tenant, actor=world.actor(Role.OPERATOR), account=account,
                points=BOUND + 1, reason="x",
            )  # fmt: skip
        assert refused.value.code == "adjustment_too_large"


def services_list(world, role) -> set[int]:
    from points import selectors

    qs = selectors.adjustment_request_list(tenant=world.tenant, actor=world.actor(role))
    return set(qs.values_list("pk", flat=True))


class TestApi:
    def url(self, account):
        return f"/api/v1/points-accounts/{account.pk}/adjustments"

    def test_202_then_approve_by_another_then_409(self, world, account):
        maker = world.client(Role.OPERATOR)
        asked = maker.post(self.url(account), {"points": BOUND + 5, "reason": "x"}, format="json")
        assert asked.status_code == 202, asked.json()
        body = asked.json()
        assert body["status"] == "pending" and body["entry"] is None
        listed = maker.get("/api/v1/points-adjustment-requests", {"status": "pending"}).json()
        assert [row["id"] for row in listed["results"]] == [body["id"]]
        action = f"/api/v1/points-adjustment-requests/{body['id']}/approve"
        own = maker.post(action, {}, format="json")
        assert own.status_code == 403 and own.json()["code"] == "maker_checker"
        checker = world.client(Role.TENANT_ADMIN)
        done = checker.post(action, {"note": "ok"}, format="json")
        assert done.status_code == 200 and done.json()["status"] == "approved"
        assert done.json()["entry"] is not None
        assert checker.post(action, {}, format="json").status_code == 409
        assert balance(account) == BOUND + 5

    def test_within_the_bound_answers_the_entry(self, world, account):
        response = world.client(Role.OPERATOR).post(
            self.url(account), {"points": 5, "reason": "x"}, format="json"
        )
        assert response.status_code == 201 and response.json()["kind"] == "adjust"

    def test_reject_needs_a_note(self, world, account):
        request = submit(world, account, BOUND + 1)
        url = f"/api/v1/points-adjustment-requests/{request.pk}/reject"
        checker = world.client(Role.TENANT_ADMIN)
        assert checker.post(url, {}, format="json").status_code == 400
        assert checker.post(url, {"note": "No"}, format="json").json()["status"] == "rejected"

    def test_other_tenants_requests_are_not_found(self, world, other_world, account):
        request = submit(world, account, BOUND + 1)
        stranger = other_world.client(Role.TENANT_ADMIN)
        url = f"/api/v1/points-adjustment-requests/{request.pk}"
        assert stranger.get(url).status_code == 404
        assert stranger.post(f"{url}/approve", {}, format="json").status_code == 404


class TestConsole:
    def test_ask_then_approve_in_the_console(self, world, account):
        maker = world.console_client(Role.OPERATOR)
        detail = reverse("points:account_detail", args=[account.pk])
        asked = maker.post(
            detail, {"points": str(BOUND + 1), "reason": "Missed orders"}, follow=True
        )
        assert "another person approves it first" in asked.content.decode()
        assert balance(account) == 0
        request = PointsAdjustmentRequest.objects.for_tenant(world.tenant).get()
        own_page = maker.get(reverse("points:adjustment_requests")).content.decode()
        assert "so another person decides it" in own_page
        checker = world.console_client(Role.TENANT_ADMIN)
        queue = checker.get(reverse("points:adjustment_requests")).content.decode()
        assert "Missed orders" in queue and f'data-adjustment-request="{request.pk}"' in queue
        action = reverse("points:adjustment_request_action", args=[request.pk, "approve"])
        done = checker.post(action, {"note": "", "next": detail}, follow=True)
        assert done.redirect_chain[-1][0] == detail
        assert "The adjustment was applied." in done.content.decode()
        assert balance(account) == BOUND + 1

    def test_the_queue_is_for_who_may_adjust(self, world, account):
        page = world.console_client(Role.FINANCE).get(reverse("points:adjustment_requests"))
        assert page.status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("concurrency")
def test_two_checkers_approving_at_once_apply_it_once(world, account):
    request = submit(world, account, BOUND + 1, role=Role.REGIONAL_OPERATOR)
    checkers = [Role.TENANT_ADMIN, Role.OPERATOR, Role.BU_ADMIN, Role.TENANT_ADMIN]
    outcomes = sorted(
        run_at_once(
            [partial(lambda role: approve(world, request, role).status, r) for r in checkers]
        )
    )
    assert outcomes == ["approved"] + ["invalid_transition"] * 3
    assert balance(account) == BOUND + 1
    assert LedgerEntry.objects.for_tenant(world.tenant).filter(kind="adjust").count() == 1
    assert services.ledger_mismatches() == []
