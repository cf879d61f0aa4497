from django.urls import path

from . import views, views_workdays

app_name = "scheduling"

urlpatterns = [
    path("plan/", views.provider_plan, name="provider_plan"),
    path("plan/regenerate/", views.provider_regenerate, name="provider_regenerate"),
    path("notifications/", views.notifications, name="notifications"),
    path("workdays/", views_workdays.workdays_page, name="workdays"),
]
