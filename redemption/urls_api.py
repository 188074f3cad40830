from django.urls import path

from . import api

urlpatterns = [
    path("prizes", api.PrizeListView.as_view(), name="prizes"),
    path("prizes/<int:id>", api.PrizeDetailView.as_view(), name="prize"),
    path(
        "prizes/<int:id>/stock-adjustments",
        api.PrizeStockAdjustView.as_view(),
        name="prize-stock-adjustments",
    ),
    path("prize-redemptions", api.RedemptionListView.as_view(), name="prize-redemptions"),
    path("prize-redemptions/<int:id>", api.RedemptionDetailView.as_view(), name="prize-redemption"),
    path(
        "prize-redemptions/<int:id>/cancel",
        api.RedemptionCancelView.as_view(),
        name="prize-redemption-cancel",
    ),
    path(
        "prize-redemptions/<int:id>/ship",
        api.RedemptionShipView.as_view(),
        name="prize-redemption-ship",
    ),
    path(
        "prize-redemptions/<int:id>/deliver",
        api.RedemptionDeliverView.as_view(),
        name="prize-redemption-deliver",
    ),
    path("lotteries", api.LotteryListView.as_view(), name="lotteries"),
    path("lotteries/<int:id>", api.LotteryDetailView.as_view(), name="lottery"),
    path("lotteries/<int:id>/activate", api.LotteryActivateView.as_view(), name="lottery-activate"),
    path("lotteries/<int:id>/end", api.LotteryEndView.as_view(), name="lottery-end"),
    path("lotteries/<int:id>/draws", api.DrawView.as_view(), name="lottery-draws"),
]
