from django.urls import path

from . import api

urlpatterns = [
    path("prizes", api.PrizeListView.as_view(), name="prizes"),
    path("prizes/<int:id>", api.PrizeDetailView.as_view(), name="prize"),
    path("prize-redemptions", api.RedemptionListView.as_view(), name="prize-redemptions"),
    path("prize-redemptions/<int:id>", api.RedemptionDetailView.as_view(), name="prize-redemption"),
    path(
        "prize-redemptions/<int:id>/cancel",
        api.RedemptionCancelView.as_view(),
        name="prize-redemption-cancel",
    ),
]
