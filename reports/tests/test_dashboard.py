"""The console's home page per role (SPEC §5): each role's panels, and nobody else's."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from budgets.tests.factories import submitted_budget
from campaigns.tests.factories import running_campaign
from core.models import AuditEntry

pytestmark = pytest.mark.django_db


def _home(world, role) -> str:
    response = world.console_client(role).get(reverse("accounts:home"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_operator_sees_running_campaigns_today_and_jobs_but_not_finances(world, history):
    campaign = running_campaign(world, purpose="coupons")
    html = _home(world, Role.OPERATOR)
    assert 'id="running-title"' in html and 'data-chart-source="chart-running"' in html
    assert reverse("campaigns:detail", args=[campaign.pk]) in html
    earned = world.client(Role.OPERATOR).get("/api/v1/reports/points").json()["earned"]
    assert f'data-figure="today-points">{earned}<' in html
    assert 'id="finance-title"' not in html and 'id="audit-title"' not in html


def test_finance_sees_what_waits_for_them(world, history):
    submitted_budget(world)  # by the tenant admin: finance decides it
    html = _home(world, Role.FINANCE)
    assert 'data-figure="budgets-waiting">1<' in html
    assert 'data-figure="settlements-waiting">0<' in html
    liability = world.client(Role.FINANCE).get("/api/v1/reports/points").json()["liability"]
    assert f'data-figure="liability">{liability} ' in html
    assert 'id="audit-title"' in html  # finance reads the audit log


def test_the_auditor_sees_recent_changes_and_nothing_to_act_on(world, history):
    html = _home(world, Role.AUDITOR)
    latest = AuditEntry.objects.for_tenant(world.tenant).order_by("-created_at", "-id").first()
    assert 'id="audit-title"' in html and latest.action in html
    assert 'id="finance-title"' not in html and 'id="jobs-title"' not in html
