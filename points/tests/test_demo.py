import pytest
from django.core.management import call_command

from accounts.demo import PORTAL_MERCHANT, PORTAL_STAFF, PORTAL_TEAM, demo_tenant_get
from accounts.models import MerchantStaff
from orders.models import Order, OrderStatus
from points import services
from points.models import AwardOutcome, LedgerEntry, LotStatus, OrderAward, PointsAccount
from redemption.models import PrizeRedemption

pytestmark = pytest.mark.django_db


def test_seed_demo_points_twice(capsys):
    call_command("seed_demo", size="tiny")
    call_command("seed_demo", size="tiny")  # a second run adds nothing
    out = capsys.readouterr().out
    assert "points: 0 orders placed (0 completed, 0 closed), 120 already there" in out
    tenant = demo_tenant_get()
    orders = Order.objects.for_tenant(tenant).filter(external_id__startswith="DEMO-ORD-")
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


def test_seed_demo_gives_the_portal_merchant_a_living_team(capsys):
    call_command("seed_demo", size="tiny")
    call_command("seed_demo", size="tiny")  # a second run adds nothing
    out = capsys.readouterr().out
    assert f"{PORTAL_MERCHANT} orders: 0 placed for {PORTAL_TEAM} staff, 40 already there" in out
    assert f"{PORTAL_STAFF} redemption: already there" in out
    tenant = demo_tenant_get()
    team = MerchantStaff.objects.for_tenant(tenant).filter(merchant__code=PORTAL_MERCHANT)
    assert team.count() >= PORTAL_TEAM
    accounts = PointsAccount.objects.for_tenant(tenant)
    # demo-staff: usable points, pending points, and a history with earning and spending in it
    mine = accounts.get(staff__code=PORTAL_STAFF)
    assert mine.balance > 0 and mine.pending > 0
    kinds = set(
        LedgerEntry.objects.for_tenant(tenant).filter(account=mine).values_list("kind", flat=True)
    )
    assert {"earn", "activate", "spend"} <= kinds
    assert kinds & {"cancel", "reverse"}
    assert PrizeRedemption.objects.for_tenant(tenant).filter(staff=mine.staff).exists()
    # every colleague the merchant admin sees has points too, some usable and some pending
    for member in team:
        account = accounts.get(staff=member)
        assert account.balance > 0 and account.pending > 0, member.code
    portal = Order.objects.for_tenant(tenant).filter(external_id__startswith="DEMO-PORTAL-")
    assert set(portal.values_list("status", flat=True)) == {
        OrderStatus.OPEN,
        OrderStatus.COMPLETED,
        OrderStatus.CLOSED,
    }
    assert services.ledger_mismatches() == []
