from django.urls import path

from . import portal_views as views

# Mounted in the portal namespace by web/urls_portal.py.
urlpatterns = [
    path("prizes/", views.prize_catalogue, name="prizes"),
    path("prizes/<int:id>/", views.prize_detail, name="prize"),
    path("prizes/<int:id>/redeem/", views.prize_redeem, name="prize_redeem"),
    path("lotteries/", views.lottery_list, name="lotteries"),
    path("lotteries/<int:id>/", views.lottery_detail, name="lottery"),
    path("lotteries/<int:id>/draw/", views.lottery_draw, name="lottery_draw"),
    path("draws/<int:id>/", views.draw_detail, name="draw"),
    path("redemptions/", views.redemption_list, name="redemptions"),
    path("redemptions/<int:id>/", views.redemption_detail, name="redemption"),
    path("redemptions/<int:id>/cancel/", views.redemption_cancel, name="redemption_cancel"),
]
