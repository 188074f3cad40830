from django.urls import path

from . import api

urlpatterns = [
    path("staff/<str:code>/points", api.StaffPointsView.as_view(), name="staff-points"),
    path(
        "staff/<str:code>/points/entries",
        api.StaffEntriesView.as_view(),
        name="staff-points-entries",
    ),
    path("points-programs", api.ProgramListView.as_view(), name="points-programs"),
    path("points-programs/<int:id>", api.ProgramDetailView.as_view(), name="points-program"),
    path(
        "points-programs/<int:id>/deactivate",
        api.ProgramDeactivateView.as_view(),
        name="points-program-deactivate",
    ),
    path(
        "points-programs/<int:id>/activate",
        api.ProgramActivateView.as_view(),
        name="points-program-activate",
    ),
    path("points-rules", api.RuleListView.as_view(), name="points-rules"),
    path("points-rules/<int:id>", api.RuleDetailView.as_view(), name="points-rule"),
    path(
        "points-rules/<int:id>/deactivate",
        api.RuleDeactivateView.as_view(),
        name="points-rule-deactivate",
    ),
    path(
        "points-rules/<int:id>/activate",
        api.RuleActivateView.as_view(),
        name="points-rule-activate",
    ),
    path("points-accounts", api.AccountListView.as_view(), name="points-accounts"),
    path("points-accounts/<int:id>", api.AccountDetailView.as_view(), name="points-account"),
    path(
        "points-accounts/<int:id>/entries",
        api.AccountEntriesView.as_view(),
        name="points-account-entries",
    ),
    path(
        "points-accounts/<int:id>/adjustments",
        api.AdjustmentView.as_view(),
        name="points-account-adjustments",
    ),
    path(
        "points-adjustment-requests",
        api.AdjustmentRequestListView.as_view(),
        name="points-adjustment-requests",
    ),
    path(
        "points-adjustment-requests/<int:id>",
        api.AdjustmentRequestDetailView.as_view(),
        name="points-adjustment-request",
    ),
    path(
        "points-adjustment-requests/<int:id>/approve",
        api.AdjustmentRequestApproveView.as_view(),
        name="points-adjustment-request-approve",
    ),
    path(
        "points-adjustment-requests/<int:id>/reject",
        api.AdjustmentRequestRejectView.as_view(),
        name="points-adjustment-request-reject",
    ),
    path("points-transfers", api.TransferView.as_view(), name="points-transfers"),
]
