from django.urls import path

from . import views
from .main import api

urlpatterns = [
    path("api/", api.urls),
    path("accounts/tokens/", views.token_list, name="api_tokens"),
    path("accounts/tokens/<int:pk>/revoke/", views.token_revoke, name="api_token_revoke"),
]
