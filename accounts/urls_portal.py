from django.urls import path

from . import views

# Mounted in the portal namespace by web/urls_portal.py.
urlpatterns = [
    path("profile/", views.portal_profile, name="profile"),
]
