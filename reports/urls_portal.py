from django.urls import path

from . import portal_views

# Mounted in the portal namespace by web/urls_portal.py.
urlpatterns = [
    path("staff/", portal_views.staff_list, name="staff_list"),
    path("staff/export.<str:fmt>", portal_views.staff_export, name="staff_export"),
    path("staff/<str:code>/", portal_views.staff_detail, name="staff_detail"),
]
