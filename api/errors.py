"""Every refusal of the API as JSON with a Chinese `detail`: 401 without credentials, 404
outside the caller's scope (as on the pages), 422 for a request the schema refuses (field by
field), 400/409/423 for a write the services refuse (mch_link.errors.status_of), 429 past
the rate limit. Registered on the API by `install(api)`."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, RawPostDataException
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as SchemaError

from mch_link.errors import status_of

from .auth import RateLimited

NOT_FOUND = "未找到，或您无权查看"
UNAUTHENTICATED = "请提供有效的访问令牌（Authorization: Bearer …），或先登录"

# pydantic's error types in Chinese; `{x}` takes the error's ctx.
SCHEMA_MESSAGES = {
    "missing": "必填",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "date_parsing": "应为 YYYY-MM-DD 格式的日期",
    "date_from_datetime_parsing": "应为 YYYY-MM-DD 格式的日期",
    "date_type": "应为 YYYY-MM-DD 格式的日期",
    "datetime_parsing": "应为 ISO 8601 格式的时间（如 2027-01-05T08:00:00+08:00）",
    "datetime_from_date_parsing": "应为 ISO 8601 格式的时间（如 2027-01-05T08:00:00+08:00）",
    "datetime_type": "应为 ISO 8601 格式的时间（如 2027-01-05T08:00:00+08:00）",
    "time_parsing": "应为 HH:MM 格式的时间",
    "time_type": "应为 HH:MM 格式的时间",
    "literal_error": "取值应为 {expected}",
    "string_too_long": "不能超过 {max_length} 个字符",
    "string_too_short": "不能少于 {min_length} 个字符",
    "too_long": "最多 {max_length} 项",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "应大于 {gt}",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_attributes_type": "应为 JSON 对象",
    "json_invalid": "JSON 格式有误",
    "value_error": "{error}",
}


def problem(api, request, status, detail, *, code="", errors=None, **extra):
    body = {"detail": detail, "code": code, "errors": errors or {}, **extra}
    return api.create_response(request, body, status=status)


def schema_errors(exc):
    """{field path: [Chinese messages]} of a schema refusal ("body.held_on", "query.limit")."""
    errors = {}
    for e in exc.errors:
        loc = ".".join(str(part) for part in e.get("loc", ()) if part not in ("payload",))
        template = SCHEMA_MESSAGES.get(e.get("type"), "格式有误")
        try:
            message = template.format(**(e.get("ctx") or {}))
        except (KeyError, IndexError):
            message = template
        errors.setdefault(loc or "request", []).append(message)
    return errors


def refusal_errors(exc):
    """{field: [messages]} of a service's ValidationError ("__all__" for the whole request)."""
    if hasattr(exc, "error_dict"):
        return {field: [m for e in errs for m in e.messages] for field, errs in exc.error_dict.items()}
    return {"__all__": list(exc.messages)}


def install(api):
    @api.exception_handler(Http404)
    def not_found(request, exc):
        return problem(api, request, 404, NOT_FOUND, code="not_found")

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        response = problem(api, request, 401, UNAUTHENTICATED, code="unauthenticated")
        response["WWW-Authenticate"] = 'Bearer realm="mch-link"'
        return response

    @api.exception_handler(RateLimited)
    def rate_limited(request, exc):
        limit = settings.API_RATE_LIMIT_PER_MINUTE
        detail = f"请求过于频繁：每个令牌每分钟最多 {limit} 次，请 {exc.retry_after} 秒后再试"
        response = problem(api, request, 429, detail, code="rate_limited")
        response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(RawPostDataException)
    def not_json(request, exc):
        # A form body, already read as a form before any view (mch_link.params.RefuseNulMiddleware):
        # the API speaks JSON only.
        return problem(api, request, 415, "接口只接受 JSON 请求体（Content-Type: application/json）",
                       code="unsupported_media_type")

    @api.exception_handler(SchemaError)
    def invalid(request, exc):
        return problem(api, request, 422, "请求内容有误，请按 errors 修改后重试", code="invalid",
                       errors=schema_errors(exc))

    @api.exception_handler(DjangoValidationError)
    def refused(request, exc):
        status = status_of(exc)
        errors = refusal_errors(exc)
        detail = "；".join(m for msgs in errors.values() for m in msgs)
        extra = {"current": exc.current} if getattr(exc, "current", None) is not None else {}
        return problem(api, request, status, detail, code=getattr(exc, "code", None) or "invalid",
                       errors=errors, **extra)

