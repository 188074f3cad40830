import pytest
from django.core.management import call_command

from accounts.demo import demo_tenant_get
from points import services as points_services
from redemption import services
from redemption.models import Lottery, LotteryDraw, LotteryStatus, Prize, PrizeRedemption

pytestmark = pytest.mark.django_db


def test_seed_demo_prizes_twice(capsys):
    call_command("seed_demo", size="tiny")
    call_command("seed_demo", size="tiny")  # a second run adds nothing
    assert "prizes: 4 prizes and a lottery, redemptions already there" in capsys.readouterr().out
    tenant = demo_tenant_get()
    prizes = Prize.objects.for_tenant(tenant)
    assert sorted(prizes.values_list("name", flat=True)) == [
        "JD e-card 50 CNY",
        "Phone top-up 10 CNY",
        "Phone top-up 30 CNY",
        "iPhone 17",
    ]
    # One value of a point across the catalog: 0.20 CNY (the review's 1.7-15 a yuan, fixed).
    assert {prize.value / prize.points_cost for prize in prizes} == {prizes[0].program.point_value}
    lottery = Lottery.objects.for_tenant(tenant).get()
    assert lottery.status == LotteryStatus.ACTIVE
    assert services.expected_points(lottery) <= lottery.cost_points
    spent = PrizeRedemption.objects.for_tenant(tenant).count()
    spent += LotteryDraw.objects.for_tenant(tenant).count()
    assert spent == 5 + 1  # the month's service stars, and demo-staff's top-up
    assert points_services.ledger_mismatches() == []
