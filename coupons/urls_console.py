from django.urls import path

from . import views

app_name = "coupons"
urlpatterns = [
    path("", views.batch_list, name="list"),
    path("new/", views.batch_form, name="create"),
    path("preview/", views.batch_preview, name="preview"),
    path("<int:pk>/", views.batch_detail, name="detail"),
    path("<int:pk>/<str:verb>/", views.batch_action, name="action"),
    path("<int:pk>/issue/<str:mode>/", views.batch_issue, name="issue"),
    path("segments/", views.segment_list, name="segments"),
    path("segments/preview/", views.segment_preview, name="segment_preview"),
    path("lookup/", views.coupon_lookup, name="lookup"),
    path("coupon/<int:pk>/", views.coupon_detail, name="coupon"),
    path("redemptions/", views.redemption_list, name="redemptions"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/<int:pk>/<str:verb>/", views.rule_action, name="rule_action"),
    path("blocklist/", views.blocklist, name="blocklist"),
    path("blocklist/limits/", views.fraud_settings, name="fraud_settings"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job_progress"),
]
