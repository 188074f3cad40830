from django.urls import path, re_path

from . import views

app_name = "points"
urlpatterns = [
    path("", views.program_list, name="program_list"),
    path("programs/new/", views.program_create, name="program_create"),
    path("programs/<int:pk>/", views.program_detail, name="program_detail"),
    path("programs/<int:pk>/edit/", views.program_edit, name="program_edit"),
    re_path(
        r"^programs/(?P<pk>[0-9]+)/(?P<verb>activate|deactivate)/$",
        views.program_action,
        name="program_action",
    ),
    path("programs/<int:pk>/rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    re_path(
        r"^rules/(?P<pk>[0-9]+)/(?P<verb>activate|deactivate)/$",
        views.rule_action,
        name="rule_action",
    ),
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("adjustments/", views.adjustment_requests, name="adjustment_requests"),
    re_path(
        r"^adjustments/(?P<pk>[0-9]+)/(?P<verb>approve|reject)/$",
        views.adjustment_request_action,
        name="adjustment_request_action",
    ),
]
