"""Who is asking: a personal access token (`Authorization: Bearer …`, rate limited per
token) or the app's own login session (CSRF checked on unsafe methods, as the pages are)."""

import time

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from .models import ApiToken, hash_token


class RateLimited(Exception):
    """A token made more requests this minute than API_RATE_LIMIT_PER_MINUTE."""

    def __init__(self, retry_after):
        super().__init__("rate limited")
        self.retry_after = retry_after


def count_request(token_id, now=None):
    """Count one request of the token in the current minute and mark it used. One UPDATE,
    which changes no row once the minute's limit is reached (then RateLimited, with the
    seconds to the next minute) or when the token was revoked meanwhile (then False)."""
    now = now if now is not None else time.time()
    minute, limit = int(now // 60), settings.API_RATE_LIMIT_PER_MINUTE
    counted = (
        ApiToken.objects.active().filter(pk=token_id)
        .exclude(window_minute=minute, window_count__gte=limit)
        .update(window_count=Case(When(window_minute=minute, then=F("window_count") + 1), default=Value(1)),
                window_minute=minute, last_used_at=timezone.now())
    )
    if counted:
        return True
    if ApiToken.objects.active().filter(pk=token_id).exists():
        raise RateLimited(retry_after=max(1, 60 - int(now % 60)))
    return False


class TokenAuth(HttpBearer):
    """A personal access token; its user is the one every scope and permission is asked for."""

    def authenticate(self, request, token):
        row = (ApiToken.objects.active().filter(key_hash=hash_token(token))
               .select_related("user__membership").first())
        if row is None or not row.user.is_active or not count_request(row.pk):
            return None
        request.user = request._cached_user = row.user  # the request log names the token's user
        request.api_token = row
        return row.user


class SessionAuth(APIKeyCookie):
    """The app's login session: what its own pages (and the docs' "Try it out") send. Unsafe
    methods need the CSRF token, as a form post does."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request, key):
        if not request.user.is_authenticated:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and check_csrf(request):
            raise HttpError(403, "CSRF 校验失败：请刷新页面后重试")
        return request.user
