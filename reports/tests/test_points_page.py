"""The points report's console page and its downloads."""

import pytest
from django.urls import reverse

from accounts.roles import Role

pytestmark = pytest.mark.django_db


def test_the_page_shows_the_apis_figures_as_charts_and_tables(world, history):
    api = world.client(Role.OPERATOR).get("/api/v1/reports/points").json()
    page = world.console_client(Role.OPERATOR).get(reverse("reports:points"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-figure="earning">{api["earning_staff"]}<' in html
    assert f'data-figure="net">{api["net"]}<' in html
    assert 'data-chart-source="chart-histogram"' in html and 'id="chart-histogram"' in html
    assert reverse("reports:points") in html  # in the navigation
    export = world.console_client(Role.FINANCE).get(reverse("reports:points_export", args=["csv"]))
    assert export.status_code == 200
    lines = b"".join(export.streaming_content).decode().strip().splitlines()
    assert len(lines) == 1 + api["eligible_staff"]


def test_a_bad_filter_says_what_to_fix_and_keeps_what_was_typed(world, history):
    page = world.console_client(Role.OPERATOR).get(
        reverse("reports:points"), {"from": "2026-12-10", "to": "2026-12-01", "merchant": "NOPE"}
    )
    html = page.content.decode()
    assert page.status_code == 200 and 'id="report-errors"' in html
    assert "To: On or after from." in html
    assert 'value="2026-12-10"' in html and 'value="NOPE"' in html
    assert 'data-figure="net"' not in html


def test_merchant_staff_and_other_roles_outside_reports_are_kept_out(world):
    assert world.console_client(Role.MERCHANT_ADMIN).get(reverse("reports:points")).status_code in (
        302,
        403,
    )
    assert world.console_client(Role.AUDITOR).get(reverse("reports:points")).status_code == 200


def test_the_campaign_effect_page_shows_the_apis_figures(world, redemptions):
    api = world.client(Role.OPERATOR).get("/api/v1/reports/campaign-effect").json()
    page = world.console_client(Role.OPERATOR).get(reverse("reports:campaign_effect"))
    html = page.content.decode()
    assert f'data-figure="issued">{api["totals"]["issued"]}<' in html
    assert f'data-figure="redemptions">{api["totals"]["redemptions"]}<' in html
    assert 'id="chart-days"' in html and 'id="chart-burn"' in html
    download = world.console_client(Role.OPERATOR).get(
        reverse("reports:campaign_effect_export", args=["xlsx"])
    )
    assert download.status_code == 200 and download["Content-Type"].endswith("sheet")
