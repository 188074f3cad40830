"""The portal (/portal/): one namespace, `portal:`, whose pages live in the apps they read.

Each app lists its portal routes in `<app>/urls_portal.py`; the staff member's points in
points, prizes and lotteries in redemption, the merchant admin's view of their staff in reports.
"""

from accounts import urls_portal as accounts_pages
from points import urls_portal as points_pages
from redemption import urls_portal as redemption_pages
from reports import urls_portal as reports_pages

app_name = "portal"
urlpatterns = [
    *points_pages.urlpatterns,
    *accounts_pages.urlpatterns,
    *redemption_pages.urlpatterns,
    *reports_pages.urlpatterns,
]
