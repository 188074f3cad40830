from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

# Each app keeps its own routes; this file only mounts them.
api_v1 = [
    path("", include("accounts.urls_api")),
    path("", include("budgets.urls_api")),
    path("", include("campaigns.urls_api")),
    path("", include("orders.urls_api")),
    path("", include("coupons.urls_api")),
    path("", include("points.urls_api")),
    path("", include("redemption.urls_api")),
    path("", include("reports.urls_api")),
]
console = [
    path("", include("accounts.urls_console")),
    path("budgets/", include("budgets.urls_console")),
    path("campaigns/", include("campaigns.urls_console")),
    path("coupons/", include("coupons.urls_console")),
    path("points/", include("points.urls_console")),
    path("prizes/", include("redemption.urls_console")),
    path("reports/", include("reports.urls_console")),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/console/", permanent=False)),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("console/", include(console)),
    path("portal/", include("web.urls_portal")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
