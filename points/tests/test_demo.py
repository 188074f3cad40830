import pytest
from django.core.management import call_command

from accounts.demo import demo_tenant_get
from orders.models import Order, OrderStatus
from points import services
from points.models import AwardOutcome, LotStatus, OrderAward, PointsAccount

pytestmark = pytest.mark.django_db


def test_seed_demo_points_twice(capsys):
    call_command("seed_demo", size="tiny")
    call_command("seed_demo", size="tiny")  # a second run adds nothing
    out = capsys.readouterr().out
    assert "points: 0 orders placed (0 completed, 0 closed), 120 already there" in out
    tenant = demo_tenant_get()
    orders = Order.objects.for_tenant(tenant)
    assert orders.count() == 120
    assert orders.filter(status=OrderStatus.CLOSED).exists()
    awards = OrderAward.objects.for_tenant(tenant)
    # Only orders placed while the campaign runs earn; each of them has exactly one rank.
    assert awards.exists()
    ranks = awards.values_list("region_id", "rank")
    assert len(set(ranks)) == len(ranks)
    assert awards.filter(outcome=AwardOutcome.AWARDED, requested=5).exists()
    accounts = PointsAccount.objects.for_tenant(tenant)
    assert accounts.filter(balance__gt=0).exists()
    assert all(a.balance + a.pending <= 50 * 5 for a in accounts)  # weekly cap, a month at most
    assert OrderAward.objects.for_tenant(tenant).filter(
        lot__status=LotStatus.CANCELLED
    ).exists() or (
        OrderAward.objects.for_tenant(tenant).filter(lot__status=LotStatus.REVERSED).exists()
    )
    assert services.ledger_mismatches() == []
