from django.urls import path, re_path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_form, name="create"),
    path("channels/", views.channel_list, name="channels"),
    path("channels/<slug:code>/", views.channel_update, name="channel_update"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_form, name="edit"),
    path("<int:pk>/check/", views.check_panel, name="check_panel"),
    re_path(
        r"^(?P<pk>[0-9]+)/(?P<verb>schedule|pause|resume|end)/$",
        views.campaign_action,
        name="action",
    ),
]
