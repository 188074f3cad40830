from django.urls import path, re_path

from . import views

app_name = "redemption"
urlpatterns = [
    path("", views.prize_list, name="prize_list"),
    path("new/", views.prize_create, name="prize_create"),
    path("<int:pk>/", views.prize_detail, name="prize_detail"),
    path("<int:pk>/edit/", views.prize_edit, name="prize_edit"),
    path("<int:pk>/stock/", views.prize_stock_adjust, name="prize_stock_adjust"),
    re_path(
        r"^(?P<pk>[0-9]+)/(?P<verb>activate|deactivate)/$",
        views.prize_action,
        name="prize_action",
    ),
    path("lotteries/", views.lottery_list, name="lottery_list"),
    path("lotteries/new/", views.lottery_create, name="lottery_create"),
    path("lotteries/<int:pk>/", views.lottery_detail, name="lottery_detail"),
    path("lotteries/<int:pk>/edit/", views.lottery_edit, name="lottery_edit"),
    re_path(
        r"^lotteries/(?P<pk>[0-9]+)/(?P<verb>activate|end)/$",
        views.lottery_action,
        name="lottery_action",
    ),
    path("fulfilment/", views.fulfilment_list, name="fulfilment_list"),
    path("fulfilment/<int:pk>/ship/", views.fulfilment_ship, name="fulfilment_ship"),
    re_path(
        r"^fulfilment/(?P<pk>[0-9]+)/(?P<verb>deliver|cancel)/$",
        views.fulfilment_action,
        name="fulfilment_action",
    ),
]
