"""Edge parsers: the one place where text from a URL, a query string or a form becomes a
period, a month, a week, a day, a year, a code, an id or a token.

Each parser takes the raw text (None or "" = absent) and returns the typed value, the
caller's `default` when absent, or raises `BadParam`: a django.core.exceptions.BadRequest,
which Django answers with the Chinese 400 page (`bad_request` below, wired as handler400)
showing the message. Years are kept within settings.PARAM_YEARS (the plan's span plus a
margin), so no later date arithmetic can overflow and no junk year reaches the database.
Text parameters refuse control characters (NUL breaks PostgreSQL) and overlong values.

Forms use `check_date` / `check_year` in their clean methods to show the same rule as a form
error instead.
"""

import datetime
import json
import re

from django.conf import settings
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import render

from scheduling import periods

CODE_MAX_LENGTH = 64
TEXT_MAX_LENGTH = 200
ID_MAX = 2**31 - 1  # PostgreSQL integer; a bigint key never gets near it in this app

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")
_WEEK_RE = re.compile(r"([0-9]{4})-W([0-9]{2})")
_YEAR_RE = re.compile(r"[0-9]{4}")
_ID_RE = re.compile(r"[0-9]{1,10}")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BadParam(BadRequest):
    """A parameter that cannot be read: its Chinese message is shown on the 400 page."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def year_span():
    """(first, last) year any parameter may name: settings.PARAM_YEARS."""
    first, last = settings.PARAM_YEARS
    return int(first), int(last)


def _raw(value):
    return "" if value is None else str(value).strip()


def _year_ok(year):
    first, last = year_span()
    return first <= year <= last


def _year_message(year):
    first, last = year_span()
    return f"年份 {year} 超出允许范围（{first}–{last} 年）"


def check_year(year):
    """ValidationError (for a form) unless `year` is within the span."""
    if not _year_ok(year):
        raise ValidationError(_year_message(year), code="year_range")
    return year


def check_date(day):
    """ValidationError (for a form) unless `day` (a date or None) is within the span."""
    if day is not None:
        check_year(day.year)
    return day


def year(value, default=None, label="年份"):
    """'2027' -> 2027."""
    raw = _raw(value)
    if not raw:
        return default
    if not _YEAR_RE.fullmatch(raw):
        raise BadParam(f"{label}应为四位数字，如 2027")
    number = int(raw)
    if not _year_ok(number):
        raise BadParam(_year_message(number))
    return number


def month(value, default=None):
    """'2027-03' -> date(2027, 3, 1)."""
    raw = _raw(value)
    if not raw:
        return default
    match = _MONTH_RE.fullmatch(raw)
    if not match or not 1 <= int(match[2]) <= 12:
        raise BadParam("月份应为 2027-03 这样的格式")
    number = int(match[1])
    if not _year_ok(number):
        raise BadParam(_year_message(number))
    return datetime.date(number, int(match[2]), 1)


def iso_week(value, default=None):
    """'2027-W09' (ISO 8601 week) -> the Monday of that week."""
    raw = _raw(value)
    if not raw:
        return default
    match = _WEEK_RE.fullmatch(raw)
    if not match:
        raise BadParam("周应为 2027-W09 这样的格式（ISO 周）")
    number = int(match[1])
    if not _year_ok(number):
        raise BadParam(_year_message(number))
    try:
        return datetime.date.fromisocalendar(number, int(match[2]), 1)
    except ValueError:
        raise BadParam(f"{number} 年没有第 {int(match[2])} 周") from None


def date(value, default=None, label="日期"):
    """'2027-03-04' -> date(2027, 3, 4)."""
    raw = _raw(value)
    if not raw:
        return default
    try:
        day = datetime.date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise BadParam(f"{label}应为 2027-03-04 这样的格式")
    if not _year_ok(day.year):
        raise BadParam(_year_message(day.year))
    return day


def period(value, default=None, quarter=False, required=False):
    """A period code: '2027Q1' (a quarter) or, unless `quarter`, '2027' (a year)."""
    raw = _raw(value)
    if not raw and required:
        raise BadParam("请选择季度" if quarter else "请选择周期")
    if not raw:
        return default
    try:
        number, q = periods.parse_period(raw)
    except ValueError:
        q, number = None, None
    if number is None or (quarter and q is None):
        raise BadParam("季度应为 2027Q1 这样的代码" if quarter else "周期应为 2027Q1 或 2027 这样的代码")
    if not _year_ok(number):
        raise BadParam(_year_message(number))
    return raw


def text(value, default="", label="参数", max_length=TEXT_MAX_LENGTH):
    """Free text (a search term, a reason): stripped; no control characters, not too long."""
    raw = _raw(value)
    if not raw:
        return default
    if _CONTROL_RE.search(raw):
        raise BadParam(f"{label}含有不允许的控制字符")
    if len(raw) > max_length:
        raise BadParam(f"{label}过长（最多 {max_length} 个字符）")
    return raw


def code(value, default="", label="编码"):
    """A region, provider or centre code, or a user name: short text without control
    characters. Whether it exists (and is in scope) is the caller's 404."""
    return text(value, default, label=label, max_length=CODE_MAX_LENGTH)


def object_id(value, default=None, label="编号"):
    """A positive integer id that fits the database's integer."""
    raw = _raw(value)
    if not raw:
        return default
    if not _ID_RE.fullmatch(raw) or not 0 < int(raw) <= ID_MAX:
        raise BadParam(f"{label}应为正整数")
    return int(raw)


def token(value):
    """A feed token (URL-safe base64 text), or None when it cannot be one: the caller 404s."""
    raw = "" if value is None else str(value)
    return raw if _TOKEN_RE.fullmatch(raw) else None


def bad_request(request, exception, template_name="400.html"):
    """handler400: the Chinese 400 page, with the parameter's message when it is a BadParam;
    JSON (the API's shape: detail, code, errors) to a client that sent JSON or prefers it."""
    message = exception.message if isinstance(exception, BadParam) else ""
    if wants_json(request):
        return JsonResponse({"detail": message or "请求有误", "code": "bad_request", "errors": {}}, status=400,
                            json_dumps_params={"ensure_ascii": False})
    return render(request, template_name, {"message": message}, status=400)


def wants_json(request):
    """Content negotiation for an answer made before any view: JSON when the request's body
    is JSON or its Accept header prefers JSON to HTML (an API client); a page otherwise."""
    return request.content_type == "application/json" or \
        request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def not_found(request, message):
    """The Chinese 404 page with a message (a row whose file is gone, say)."""
    return render(request, "404.html", {"message": message}, status=404)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RefuseNulMiddleware:
    """A NUL in the path is a 404 (it names nothing), in a query value, a form value or any
    other body (raw or escaped, in whichever UTF the JSON parser would read it) a 400:
    PostgreSQL refuses NUL in any text it is given, so it must never
    reach a query, not even one made by the admin, the API or a third-party view that these
    parsers do not see. One rule for every path, by what the body is; the answer is a page or
    JSON by content negotiation (`bad_request`). A form body sent to the API is parsed here
    too; the API then refuses it as not JSON (api.errors)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            raise Http404
        if self.has_nul(request):
            raise BadParam("请求参数含有不允许的控制字符（NUL）")
        return self.get_response(request)

    @staticmethod
    def has_nul(request):
        values = [request.GET]
        if request.content_type in FORM_TYPES:  # a form's files may hold any byte
            if request.method == "POST":
                values.append(request.POST)
        elif request.method not in ("GET", "HEAD") and body_has_nul(request.body):
            return True
        return any("\x00" in key or "\x00" in value for query in values for key, items in query.lists()
                   for value in items)


def body_has_nul(body):
    """Whether a body that is not a form carries a NUL, raw or escaped (``\\u0000``), read as
    the API's JSON parser reads any such body whatever its declared type: json.loads finds
    UTF-8, -16 or -32 by itself (json.detect_encoding), so a body in UTF-16, where every
    other byte is zero, is decoded before it is looked at."""
    if not body:
        return False
    text = body.decode(json.detect_encoding(body), "replace")
    return "\x00" in text or "\\u0000" in text
