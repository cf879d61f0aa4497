from django.urls import path

from . import views, views_work, views_workdays

app_name = "scheduling"

urlpatterns = [
    path("plan/", views.provider_plan, name="provider_plan"),
    path("plan/regenerate/", views.provider_regenerate, name="provider_regenerate"),
    path("notifications/", views.notifications, name="notifications"),
    path("workdays/", views_workdays.workdays_page, name="workdays"),
    path("agenda/", views_work.agenda, name="agenda"),
    path("sessions/<int:pk>/", views_work.session_detail, name="session_detail"),
    path("sessions/<int:pk>/record/", views_work.record_edit, name="record_edit"),
    path("sessions/<int:pk>/move/", views_work.session_move_view, name="session_move"),
    path("obligations/<int:pk>/resolve/", views_work.obligation_resolve_view, name="obligation_resolve"),
    path("records/", views_work.centre_records, name="centre_records"),
    path("parts/<int:pk>/confirm/", views_work.record_confirm_view, name="record_confirm"),
    path("attachments/<int:pk>/", views_work.attachment_download, name="attachment"),
    path("quarters/", views_work.quarters, name="quarters"),
    path("quarters/action/", views_work.quarter_action, name="quarter_action"),
    path("quarters/<str:county>/<str:period>/", views_work.quarter_review, name="quarter_review"),
    path("obligations/<int:pk>/", views_work.obligation_session, name="obligation_session"),
]
