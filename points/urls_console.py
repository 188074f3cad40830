app_name = "points"
urlpatterns: list = []
