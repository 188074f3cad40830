from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("tenant/", views.tenant_pick, name="tenant_pick"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.membership_edit, name="membership_edit"),
    path("business-units/", views.business_unit_list, name="business_unit_list"),
    path("regions/", views.region_list, name="region_list"),
    path("regions/new/", views.region_form, name="region_create"),
    path("regions/<str:code>/edit/", views.region_form, name="region_edit"),
    path("merchants/", views.merchant_list, name="merchant_list"),
    path("merchants/new/", views.merchant_form, name="merchant_create"),
    path("merchants/<str:code>/", views.merchant_detail, name="merchant_detail"),
    path("merchants/<str:code>/edit/", views.merchant_form, name="merchant_edit"),
    path("merchants/<str:merchant_code>/staff/new/", views.staff_form, name="staff_create"),
    path("staff/<str:code>/edit/", views.staff_form, name="staff_edit"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/<str:code>/edit/", views.customer_edit, name="customer_edit"),
    path("api-keys/", views.api_key_list, name="api_key_list"),
    path("api-keys/new/", views.api_key_create, name="api_key_create"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("audit/", views.audit_list, name="audit_list"),
]
