from django.urls import path

from . import api

urlpatterns = [
    path("reports/points", api.PointsReportView.as_view(), name="api-report-points"),
    path(
        "reports/reconciliation",
        api.ReconciliationView.as_view(),
        name="api-report-reconciliation",
    ),
]
