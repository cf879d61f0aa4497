"""The JSON API: /api/v1/…, its OpenAPI 3.1 document at /api/openapi.json and its docs at
/api/docs (Swagger UI from django-ninja's own static files: no CDN, no inline script, so the
site's Content-Security-Policy holds and the page works offline).

Every GET answer carries an ETag (a hash of its body) and answers 304 to a matching
If-None-Match; answers are per caller (Vary: Authorization, Cookie) and private."""

from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers, set_response_etag
from ninja import NinjaAPI

from . import errors
from .auth import SessionAuth, TokenAuth


class Api(NinjaAPI):
    def create_response(self, request, data, *, status=None, temporal_response=None):
        response = super().create_response(request, data, status=status, temporal_response=temporal_response)
        patch_vary_headers(response, ("Authorization", "Cookie"))
        if getattr(request, "idempotent_replay", False):
            response["Idempotent-Replayed"] = "true"
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            patch_cache_control(response, private=True, no_cache=True)
            set_response_etag(response)
            return get_conditional_response(request, etag=response["ETag"], response=response)
        return response


api = Api(
    title="mch-link API",
    version="1",
    description=(
        "医育结合签约服务系统的数据接口。认证：个人访问令牌（在“访问令牌”页面创建，"
        "请求头 `Authorization: Bearer <令牌>`），或本系统的登录会话（写操作需 CSRF 令牌）。"
        "列表按 id 稳定排序，游标分页（`next_cursor`）；GET 响应带 ETag。"
        "写操作可带 `Idempotency-Key` 请求头，安全重试。详见 docs/api.md。"
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
)
errors.install(api)


def _routers():
    from .routers import figures, registry, work, writes

    api.add_router("/v1/", registry.router)
    api.add_router("/v1/", work.router)
    api.add_router("/v1/", figures.router)
    api.add_router("/v1/", writes.router)


_routers()
