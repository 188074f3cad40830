"""Where the tenant-isolation test finds the other tenant's identifiers for prize routes."""

from core.testing import route_param
from redemption import api
from redemption.models import Lottery, Prize, PrizeRedemption


def _prize(world):
    from redemption.tests.factories import prize

    existing = Prize.objects.for_tenant(world.tenant).first()
    return existing or prize(world, name=f"{world.tenant.slug} prize")


def _redemption(world):
    from redemption import services
    from redemption.tests.factories import give_points

    existing = PrizeRedemption.objects.for_tenant(world.tenant).first()
    if existing is not None:
        return existing
    prize = _prize(world)
    give_points(world, prize.program, world.staff, prize.points_cost)
    return services.prize_redeem(
        tenant=world.tenant, actor=world.system, staff=world.staff, prize=prize
    )


def _lottery(world):
    from redemption.tests.factories import lottery

    existing = Lottery.objects.for_tenant(world.tenant).first()
    return existing or lottery(world)


for view in (api.PrizeDetailView, api.PrizeStockAdjustView):
    route_param(view, "id", Prize, make=_prize)
redemption_views = (
    api.RedemptionDetailView,
    api.RedemptionCancelView,
    api.RedemptionShipView,
    api.RedemptionDeliverView,
)
for view in redemption_views:
    route_param(view, "id", PrizeRedemption, make=_redemption)
for view in (api.LotteryDetailView, api.LotteryActivateView, api.LotteryEndView, api.DrawView):
    route_param(view, "id", Lottery, make=_lottery)
