"""Hostile input on every URL: no request may answer 5xx.

Everything is generated, nothing hand-picked:
- the URLs are every pattern of the URL conf (django.urls.get_resolver()), the admin's too;
- path parameters are filled with real keys, codes and tokens of the test world, then with
  hostile values;
- the query and form parameters of a view are the fields of the forms its module uses (or its
  class's form_class) and every name its module reads as request.GET/POST.get("…") or
  `"…" in request.POST`;
- every role of the `world` fixture, a superuser and an anonymous visitor first send the real
  values, by GET (query string) and POST (form body); those whose request reaches the view
  (not a redirect, 403, 404 or 405) then take turns sending each parameter alone with every
  hostile value (the others keep their real values, so the request gets past the scoping to
  the parsing; file fields get every file content). A view nobody reaches gets two values per
  parameter, an admin view (Django's own code) one GET with a value in each, chosen deterministically from the URL name:
  the app's walk is about 5,500 requests.
Run it on PostgreSQL too (DATABASE_URL): a NUL only breaks PostgreSQL.
"""

import datetime
import inspect
import os
import re
import sys
import time
import zlib

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from mch_link.models import Contract
from scheduling.models import Attachment, CalendarFeed, Notification, QuarterApproval, Record, RecordCentre, Session
from scheduling.services import schedule_generate
from tests import factories as f

pytestmark = pytest.mark.django_db

LONG = "长" * 300 + "x" * 5000
HOSTILE = ["", "abc", "0", "-1", "99999999999999999999", "9999-12", "0001-01", "0001-W01", "2026-W99",
           "2026Q9", "%00", "\x00", "a\x00b", "<script>alert(1)</script>", "' OR 1=1 --", LONG,
           "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 托育 ‮", "1000", "9999", "0001-01-01", "9999-12-31", "2026-02-30"]
# Values in a URL path: "" cannot fill a segment, and "/" would change the route.
PATH_HOSTILE = [v for v in HOSTILE if v and "/" not in v]
# Contents of an uploaded file: holiday-cn JSON of every wrong shape, and junk.
FILES = [b"", b"\x00\x01\x02", b"{not json", b"[]", b"null", b"123", b'"text"', b"\xff\xfe\x00",
         b'{"year": "abc", "days": []}', b'{"year": 1000, "days": []}', b'{"year": 9999, "days": [1, "x", null]}',
         b'{"year": 2027, "days": "x"}', b'{"year": 2027, "papers": 5, "days": [{"date": "0001-01-01"}]}',
         b'{"year": 2027, "days": [{"name": null, "date": 7, "isOffDay": "yes"}]}',
         b'{"year": 99999999999999999999, "days": [{"name": "\\u0000", "date": "2027-13-01", "isOffDay": true}]}',
         b"%PDF-1.4\n%%EOF\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64]
PROGRESS = os.environ.get("FUZZ_PROGRESS")  # print a line every 200 requests
ADMIN_SAMPLE = 1  # hostile path values per admin view (Django's own code), seeded by the URL name
ADMIN_PARAMS = ("q", "o", "p", "e", "_changelist_filters", "language", "next")

_READ_RE = re.compile(r"""request\.(?:GET|POST|FILES)\.get(?:list)?\(\s*["'](\w+)["']""")
_IN_RE = re.compile(r"""["'](\w+)["']\s+(?:not\s+)?in\s+request\.(?:GET|POST)""")


# --------------------------------------------------------------------------- the URL conf


def _patterns(resolver=None, prefix="", namespace=""):
    """(route, name, callback) of every URL pattern, includes flattened."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _patterns(p, route, ns)
        elif isinstance(p, URLPattern):
            yield route, namespace + (p.name or ""), p.callback


_PARAM_RE = re.compile(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def _fill(route, values):
    """The path of `route` with each parameter replaced by values[name] (quoted)."""
    from urllib.parse import quote

    def sub(m):
        name = m.group(2) or m.group(3)
        return quote(str(values[name]), safe="")

    path = _PARAM_RE.sub(sub, route)
    path = path.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")
    return "/" + path


def _path_names(route):
    return [m.group(2) or m.group(3) for m in _PARAM_RE.finditer(route)]


# --------------------------------------------------------------------------- parameters of a view


def _view_target(callback):
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return view_class, inspect.getmodule(view_class)
    inner = inspect.unwrap(callback)
    return inner, inspect.getmodule(inner)


_IDENT_RE = re.compile(r"\b[A-Za-z_]\w*\b")
APP_MODULES = ("mch_link", "scheduling", "reports")


def _reads(obj, module, seen, params):
    """Add to `params` what `obj` reads, following the module's own functions and forms it names."""
    if obj in seen:
        return
    seen.add(obj)
    if inspect.isclass(obj) and issubclass(obj, forms.BaseForm):
        params.update({name: field for name, field in obj.base_fields.items()})
        return
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return
    for name in _READ_RE.findall(source) + _IN_RE.findall(source):
        params.setdefault(name, None)
    for ident in set(_IDENT_RE.findall(source)):
        value = getattr(module, ident, None)
        if value is None or value is obj:
            continue
        if inspect.isclass(value) and issubclass(value, forms.BaseForm) and hasattr(value, "base_fields"):
            _reads(value, module, seen, params)
        elif inspect.isfunction(value) and value.__module__.split(".")[0] in APP_MODULES:
            _reads(value, inspect.getmodule(value), seen, params)


def view_parameters(callback):
    """{name: form field or None} of what a view reads: its forms' fields and the names it (and
    the functions of this app it calls, transitively) reads from request.GET / request.POST."""
    target, module = _view_target(callback)
    params = {}
    form_class = getattr(target, "form_class", None)
    if form_class is not None:
        params.update({name: field for name, field in form_class.base_fields.items()})
    if module is not None and module.__name__.split(".")[0] in APP_MODULES:
        _reads(target, module, set(), params)
    else:  # Django's own views (the admin's lists, i18n): their usual parameters
        for name in ADMIN_PARAMS:
            params.setdefault(name, None)
    return params


def test_the_parameter_scan_finds_what_the_views_read():
    """The generator itself: names read in the calendar views, fields of the report form."""
    by_name = {name: cb for _r, name, cb in _patterns()}
    assert {"month", "kind", "centre", "q"} <= set(view_parameters(by_name["calendar:centre_month"]))
    assert {"week", "doctor"} <= set(view_parameters(by_name["calendar:doctor_week"]))
    assert {"period", "county", "reopen"} <= set(view_parameters(by_name["scheduling:quarter_action"]))
    assert {"period", "as_of", "region", "format"} <= set(view_parameters(by_name["reports:dashboard"]))
    assert isinstance(view_parameters(by_name["scheduling:workdays"])["file"], forms.FileField)
    assert len(by_name) > 60  # the admin's patterns are walked too


# --------------------------------------------------------------------------- the world


@pytest.fixture
def hostile_world(world, tmp_path):
    w = world
    contract = Contract.objects.create(
        provider=w.tashan_chc, centre=w.sunny, status="signed", signed_on=datetime.date(2026, 1, 1),
        valid_from=datetime.date(2026, 1, 1), valid_to=datetime.date(2026, 12, 31), scan="contracts/gone.pdf")
    Contract.objects.create(provider=w.keqiao_chc, centre=w.bamboo, status="draft",
                            valid_from=datetime.date(2026, 1, 1), valid_to=datetime.date(2026, 12, 31))
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    session = Session.objects.filter(kind="guidance").order_by("date").first()
    record = Record.objects.create(session=session, doctor=w.dan, status=Record.Status.SUBMITTED,
                                   held_on=session.date, start=datetime.time(9), end=datetime.time(11))
    part = RecordCentre.objects.create(record=record, centre=w.sunny)
    # An attachment whose file is missing on disk (deleted, or a restore without media).
    attachment = Attachment.objects.create(record=record, file="records/gone.png", original_name="照片.png",
                                           size=10, uploaded_by=w.dan)
    QuarterApproval.objects.create(county=w.yc, period="2026Q1", status=QuarterApproval.Status.APPROVED,
                                   approved_by=w.bob)
    Notification.objects.create(user=w.carol, key="fuzz", title="<b>通知</b>", body="<script>", url="/x")
    feed = CalendarFeed.objects.create(owner_type="centre", centre=w.sunny)
    root = f.user("root-fuzz", is_staff=True, is_superuser=True)
    obligation = session.obligations.first()
    w.ids = sorted({session.pk, record.pk, part.pk, attachment.pk, contract.pk, obligation.pk})
    w.real = {
        "pk": w.ids[0], "object_id": str(contract.pk), "content_type_id": 1, "code": w.sunny.code,
        "token": feed.token, "app_label": "mch_link", "centre": w.sunny.code, "provider": w.tashan_chc.code,
        "region": w.yc.code, "county": w.yc.code, "doctor": w.dan.username, "period": "2026Q1",
        "quarter": "2026Q3", "month": "2026-11", "week": "2026-W48", "year": "2026", "date": "2026-12-01",
        "as_of": "2026-11-01", "owner_type": "centre", "owner": w.sunny.code, "session": str(session.pk),
        "kind": "guidance", "status": "signed", "format": "csv", "contracts": str(contract.pk),
        "resolution": "done", "reason": "原因",
    }
    w.path_values = {
        "pk": w.ids, "object_id": [str(i) for i in w.ids], "content_type_id": [1],
        "code": [w.sunny.code, w.tashan_chc.code, w.yc.code], "token": [feed.token],
        "app_label": ["mch_link", "scheduling"],
    }
    w.roles = [("anonymous", None), ("root", root)] + [
        (u.username, u) for u in (w.alice, w.bob, w.carol, w.dan, w.erin, w.fay, w.gus)]
    return w


# --------------------------------------------------------------------------- the walk


def _pick(values, count, seed):
    """A deterministic sample of `count` values: a spread starting where the seed says."""
    if len(values) <= count:
        return list(values)
    start = seed % len(values)
    return [values[(start + i * 7) % len(values)] for i in range(count)]


def _as_post(name, field, value, index):
    """A form body value: a file for a file field, else the text."""
    if isinstance(field, forms.FileField):
        content = FILES[index % len(FILES)]
        return SimpleUploadedFile(f"fuzz{index}.json", content, content_type="application/json")
    return value


def _send(client, method, path, data, failures, who):
    try:
        if method == "GET":
            response = client.get(path, data)
        else:
            response = client.post(path, data)
    except Exception as exc:  # the test client re-raises what would be a 500
        failures.append(f"{who} {method} {path} {_short(data)}: {type(exc).__name__}: {str(exc)[:200]}")
        return None
    if response.status_code >= 500:
        failures.append(f"{who} {method} {path} {_short(data)}: HTTP {response.status_code}")
    return response


def _short(data):
    return {k: (v[:40] + "…" if isinstance(v, str) and len(v) > 40 else v) for k, v in data.items()}


def _reaches(response):
    return response is not None and response.status_code not in (301, 302, 403, 404, 405)


def _requests(w, admin):
    """(who, user, method, path, data) of the walk of the app's patterns (or the admin's),
    generated from the URL conf."""
    for route, name, callback in _patterns():
        if name.startswith("admin:") != admin:
            continue
        names = _path_names(route)
        params = view_parameters(callback)
        seed = zlib.crc32(name.encode())
        is_admin = name.startswith("admin:")
        # The admin answers every role but a superuser with its login page.
        roles = [r for r in w.roles if r[0] in ("root", "anonymous")] if is_admin else w.roles
        counts = [1 if is_admin else len(w.path_values.get(n, ["x"])) for n in names]
        real_paths = [_fill(route, {n: w.path_values.get(n, ["x"])[i % c] for n, c in zip(names, counts, strict=True)})
                      for i in range(max(counts or [1]))]
        for method in ("GET", "POST"):
            base = {k: w.real[k] for k in params if k in w.real}
            # 1. real requests; those that reach the view (not a redirect, 403 or 404) are used below
            reached = []
            for who, user in roles:
                for path in real_paths:
                    reached.append((yield who, user, method, path, dict(base)))
            reached = [r for r in reached if r is not None]
            pool = reached or [(who, user, real_paths[0]) for who, user in roles]
            # 2. hostile path parameters: every value anonymously and as a rotating reaching role
            for j, value in enumerate((_pick(PATH_HOSTILE, ADMIN_SAMPLE, seed) if is_admin else PATH_HOSTILE)
                                      if names else []):
                path = _fill(route, {n: value for n in names})
                yield "anonymous", None, method, path, dict(base)
                who, user, _p = pool[(seed + j) % len(pool)]
                yield who, user, method, path, dict(base)
            # 3. each parameter alone with every hostile value, the roles taking turns
            if is_admin:  # Django's own code: one GET with a seeded hostile value in every parameter
                if method == "GET":
                    who, user, path = pool[seed % len(pool)]
                    yield who, user, method, path, {p: _pick(HOSTILE, 1, seed + i)[0] for i, p in enumerate(params)}
                continue
            for index, (param, field) in enumerate(sorted(params.items())):
                values = HOSTILE if reached else _pick(HOSTILE, 2, seed + index)
                contents = (FILES if method == "POST" and isinstance(field, forms.FileField) and reached
                            else values)
                for j, value in enumerate(contents):
                    who, user, path = pool[(seed + index + j) % len(pool)]
                    data = dict(base)
                    data[param] = _as_post(param, field, value, j) if method == "POST" else value
                    yield who, user, method, path, data


def test_no_hostile_request_answers_5xx(hostile_world):
    assert _walk(hostile_world, admin=False) > 2000


def test_the_admin_answers_no_5xx_either(hostile_world):
    assert _walk(hostile_world, admin=True) > 500


def _walk(hostile_world, admin):
    """Send the walk; fail listing every request that answered 5xx. Returns how many were sent."""
    clients = {}
    for who, user in hostile_world.roles:
        clients[who] = Client()
        if user is not None:
            clients[who].force_login(user)
    failures, sent = [], 0
    began = time.monotonic()
    walk = _requests(hostile_world, admin)
    answer = None
    while True:
        try:
            who, user, method, path, data = walk.send(answer)
        except StopIteration:
            break
        client = clients[who]
        response = _send(client, method, path, data, failures, who)
        sent += 1
        if user is not None and "_auth_user_id" not in client.session:  # logged out by /accounts/logout/
            client.force_login(user)
        answer = (who, user, path) if _reaches(response) else None
        if PROGRESS and sent % 200 == 0:
            print(sent, round(time.monotonic() - began), path, file=sys.stderr, flush=True)
    assert not failures, f"{len(failures)} of {sent} requests answered 5xx:\n" + "\n".join(failures[:40])
    return sent


# --------------------------------------------------------------------------- what a user sees


@pytest.mark.parametrize("url_name, who, query", [
    ("calendar:centre_month", "fay", {"month": "9999-12"}),
    ("calendar:provider_month", "carol", {"month": "0001-01"}),
    ("calendar:doctor_week", "dan", {"week": "0001-W01"}),
    ("mch_link:centre_list", "alice", {"q": "a\x00b"}),
])
def test_a_bad_parameter_gets_a_chinese_400_page(hostile_world, client, url_name, who, query):
    from django.urls import reverse

    client.force_login(getattr(hostile_world, who))
    response = client.get(reverse(url_name), query)
    assert response.status_code == 400
    html = response.content.decode()
    assert "请求有误" in html
    assert re.search(r"年份 \d+ 超出允许范围|含有不允许的控制字符", html)


def test_the_quarter_approval_refuses_a_bad_period(hostile_world, client):
    from django.urls import reverse

    client.force_login(hostile_world.bob)
    response = client.post(reverse("scheduling:quarter_action"), {"county": hostile_world.yc.code, "period": "abc"})
    assert response.status_code == 400
    assert "季度应为 2027Q1 这样的代码" in response.content.decode()
    assert not QuarterApproval.objects.filter(period="abc").exists()


def test_a_feed_token_with_a_nul_is_a_404(hostile_world, client):
    assert client.get("/calendar/feed/%00.ics").status_code == 404


def test_an_attachment_missing_on_disk_is_a_404_with_a_message(hostile_world, client):
    from django.urls import reverse

    client.force_login(hostile_world.dan)
    attachment = Attachment.objects.get()
    response = client.get(reverse("scheduling:attachment", args=[attachment.pk]))
    assert response.status_code == 404
    assert "附件文件已不存在" in response.content.decode()


def test_a_holiday_file_of_the_wrong_shape_is_a_form_error(hostile_world, client):
    from django.urls import reverse

    client.force_login(hostile_world.alice)
    for content in (b"[]", b'{"year": "abc", "days": {}}', b'{"year": 9999, "days": []}'):
        upload = SimpleUploadedFile("h.json", content, content_type="application/json")
        response = client.post(reverse("scheduling:workdays"), {"file": upload})
        assert response.status_code == 200, content
        assert "文件有误，未写入任何数据。" in response.content.decode()


def test_a_plan_for_year_1000_or_9999_is_refused(hostile_world, client):
    from django.urls import reverse

    client.force_login(hostile_world.carol)
    before = Session.objects.count()
    for quarter in ("1000Q1", "9999Q4"):
        response = client.post(reverse("scheduling:provider_regenerate"), {"quarter": quarter})
        assert response.status_code == 400
        assert "超出允许范围" in response.content.decode()
    assert Session.objects.count() == before


def test_the_500_page_renders_without_a_request_context():
    from django.template.loader import render_to_string

    assert "服务器错误" in render_to_string("500.html")


def test_a_form_posted_without_its_csrf_token_gets_the_chinese_page(hostile_world):
    from django.urls import reverse

    client = Client(enforce_csrf_checks=True)
    client.force_login(hostile_world.bob)
    response = client.post(reverse("scheduling:quarter_action"), {"county": hostile_world.yc.code, "period": "2026Q1"})
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


def test_a_nul_never_reaches_a_query_not_even_in_the_admin(hostile_world, client):
    """Django's admin looks a text primary key up as given, and searches with ?q= as given:
    PostgreSQL answered 500. The middleware refuses the NUL first."""
    client.force_login(hostile_world.roles[1][1])  # the superuser
    assert client.get("/admin/django_q/success/a%00b/delete/").status_code == 404
    response = client.get("/admin/mch_link/centre/", {"q": "a\x00b"})
    assert response.status_code == 400
    assert "含有不允许的控制字符" in response.content.decode()
    assert client.post("/admin/mch_link/centre/", {"q": "x", "action": "\x00"}).status_code == 400
