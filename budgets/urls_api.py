from django.urls import path

from . import api

urlpatterns = [
    path("budgets", api.BudgetListView.as_view(), name="budgets"),
    path("budgets/<int:id>", api.BudgetDetailView.as_view(), name="budget-detail"),
    path("budgets/<int:id>/submit", api.BudgetSubmitView.as_view(), name="budget-submit"),
    path("budgets/<int:id>/approve", api.BudgetApproveView.as_view(), name="budget-approve"),
    path("budgets/<int:id>/reject", api.BudgetRejectView.as_view(), name="budget-reject"),
    path("budgets/<int:id>/reopen", api.BudgetReopenView.as_view(), name="budget-reopen"),
    path("budgets/<int:id>/close", api.BudgetCloseView.as_view(), name="budget-close"),
    path("budgets/<int:id>/entries", api.BudgetEntryListView.as_view(), name="budget-entries"),
    path(
        "budgets/<int:id>/adjustments",
        api.BudgetAdjustmentListView.as_view(),
        name="budget-adjustments",
    ),
    path("budget-adjustments", api.AdjustmentListView.as_view(), name="budget-adjustment-list"),
    path(
        "budget-adjustments/<int:id>/approve",
        api.AdjustmentApproveView.as_view(),
        name="budget-adjustment-approve",
    ),
    path(
        "budget-adjustments/<int:id>/reject",
        api.AdjustmentRejectView.as_view(),
        name="budget-adjustment-reject",
    ),
]
