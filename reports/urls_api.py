from django.urls import path

from . import api

urlpatterns = [
    path("reports/points", api.PointsReportView.as_view(), name="api-report-points"),
    path(
        "reports/reconciliation",
        api.ReconciliationView.as_view(),
        name="api-report-reconciliation",
    ),
    path(
        "reports/campaign-effect",
        api.CampaignEffectView.as_view(),
        name="api-report-campaign-effect",
    ),
    path("reports/budget-vs-actual", api.BudgetVsActualView.as_view(), name="api-budget-vs-actual"),
    path("settlements", api.SettlementListView.as_view(), name="api-settlement-list"),
    path("settlements/<int:id>", api.SettlementDetailView.as_view(), name="api-settlement-detail"),
    path(
        "settlements/<int:id>/close", api.SettlementCloseView.as_view(), name="api-settlement-close"
    ),
    path(
        "settlements/<int:id>/discard",
        api.SettlementDiscardView.as_view(),
        name="api-settlement-discard",
    ),
]
