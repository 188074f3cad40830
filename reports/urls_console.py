from django.urls import path, re_path

from . import views

app_name = "reports"
urlpatterns = [
    path("points/", views.points_report, name="points"),
    path("points/export.<str:fmt>", views.points_export, name="points_export"),
    path("campaign-effect/", views.campaign_effect, name="campaign_effect"),
    path(
        "campaign-effect/export.<str:fmt>",
        views.campaign_effect_export,
        name="campaign_effect_export",
    ),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path(
        "reconciliation/export.<str:fmt>",
        views.reconciliation_export,
        name="reconciliation_export",
    ),
    path("exports/<int:pk>/", views.export_detail, name="export"),
    path("exports/<int:pk>/file", views.export_file, name="export_file"),
    path("settlements/", views.settlement_list, name="settlement_list"),
    path("settlements/<int:pk>/", views.settlement_detail, name="settlement_detail"),
    re_path(
        r"^settlements/(?P<pk>[0-9]+)/(?P<verb>close|discard)/$",
        views.settlement_action,
        name="settlement_action",
    ),
    path(
        "settlements/<int:pk>/statement.<str:fmt>",
        views.settlement_export,
        name="settlement_export",
    ),
]
