from django.urls import path

from . import api

urlpatterns = [
    path("auth/token", api.TokenView.as_view(), name="auth-token"),
    path("auth/tokens", api.TokenListView.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:id>", api.TokenDetailView.as_view(), name="auth-token-detail"),
    path("me", api.MeView.as_view(), name="me"),
    path("users", api.UserListView.as_view(), name="users"),
    path("users/<int:id>", api.UserDetailView.as_view(), name="user-detail"),
    path("users/<int:id>/tokens", api.UserTokenListView.as_view(), name="user-tokens"),
    path("business-units", api.BusinessUnitListView.as_view(), name="business-units"),
    path("regions", api.RegionListView.as_view(), name="regions"),
    path("regions/<str:code>", api.RegionDetailView.as_view(), name="region-detail"),
    path("merchants", api.MerchantListView.as_view(), name="merchants"),
    path("merchants/<str:code>", api.MerchantDetailView.as_view(), name="merchant-detail"),
    path("staff", api.StaffListView.as_view(), name="staff"),
    path("staff/<str:code>", api.StaffDetailView.as_view(), name="staff-detail"),
    path("customers", api.CustomerListView.as_view(), name="customers"),
    path("customers/<str:code>", api.CustomerDetailView.as_view(), name="customer-detail"),
    path("api-keys", api.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/<int:id>/revoke", api.ApiKeyRevokeView.as_view(), name="api-key-revoke"),
    path("audit-log", api.AuditLogView.as_view(), name="audit-log"),
]
