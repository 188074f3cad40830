from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("points/", views.points_report, name="points"),
    path("points/export.<str:fmt>", views.points_export, name="points_export"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path(
        "reconciliation/export.<str:fmt>",
        views.reconciliation_export,
        name="reconciliation_export",
    ),
]
