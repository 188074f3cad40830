from django.urls import path

from . import api

urlpatterns = [
    path("campaigns", api.CampaignListView.as_view(), name="campaigns"),
    path("campaigns/<int:id>", api.CampaignDetailView.as_view(), name="campaign-detail"),
    path("campaigns/<int:id>/check", api.CampaignCheckView.as_view(), name="campaign-check"),
    path(
        "campaigns/<int:id>/schedule", api.CampaignScheduleView.as_view(), name="campaign-schedule"
    ),
    path("campaigns/<int:id>/pause", api.CampaignPauseView.as_view(), name="campaign-pause"),
    path("campaigns/<int:id>/resume", api.CampaignResumeView.as_view(), name="campaign-resume"),
    path("campaigns/<int:id>/end", api.CampaignEndView.as_view(), name="campaign-end"),
    path("channels", api.ChannelListView.as_view(), name="channels"),
    path("channels/<str:code>", api.ChannelDetailView.as_view(), name="channel-detail"),
]
