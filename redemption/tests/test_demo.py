import pytest
from django.core.management import call_command

from accounts.demo import PORTAL_MERCHANT, PORTAL_STAFF, demo_tenant_get
from points import services as points_services
from redemption import services
from redemption.demo import TOP_REVIEWER_BONUS
from redemption.models import Lottery, LotteryDraw, LotteryStatus, Prize, PrizeRedemption

pytestmark = pytest.mark.django_db


def test_seed_demo_prizes_twice(capsys):
    call_command("seed_demo", size="tiny")
    call_command("seed_demo", size="tiny")  # a second run adds nothing
    out = capsys.readouterr().out
    assert "prizes: 3 prizes and a lottery, redemptions already there" in out
    assert "portal prizes: already there" in out
    tenant = demo_tenant_get()
    prizes = Prize.objects.for_tenant(tenant).exclude(name__startswith="First design")
    assert sorted(prizes.values_list("name", flat=True)) == [
        "JD e-card 40 CNY",
        "Phone top-up 10 CNY",
        "Phone top-up 30 CNY",
        "Power bank 10,000 mAh",
        "Repair voucher 20 CNY",
    ]
    # One value of a point across the catalog: 0.20 CNY (the review's 1.7-15 a yuan, fixed).
    assert {prize.value / prize.points_cost for prize in prizes} == {prizes[0].program.point_value}
    lottery = Lottery.objects.for_tenant(tenant).get()
    assert lottery.status == LotteryStatus.ACTIVE
    assert services.expected_points(lottery) <= lottery.cost_points
    spent = PrizeRedemption.objects.for_tenant(tenant).count()
    spent += LotteryDraw.objects.for_tenant(tenant).count()
    # The month's service stars; demo-staff's top-up, voucher and power bank; a colleague's.
    assert spent == 5 + 3 + 1
    assert points_services.ledger_mismatches() == []


def test_the_portal_merchant_has_a_voucher_and_a_prize_in_fulfilment():
    call_command("seed_demo", size="tiny")
    tenant = demo_tenant_get()
    mine = PrizeRedemption.objects.for_tenant(tenant).filter(staff__code=PORTAL_STAFF)
    voucher = mine.get(prize__kind="coupon")
    assert voucher.coupon.customer.code == f"SHOP-{PORTAL_MERCHANT}"
    assert voucher.coupon.status == "issued" and voucher.coupon.code_to_show
    shipped = mine.get(prize__kind="physical")
    assert (shipped.fulfilment_status, shipped.carrier) == ("shipped", "SF Express")
    waiting = PrizeRedemption.objects.for_tenant(tenant).filter(
        staff__merchant__code=PORTAL_MERCHANT, fulfilment_status="pending"
    )
    assert waiting.count() == 1 and waiting.get().staff.code != PORTAL_STAFF
    assert voucher.points + shipped.points == TOP_REVIEWER_BONUS  # the balance ends as it was
