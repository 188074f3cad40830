"""Settlements on the console: prepared by one finance user, closed by another, refused with
the reason on the page, and downloaded as the statement."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.authentication import SESSION_TENANT_KEY
from accounts.roles import Role
from accounts.tests.factories import MembershipFactory
from reports.models import Settlement, SettlementStatus

pytestmark = pytest.mark.django_db


def test_prepare_close_and_download_on_the_console(world):
    maker = world.console_client(Role.FINANCE)
    page = maker.post(
        reverse("reports:settlement_list"),
        {"first_day": "2026-10-01", "last_day": "2026-10-31", "note": "October"},
        follow=True,
    )
    settlement = Settlement.objects.for_tenant(world.tenant).get()
    assert page.redirect_chain[-1][0] == reverse("reports:settlement_detail", args=[settlement.pk])
    html = page.content.decode()
    assert "Another finance user closes what you prepared." in html
    assert "Close and freeze" not in html

    overlap = maker.post(
        reverse("reports:settlement_list"), {"first_day": "2026-10-15", "last_day": "2026-11-02"}
    )
    assert "overlap the settlement" in overlap.content.decode()

    checker = MembershipFactory(tenant=world.tenant, role=Role.FINANCE)
    checker_client = Client()
    checker_client.force_login(checker.user)
    session = checker_client.session
    session[SESSION_TENANT_KEY] = world.tenant.pk
    session.save()
    closed = checker_client.post(
        reverse("reports:settlement_action", args=[settlement.pk, "close"]), follow=True
    )
    assert "Settlement closed" in closed.content.decode()
    settlement.refresh_from_db()
    assert settlement.status == SettlementStatus.CLOSED and settlement.closed_by == checker.user
    statement = maker.get(reverse("reports:settlement_export", args=[settlement.pk, "csv"]))
    lines = b"".join(statement.streaming_content).decode().strip().splitlines()
    assert lines[-1].startswith("Total,")


def test_operators_cannot_prepare_and_do_not_see_the_form(world):
    operator = world.console_client(Role.OPERATOR)
    page = operator.get(reverse("reports:settlement_list")).content.decode()
    assert "Prepare a settlement" not in page
    operator.post(
        reverse("reports:settlement_list"), {"first_day": "2026-10-01", "last_day": "2026-10-31"}
    )
    assert not Settlement.objects.for_tenant(world.tenant).exists()
