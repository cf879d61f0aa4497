from django.urls import path

from . import views_calendar

app_name = "calendar"

urlpatterns = [
    path("centre/", views_calendar.centre_month, name="centre_month"),
    path("centre/sessions/", views_calendar.centre_sessions, name="centre_sessions"),
    path("doctor/", views_calendar.doctor_week, name="doctor_week"),
    path("provider/", views_calendar.provider_month, name="provider_month"),
    path("feed/renew/", views_calendar.feed_renew, name="feed_renew"),
    path("feed/<str:token>.ics", views_calendar.feed, name="feed"),
]
