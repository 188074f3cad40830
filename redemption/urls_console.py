from django.urls import path

from . import views

app_name = "redemption"
urlpatterns = [
    path("", views.prize_list, name="prize_list"),
    path("lotteries/", views.lottery_list, name="lottery_list"),
]
