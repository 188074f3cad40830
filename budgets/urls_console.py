from django.urls import path, re_path

from . import views

app_name = "budgets"
urlpatterns = [
    path("", views.budget_list, name="list"),
    path("approvals/", views.approval_queue, name="queue"),
    path("new/", views.budget_form, name="create"),
    path("<int:pk>/", views.budget_detail, name="detail"),
    path("<int:pk>/edit/", views.budget_form, name="edit"),
    path("<int:pk>/adjustments/", views.adjustment_create, name="adjust"),
    re_path(
        r"^(?P<pk>[0-9]+)/(?P<verb>submit|approve|reject|reopen|close)/$",
        views.budget_action,
        name="action",
    ),
    re_path(
        r"^adjustments/(?P<pk>[0-9]+)/(?P<verb>approve|reject)/$",
        views.adjustment_action,
        name="adjustment_action",
    ),
]
