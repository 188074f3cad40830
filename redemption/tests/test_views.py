"""Console pages of prizes and lotteries through Django's test client."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.roles import Role

from .factories import lottery, prize

pytestmark = pytest.mark.django_db


def test_prize_and_lottery_pages_with_nav(world):
    prize(world, name="Phone top-up 10", stock=0)
    lottery(world, cost_points=80)
    client = world.console_client(Role.AUDITOR)
    prizes = client.get(reverse("redemption:prize_list")).content.decode()
    assert "Phone top-up 10" in prizes and "Out of stock" in prizes
    assert reverse("redemption:lottery_list") in prizes  # in the navigation
    lotteries = client.get(reverse("redemption:lottery_list")).content.decode()
    assert "Climax lottery" in lotteries
    assert f"{Decimal('50'):.2f}" in lotteries  # 0.5 x 100 points back for 80
    assert "Points 100 — 50 %" in lotteries  # probabilities as people read them


def test_pages_are_for_console_readers(world):
    finance = world.console_client(Role.FINANCE)
    assert finance.get(reverse("redemption:prize_list")).status_code == 200
    staff = world.console_client(Role.MERCHANT_STAFF)
    assert staff.get(reverse("redemption:prize_list")).status_code != 200
