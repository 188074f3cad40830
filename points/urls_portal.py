from django.urls import path

from . import portal_views

# Mounted in the portal namespace by web/urls_portal.py.
urlpatterns = [
    path("", portal_views.portal_home, name="home"),
    path("earn/", portal_views.portal_earn, name="earn"),
    path("history/", portal_views.portal_history, name="history"),
]
