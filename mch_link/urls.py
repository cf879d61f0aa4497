from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import ops, security, views, views_audit, views_contracts, views_import

app_patterns = [
    path("", views.home, name="home"),
    path("centres/", views.centre_list, name="centre_list"),
    path("centres/<str:code>/", views.centre_detail, name="centre_detail"),
    path("providers/", views.provider_list, name="provider_list"),
    path("providers/<str:code>/", views.provider_detail, name="provider_detail"),
    path("coverage/", views_contracts.coverage, name="coverage"),
    path("contracts/", views_contracts.contract_list, name="contract_list"),
    path("contracts/draft-missing/", views_contracts.contract_draft_missing_view, name="contract_draft_missing"),
    path("contracts/renew/", views_contracts.contract_renew_view, name="contract_renew"),
    path("contracts/<int:pk>/", views_contracts.contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/sign/", views_contracts.contract_sign_view, name="contract_sign"),
    path("contracts/<int:pk>/terminate/", views_contracts.contract_terminate_view, name="contract_terminate"),
    path("contracts/<int:pk>/scan/", views_contracts.contract_scan, name="contract_scan"),
    path("import/", views_import.import_registry, name="import_registry"),
    path("import/jobs/<int:pk>/", views_import.import_job, name="import_job"),
    path("import/template.xlsx", views_import.import_template, name="import_template"),
    path("audit/", views_audit.audit_list, name="audit_list"),
]

urlpatterns = [
    path("", include((app_patterns, "mch_link"))),
    path("accounts/login/", security.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", security.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", security.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("schedule/", include("scheduling.urls")),
    path("calendar/", include("scheduling.urls_calendar")),
    path("reports/", include("reports.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", ops.healthz, name="healthz"),
    path("favicon.ico", ops.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("", include("api.urls")),  # the JSON API (/api/) and the user's token page
]

handler400 = "mch_link.params.bad_request"
