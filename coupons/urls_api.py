from django.urls import path

from . import api

urlpatterns = [
    path("coupon-batches", api.BatchListView.as_view(), name="coupon-batches"),
    path("coupon-batches/<int:id>", api.BatchDetailView.as_view(), name="coupon-batch-detail"),
    path(
        "coupon-batches/<int:id>/activate",
        api.BatchActivateView.as_view(),
        name="coupon-batch-activate",
    ),
    path("coupon-batches/<int:id>/pause", api.BatchPauseView.as_view(), name="coupon-batch-pause"),
    path(
        "coupon-batches/<int:id>/resume", api.BatchResumeView.as_view(), name="coupon-batch-resume"
    ),
    path("coupon-batches/<int:id>/end", api.BatchEndView.as_view(), name="coupon-batch-end"),
    path("coupon-batches/<int:id>/claim", api.BatchClaimView.as_view(), name="coupon-batch-claim"),
    path("coupon-batches/<int:id>/issue", api.BatchIssueView.as_view(), name="coupon-batch-issue"),
    path(
        "coupon-batches/<int:id>/generate",
        api.BatchGenerateView.as_view(),
        name="coupon-batch-generate",
    ),
    path(
        "coupon-batches/<int:id>/codes.csv", api.BatchCodesView.as_view(), name="coupon-batch-codes"
    ),
    path("coupons/validate", api.CouponValidateView.as_view(), name="coupon-validate"),
    path("coupons/redeem", api.CouponRedeemView.as_view(), name="coupon-redeem"),
    path("coupons/<str:code>/rollback", api.CouponRollbackView.as_view(), name="coupon-rollback"),
    path(
        "customers/<str:code>/coupons", api.CustomerCouponsView.as_view(), name="customer-coupons"
    ),
    path("events", api.EventView.as_view(), name="events"),
    path("issuance-rules", api.IssuanceRuleListView.as_view(), name="issuance-rules"),
    path(
        "issuance-rules/<int:id>", api.IssuanceRuleDetailView.as_view(), name="issuance-rule-detail"
    ),
    path(
        "issuance-rules/<int:id>/activate",
        api.IssuanceRuleActivateView.as_view(),
        name="issuance-rule-activate",
    ),
    path(
        "issuance-rules/<int:id>/deactivate",
        api.IssuanceRuleDeactivateView.as_view(),
        name="issuance-rule-deactivate",
    ),
    path("blocked-customers", api.BlockedCustomerView.as_view(), name="blocked-customers"),
    path(
        "blocked-customers/<str:code>",
        api.BlockedCustomerDetailView.as_view(),
        name="blocked-customer-detail",
    ),
    path("fraud/settings", api.FraudSettingsView.as_view(), name="fraud-settings"),
    path("fraud/clusters", api.SuspiciousClustersView.as_view(), name="fraud-clusters"),
    path("issuance-jobs", api.JobListView.as_view(), name="issuance-jobs"),
    path("issuance-jobs/<int:id>", api.JobDetailView.as_view(), name="issuance-job-detail"),
    path(
        "issuance-jobs/<int:id>/errors.csv", api.JobErrorsView.as_view(), name="issuance-job-errors"
    ),
    path("segments", api.SegmentListView.as_view(), name="segments"),
    path("segments/<int:id>", api.SegmentDetailView.as_view(), name="segment-detail"),
    path("segments/<int:id>/preview", api.SegmentPreviewView.as_view(), name="segment-preview"),
]
