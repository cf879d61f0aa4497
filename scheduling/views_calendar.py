"""Calendar pages for every role, the renewal of a feed's secret URL, and the feed itself.

Every read goes through mch_link.scoping: a centre, provider or doctor outside the user's
scope is a 404, and the sessions shown are always `scoped(user, Session)` narrowed down.
The feed needs no login: its token is the credential (see scheduling.feeds).
"""

import datetime
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.middleware.gzip import re_accepts_gzip  # what GZipMiddleware accepts
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from mch_link import params
from mch_link.models import Centre, Membership, Provider, Role
from mch_link.permissions import (
    BUREAUS,
    PROVIDER_STAFF,
    can_manage_contracts,
    is_doctor,
    is_staff_of_centre,
    own_centre_id,
    own_provider_id,
    role_required,
)
from mch_link.scoping import get_scoped_or_404, membership_of, scoped

from . import feed_reads, feeds
from .models import CalendarFeed, Kind, Session

WEEKDAYS = [gettext_lazy("一"), gettext_lazy("二"), gettext_lazy("三"), gettext_lazy("四"),
            gettext_lazy("五"), gettext_lazy("六"), gettext_lazy("日")]
KIND_SHORT = {
    Kind.GUIDANCE: gettext_lazy("指导"),
    Kind.STAFF_TRAINING: gettext_lazy("培训"),
    Kind.PARENT_LECTURE: gettext_lazy("讲座"),
    Kind.SUPERVISION: gettext_lazy("督导"),
}
PICK_LIMIT = 50


# --------------------------------------------------------------------------- parameters


def _kind_param(request):
    kind = request.GET.get("kind", "")
    return kind if kind in Kind.values else ""


def _month_param(request):
    """The first day of ?month=YYYY-MM, else of the current month (Asia/Shanghai)."""
    return params.month(request.GET.get("month"), default=timezone.localdate().replace(day=1))


def _week_param(request):
    """The Monday of ?week=YYYY-Www (ISO week), else of the current week."""
    today = timezone.localdate()
    return params.iso_week(request.GET.get("week"), default=today - datetime.timedelta(days=today.weekday()))


def _year_param(request):
    return params.year(request.GET.get("year"), default=timezone.localdate().year)


def _shift_month(first, step):
    index = first.year * 12 + first.month - 1 + step
    return datetime.date(index // 12, index % 12 + 1, 1)


def _month_last(first):
    return _shift_month(first, 1) - datetime.timedelta(days=1)


def _query(**params):
    """'?a=1&b=2' without the empty parameters."""
    return "?" + urlencode({k: v for k, v in params.items() if v})


# --------------------------------------------------------------------------- shared pieces


def _decorate(sessions):
    for s in sessions:
        s.kind_short = KIND_SHORT.get(s.kind, s.get_kind_display())
        s.is_cancelled = s.status == Session.Status.CANCELLED
        s.doctor_name = (s.doctor.get_full_name() or s.doctor.username) if s.doctor else ""
        s.location = feeds.session_location(s)
    return sessions


def _by_day(sessions):
    days = {}
    for s in sessions:
        days.setdefault(s.date, []).append(s)
    return days


def _month_weeks(first, days, capacity=None):
    """The month as weeks of seven cells (Monday first); each cell: day, in_month, today,
    sessions and, with a capacity, the load (sessions not cancelled) and whether it is over."""
    today = timezone.localdate()
    start = first - datetime.timedelta(days=first.weekday())
    last = _month_last(first)
    end = last + datetime.timedelta(days=6 - last.weekday())
    weeks, day = [], start
    while day <= end:
        week = []
        for _i in range(7):
            items = days.get(day, [])
            load = sum(1 for s in items if not s.is_cancelled)
            week.append({
                "day": day, "in_month": day.month == first.month, "today": day == today,
                "weekday": WEEKDAYS[day.weekday()], "sessions": items, "load": load,
                "over": capacity is not None and load > capacity,
            })
            day += datetime.timedelta(days=1)
        weeks.append(week)
    return weeks


def _subscribe(feed, owner_field, owner_value):
    """Context of the 订阅 box: the feed's https and webcal URLs, its QR code (inline SVG)
    and what the renew form posts."""
    url = feeds.feed_url(feed)
    return {
        "url": url, "webcal": feeds.webcal_url(url), "qr": segno.make(url).svg_inline(scale=4),
        "owner_type": feed.owner_type, "owner_field": owner_field, "owner_value": owner_value,
        "refresh_hours": int(feeds.REFRESH.total_seconds() // 3600),
    }


def _pick(request, title, items, param):
    """A picker for bureaus and provider staff who came without ?centre= / ?provider= /
    ?doctor=: the first PICK_LIMIT matches of ?q among what they may see."""
    return render(request, "scheduling/calendar_pick.html", {
        "title": title, "items": items[:PICK_LIMIT], "more": len(items) > PICK_LIMIT,
        "q": request.GET.get("q", ""), "param": param, "limit": PICK_LIMIT,
    })


def _kind_choices():
    return [(value, label) for value, label in Kind.choices]


# --------------------------------------------------------------------------- centre


def _centre_for(request):
    """The centre of ?centre=CODE (scoped, else 404); a centre's staff default to their own."""
    code = params.code(request.GET.get("centre"), label="托育机构编码")
    if code:
        return get_scoped_or_404(request.user, Centre, code=code)
    centre_id = own_centre_id(request.user)
    return get_scoped_or_404(request.user, Centre, pk=centre_id) if centre_id is not None else None


def _centre_pick(request, url_name):
    q = params.text(request.GET.get("q"), label="搜索词")
    qs = scoped(request.user, Centre).order_by("name")
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    items = [(f"{c.name} · {c.code}", reverse(url_name) + _query(centre=c.code))
             for c in qs[:PICK_LIMIT + 1]]
    return _pick(request, _("选择托育机构"), items, "centre")


def _centre_context(request, centre):
    ctx = {"centre": centre, "kind": _kind_param(request), "kinds": _kind_choices(), "subscribe": None}
    if is_staff_of_centre(request.user, centre):
        ctx["subscribe"] = _subscribe(feeds.feed_for(centre=centre), "centre", centre.code)
    return ctx


def _centre_sessions(request, centre, first, last, kind):
    qs = scoped(request.user, Session).filter(feeds.sessions_serving(centre), date__range=(first, last))
    if kind:
        qs = qs.filter(kind=kind)
    return _decorate(feeds.load_sessions(request.user, qs))


@login_required
def centre_month(request):
    centre = _centre_for(request)
    if centre is None:
        return _centre_pick(request, "calendar:centre_month")
    ctx = _centre_context(request, centre)
    first = _month_param(request)
    sessions = _centre_sessions(request, centre, first, _month_last(first), ctx["kind"])
    code = request.GET.get("centre", "")
    ctx.update({
        "month": first, "weeks": _month_weeks(first, _by_day(sessions)), "weekdays": WEEKDAYS,
        "total": sum(1 for s in sessions if not s.is_cancelled), "shown": len(sessions),
        "estimated": any(s.estimated for s in sessions),
        "previous": _query(centre=code, kind=ctx["kind"], month=f"{_shift_month(first, -1):%Y-%m}"),
        "next": _query(centre=code, kind=ctx["kind"], month=f"{_shift_month(first, 1):%Y-%m}"),
        "links": [(_("全年列表"), reverse("calendar:centre_sessions")
                   + _query(centre=code, kind=ctx["kind"], year=first.year))],
        "hidden": {"centre": code, "month": f"{first:%Y-%m}"},
    })
    return render(request, "scheduling/calendar_centre_month.html", ctx)


@login_required
def centre_sessions(request):
    centre = _centre_for(request)
    if centre is None:
        return _centre_pick(request, "calendar:centre_sessions")
    ctx = _centre_context(request, centre)
    year = _year_param(request)
    sessions = _centre_sessions(request, centre, datetime.date(year, 1, 1), datetime.date(year, 12, 31),
                                ctx["kind"])
    months = {}
    for s in sessions:
        s.weekday = WEEKDAYS[s.date.weekday()]
        months.setdefault(s.date.replace(day=1), []).append(s)
    code = request.GET.get("centre", "")
    ctx.update({
        "year": year, "months": sorted(months.items()), "total": sum(1 for s in sessions if not s.is_cancelled),
        "estimated": any(s.estimated for s in sessions),
        "previous": _query(centre=code, kind=ctx["kind"], year=year - 1),
        "next": _query(centre=code, kind=ctx["kind"], year=year + 1),
        "links": [(_("月历"), reverse("calendar:centre_month") + _query(centre=code, kind=ctx["kind"]))],
        "hidden": {"centre": code, "year": year},
    })
    return render(request, "scheduling/calendar_centre_sessions.html", ctx)


# --------------------------------------------------------------------------- doctor


def _doctor_for(request):
    """(doctor user, provider) of ?doctor=USERNAME among the doctors of providers the user
    may see (else 404); a doctor defaults to itself. None when a picker is needed."""
    username = params.code(request.GET.get("doctor"), label="医生用户名")
    if not username:
        if is_doctor(request.user):
            return request.user, membership_of(request.user).provider
        return None
    doctor_m = (
        Membership.objects.select_related("user", "provider")
        .filter(role=Role.DOCTOR, user__username=username, provider__in=scoped(request.user, Provider).values("pk"))
        .first()
    )
    if doctor_m is None:
        raise Http404
    return doctor_m.user, doctor_m.provider


@role_required(*BUREAUS, *PROVIDER_STAFF)
def doctor_week(request):
    found = _doctor_for(request)
    if found is None:
        q = params.text(request.GET.get("q"), label="搜索词")
        qs = Membership.objects.filter(role=Role.DOCTOR, provider__in=scoped(request.user, Provider).values("pk")) \
            .select_related("user", "provider").order_by("provider__code", "user__username")
        if q:
            qs = qs.filter(Q(user__username__icontains=q) | Q(user__first_name__icontains=q)
                           | Q(user__last_name__icontains=q) | Q(provider__name__icontains=q))
        items = [(f"{d.user.get_full_name() or d.user.username} · {d.provider.name}",
                  reverse("calendar:doctor_week") + _query(doctor=d.user.username)) for d in qs[:PICK_LIMIT + 1]]
        return _pick(request, _("选择医生"), items, "doctor")
    doctor, provider = found
    monday = _week_param(request)
    sunday = monday + datetime.timedelta(days=6)
    kind = _kind_param(request)
    qs = scoped(request.user, Session).filter(feeds.doctor_sessions_q(doctor, provider.pk),
                                              date__range=(monday, sunday))
    if kind:
        qs = qs.filter(kind=kind)
    sessions = _decorate(feeds.load_sessions(request.user, qs))
    days = _by_day(sessions)
    today = timezone.localdate()
    week = [
        {"day": day, "weekday": WEEKDAYS[day.weekday()], "today": day == today, "sessions": days.get(day, [])}
        for day in (monday + datetime.timedelta(days=i) for i in range(7))
    ]
    param = request.GET.get("doctor", "")
    iso = monday.isocalendar()
    previous, following = (monday + datetime.timedelta(days=d) for d in (-7, 7))
    ctx = {
        "doctor": doctor, "doctor_name": doctor.get_full_name() or doctor.username, "provider": provider,
        "monday": monday, "sunday": sunday, "week_label": f"{iso.year}-W{iso.week:02d}", "days": week,
        "kind": kind, "kinds": _kind_choices(), "total": sum(1 for s in sessions if not s.is_cancelled),
        "shown": len(sessions), "estimated": any(s.estimated for s in sessions),
        "previous": _query(doctor=param, kind=kind, week=_iso_week(previous)),
        "next": _query(doctor=param, kind=kind, week=_iso_week(following)),
        "hidden": {"doctor": param, "week": _iso_week(monday)},
        "subscribe": _subscribe(feeds.feed_for(doctor=doctor), "doctor", doctor.username)
        if doctor.pk == request.user.pk else None,
    }
    return render(request, "scheduling/calendar_doctor_week.html", ctx)


def _iso_week(day):
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


# --------------------------------------------------------------------------- provider


@role_required(*BUREAUS, *PROVIDER_STAFF)
def provider_month(request):
    code = params.code(request.GET.get("provider"), label="医疗卫生机构编码")
    if code:
        provider = get_scoped_or_404(request.user, Provider, code=code)
    elif own_provider_id(request.user) is not None:
        provider = get_scoped_or_404(request.user, Provider, pk=own_provider_id(request.user))
    else:
        q = params.text(request.GET.get("q"), label="搜索词")
        qs = scoped(request.user, Provider).order_by("code")
        if q:
            qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
        items = [(f"{p.name} · {p.code}", reverse("calendar:provider_month") + _query(provider=p.code))
                 for p in qs[:PICK_LIMIT + 1]]
        return _pick(request, _("选择医疗卫生机构"), items, "provider")
    first = _month_param(request)
    kind = _kind_param(request)
    # The load counts every kind, whatever the filter shows: it is the provider's capacity use.
    sessions = _decorate(feeds.load_sessions(request.user, scoped(request.user, Session).filter(
        provider=provider, date__range=(first, _month_last(first)))))
    capacity = provider.daily_capacity
    weeks = _month_weeks(first, _by_day(sessions), capacity=capacity)
    if kind:
        for week in weeks:
            for cell in week:
                cell["sessions"] = [s for s in cell["sessions"] if s.kind == kind]
    busiest = max((cell["load"] for week in weeks for cell in week if cell["in_month"]), default=0)
    ctx = {
        "provider": provider, "month": first, "weeks": weeks, "weekdays": WEEKDAYS, "capacity": capacity,
        "kind": kind, "kinds": _kind_choices(), "busiest": busiest,
        "total": sum(1 for s in sessions if not s.is_cancelled and (not kind or s.kind == kind)),
        "shown": sum(len(cell["sessions"]) for week in weeks for cell in week if cell["in_month"]),
        "over_days": sum(1 for week in weeks for cell in week if cell["in_month"] and cell["over"]),
        "estimated": any(s.estimated for s in sessions),
        "previous": _query(provider=code, kind=kind, month=f"{_shift_month(first, -1):%Y-%m}"),
        "next": _query(provider=code, kind=kind, month=f"{_shift_month(first, 1):%Y-%m}"),
        "hidden": {"provider": code, "month": f"{first:%Y-%m}"},
        "subscribe": _subscribe(feeds.feed_for(provider=provider), "provider", provider.code)
        if can_manage_contracts(request.user, provider) else None,
    }
    return render(request, "scheduling/calendar_provider_month.html", ctx)


# --------------------------------------------------------------------------- feeds


@require_POST
@login_required
def feed_renew(request):
    """Replace the user's own feed (its centre's, itself as a doctor, or its provider's as
    manager) with a new secret URL. Anything else, including another organisation's code, 404s."""
    m = membership_of(request.user)
    owner_type = request.POST.get("owner_type", "")
    value = request.POST.get("owner", "")
    if m is None:
        raise Http404
    if (owner_type == CalendarFeed.OwnerType.CENTRE and is_staff_of_centre(request.user, m.centre_id)
            and value == m.centre.code):
        feed, back = feeds.feed_for(centre=m.centre), reverse("calendar:centre_month")
    elif owner_type == CalendarFeed.OwnerType.DOCTOR and is_doctor(request.user) and value == request.user.username:
        feed, back = feeds.feed_for(doctor=request.user), reverse("calendar:doctor_week")
    elif (owner_type == CalendarFeed.OwnerType.PROVIDER and can_manage_contracts(request.user, m.provider_id)
          and value == m.provider.code):
        feed, back = feeds.feed_for(provider=m.provider), reverse("calendar:provider_month")
    else:
        raise Http404
    feeds.feed_renew(feed)
    messages.success(request, _("已更换订阅链接，旧链接已失效，请在手机日历中重新订阅。"))
    return redirect(back)


@require_safe
def feed(request, token):
    """The iCalendar of a feed, without login. ETag and Last-Modified come from the feed's
    fingerprint (feeds.FeedState: its window's sessions' count and latest change, the window
    day, the token), one aggregate query, read with the feed row in one statement once this
    worker has answered the feed (feed_reads.feed_with_state): 304 while nothing changed,
    without building the body; a 200 comes from the cache when a body of that fingerprint is
    there, else is built and cached. If-None-Match wins over If-Modified-Since (RFC 9110)."""
    row, state = feed_reads.feed_with_state(token) if params.token(token) else (None, None)
    if state is None:
        raise Http404
    headers = _feed_headers(HttpResponse(), state)
    answer = get_conditional_response(request, etag=state.etag, last_modified=int(state.last_modified.timestamp()),
                                      response=headers)
    if answer is not headers:  # 304 (the headers copied), or 412
        return answer
    content = feeds.feed_content(row, state=state)
    if content is None:
        raise Http404
    gzipped = content.gzipped if re_accepts_gzip.search(request.headers.get("Accept-Encoding", "")) else b""
    response = _feed_headers(HttpResponse(gzipped or content.body, content_type="text/calendar; charset=utf-8"),
                             content)
    if gzipped:  # compressed when built; as GZipMiddleware would send it, weak ETag included (RFC 9110 8.8.1)
        response.headers["Content-Encoding"] = "gzip"
        response.headers["ETag"] = "W/" + content.etag
    patch_vary_headers(response, ("Accept-Encoding",))
    return get_conditional_response(request, etag=content.etag, last_modified=int(content.last_modified.timestamp()),
                                    response=response)



def _feed_headers(response, state):
    response.headers["ETag"] = state.etag
    response.headers["Last-Modified"] = http_date(int(state.last_modified.timestamp()))
    # Revalidate every time (cheap with the validators); never stored by shared caches.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Content-Language"] = settings.LANGUAGE_CODE  # whatever the client asks
    response.headers["Content-Disposition"] = 'inline; filename="mch-link.ics"'
    return response
