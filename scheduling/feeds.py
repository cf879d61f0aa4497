"""Calendar feeds: the iCalendar (RFC 5545) text of a centre's, a doctor's or a provider's
sessions, built with icalendar 7, and the reads the calendar pages share with it.

A feed is served at a secret token URL without login (CalendarFeed). It holds exactly the
sessions its owner may see, read through the same scoping function as the owner's own pages:
a centre's and a provider's feed ask `scoped()` as that organisation's own staff
(`Principal.of_organisation`); a doctor's feed asks as the doctor itself.

Times: a session's date, start and end are wall-clock times in settings.TIME_ZONE
(Asia/Shanghai), written with TZID and the matching VTIMEZONE. DTSTAMP is the session's
updated_at in UTC, never "now", so the same data gives byte-identical text.

The ETag and the cache key are a fingerprint of the sessions (FeedState): a 304 is answered
without building the body, and a repeated 200 comes from the cache (docs/calendars.md).
"""

import datetime
import functools
import gzip
import hashlib
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Case, Count, Max, Q, When
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event, Timezone, vDuration

from mch_link.dates import years_after as _years_from
from mch_link.models import Contract, Provider
from mch_link.permissions import is_doctor
from mch_link.scoping import Principal, membership_of, scoped

from .models import CalendarFeed, Kind, Session

PRODID = "-//mch-link//calendar feeds 1.0//ZH"
REFRESH = datetime.timedelta(hours=6)
# The VTIMEZONE covers a fixed span, so the text does not change from one day to the next.
# Asia/Shanghai has kept +08:00 without daylight saving since 1991: one STANDARD block.
VTIMEZONE_SPAN = (datetime.date(2000, 1, 1), datetime.date(2100, 1, 1))
YEARS_BACK, YEARS_AHEAD = 1, 2
# Memoised event texts per process (about 1 KB each): a city's sessions of three years.
EVENT_CACHE_SIZE = 20_000


# --------------------------------------------------------------------------- feeds (rows)


def feed_for(*, centre=None, provider=None, doctor=None):
    """The owner's CalendarFeed, created on first use. Exactly one owner argument."""
    owners = [(k, v) for k, v in {"centre": centre, "provider": provider, "doctor": doctor}.items() if v is not None]
    if len(owners) != 1:
        raise TypeError("feed_for() takes exactly one of centre, provider, doctor")
    [(owner_type, owner)] = owners
    lookup = {owner_type: owner}
    feed = CalendarFeed.objects.filter(**lookup).first()
    if feed is not None:
        return feed
    try:
        with transaction.atomic():
            return CalendarFeed.objects.create(owner_type=owner_type, **lookup)
    except IntegrityError:  # created meanwhile by a concurrent request
        return CalendarFeed.objects.get(**lookup)


@transaction.atomic
def feed_renew(feed):
    """Replace the feed by a new row with a new token: the old URL 404s from now on, and the
    new row's created_at dates the new URL. Returns the new row."""
    lookup = {feed.owner_type: feed.owner}
    CalendarFeed.objects.filter(pk=feed.pk).delete()
    return CalendarFeed.objects.create(owner_type=feed.owner_type, **lookup)


def feed_path(feed):
    return reverse("calendar:feed", kwargs={"token": feed.token})


def feed_url(feed):
    """The absolute https (or http) URL, from settings.SITE_URL."""
    return settings.SITE_URL + feed_path(feed)


def webcal_url(url):
    """The same URL with the webcal:// scheme, which phones open as a subscription."""
    return "webcal://" + url.split("://", 1)[1]


# --------------------------------------------------------------------------- who the feed is for


def doctor_sessions_q(doctor, provider_id):
    """A doctor's sessions: those assigned to it, and its provider's with no doctor yet."""
    return Q(doctor=doctor) | Q(doctor__isnull=True, provider=provider_id)


def sessions_serving(centre):
    """Q for the sessions that serve `centre` (through any of their obligations)."""
    through = Session.obligations.through.objects.filter(obligation__contract__centre=centre)
    return Q(pk__in=through.values("session_id"))


def feed_sessions(feed):
    """(viewer, queryset) of the sessions the feed's owner may see, or (None, None) when the
    owner no longer holds the role (a doctor who left): the feed then answers 404."""
    if feed.owner_type == CalendarFeed.OwnerType.CENTRE:
        viewer = Principal.of_organisation(centre=feed.centre)
        return viewer, scoped(viewer, Session).filter(sessions_serving(feed.centre))
    if feed.owner_type == CalendarFeed.OwnerType.PROVIDER:
        viewer = Principal.of_organisation(provider=feed.provider)
        return viewer, scoped(viewer, Session)
    if not feed.doctor.is_active or not is_doctor(feed.doctor):  # deactivated, or left its provider
        return None, None
    provider_id = membership_of(feed.doctor).provider_id
    return feed.doctor, scoped(feed.doctor, Session).filter(doctor_sessions_q(feed.doctor, provider_id))


def feed_window(today):
    """(first, last) day of the sessions a feed carries: a year back to two years ahead."""
    return _years_from(today, -YEARS_BACK), _years_from(today, YEARS_AHEAD)


# --------------------------------------------------------------------------- reads shared with pages


@dataclass(frozen=True)
class CentreRef:
    pk: int
    code: str
    name: str
    address: str


@dataclass
class SessionCentres:
    """The centres a session serves, split into those the viewer may see and a count of
    the others (a joint training names only the viewer's own centres to centre staff)."""

    visible: list = field(default_factory=list)
    hidden: int = 0

    @property
    def names(self):
        text = "、".join(c.name for c in self.visible)
        if self.hidden:
            more = _("等%(n)d家托育机构") % {"n": self.hidden} if self.visible else \
                _("%(n)d家托育机构") % {"n": self.hidden}
            text = f"{text}{more}"
        return text


@dataclass(eq=False)
class SessionRow:
    """A session as the calendars show it: its fields, its `provider` and `doctor` (model
    instances) and its `centres` (SessionCentres). Read with values_list: Session instances
    cost three times as much for a 1,000-event feed."""

    FIELDS = ("pk", "uid", "provider_id", "doctor_id", "kind", "date", "start", "end", "place", "status",
              "estimated", "sequence", "change_reason", "updated_at")

    pk: int
    uid: object
    provider_id: int
    doctor_id: int | None
    kind: str
    date: datetime.date
    start: datetime.time
    end: datetime.time
    place: str
    status: str
    estimated: bool
    sequence: int
    change_reason: str
    updated_at: datetime.datetime
    provider: Provider | None = None
    doctor: object = None
    centres: SessionCentres | None = None

    def get_kind_display(self):
        return Kind(self.kind).label

    def get_status_display(self):
        return Session.Status(self.status).label


def load_sessions(viewer, qs):
    """The sessions of `qs` as SessionRows, by date and time, each with its provider, doctor
    and centres. Four queries whatever the number of sessions: the sessions, their providers,
    their doctors, then one read of the link table for the centres.

    Providers and doctors are read once by id, not select_related (a Provider per row, each
    parsing its phone number again). The centres come from the link table, not
    prefetch_related: SQLite refuses the OR-chain a prefetch of more than ~1,000 contracts
    builds. `viewer` decides which centres are named (scoped(viewer, Contract))."""
    return _completed(viewer, qs, session_rows(qs))


def session_rows(qs):
    """The sessions of `qs` as SessionRows (fields only), by date and time. One query."""
    return [SessionRow(*row) for row in qs.order_by("date", "start", "pk").values_list(*SessionRow.FIELDS)]


_DOCTOR_NAMES = ("doctor__username", "doctor__first_name", "doctor__last_name")


def _feed_rows(qs):
    """session_rows with each doctor's names joined in (a User with just those fields: all a
    feed shows of it). One query."""
    User, n = get_user_model(), len(SessionRow.FIELDS)
    sessions = []
    for row in qs.order_by("date", "start", "pk").values_list(*SessionRow.FIELDS, *_DOCTOR_NAMES):
        session = SessionRow(*row[:n])
        if session.doctor_id:
            session.doctor = User(pk=session.doctor_id, username=row[n], first_name=row[n + 1], last_name=row[n + 2])
        sessions.append(session)
    return sessions


def _completed(viewer, qs, sessions, doctors_read=False):
    """`sessions` (session_rows of `qs`) with their providers, doctors (unless `doctors_read`:
    _feed_rows) and centres: three queries, or two."""
    if not sessions:
        return sessions
    providers = Provider.objects.in_bulk({s.provider_id for s in sessions})
    doctors = {} if doctors_read else get_user_model().objects.in_bulk({s.doctor_id for s in sessions if s.doctor_id})
    for s in sessions:
        s.provider = providers[s.provider_id]
        if not doctors_read:
            s.doctor = doctors.get(s.doctor_id) if s.doctor_id else None
    visible_contracts = scoped(viewer, Contract).values("pk")
    rows = (
        Session.obligations.through.objects.filter(session__in=qs.values("pk"))
        .annotate(visible=Case(When(obligation__contract__in=visible_contracts, then=True), default=False,
                               output_field=BooleanField()))
        .values_list("session_id", "obligation__contract__centre_id", "obligation__contract__centre__code",
                     "obligation__contract__centre__name", "obligation__contract__centre__address", "visible")
    )
    seen = {}
    for session_id, pk, code, name, address, visible in rows:
        per_session = seen.setdefault(session_id, {})
        per_session[pk] = (CentreRef(pk, code, name, address), per_session.get(pk, (None, False))[1] or visible)
    for s in sessions:
        refs = sorted(seen.get(s.pk, {}).values(), key=lambda item: (item[0].name, item[0].pk))
        s.centres = SessionCentres(visible=[ref for ref, ok in refs if ok],
                                   hidden=sum(1 for _ref, ok in refs if not ok))
    return sessions


# --------------------------------------------------------------------------- the iCalendar text


@dataclass
class FeedContent:
    body: bytes
    etag: str  # quoted, as sent in the ETag header
    last_modified: datetime.datetime  # aware, UTC
    events: int
    # The body gzipped once when built (what phones ask for: GZipMiddleware would compress a
    # 1 MB feed again on every request, several times the cost of the rest). b"" in a body
    # cached before it existed: GZipMiddleware then compresses as before.
    gzipped: bytes = b""


class _TriggerMinutes(vDuration):
    """A negative duration written in minutes (TRIGGER:-PT1440M), as configured, rather
    than icalendar's normalised form (-P1D): both are valid RFC 5545."""

    def to_ical(self):
        return f"-PT{int(-self.td.total_seconds()) // 60}M".encode()


def _owner_name(feed):
    if feed.owner_type == CalendarFeed.OwnerType.DOCTOR:
        doctor = feed.doctor
        name = doctor.get_full_name() or doctor.username
        m = membership_of(doctor)
        return f"{name}（{m.provider.name}）" if m and m.provider_id else name
    return feed.owner.name


def calendar_name(feed):
    return _("%(owner)s 医育结合服务") % {"owner": _owner_name(feed)}


class Labels:
    """The translated words of the event text, looked up once per calendar rather than a
    dozen times per event (gettext and lazy choice labels cost more than the rest)."""

    def __init__(self):
        self.kind = {value: str(label) for value, label in Session._meta.get_field("kind").choices}
        self.status = {value: str(label) for value, label in Session.Status.choices}
        self.words = {word: _(word) for word in (
            "服务类型", "托育机构", "地点", "医生", "医疗卫生机构", "电话", "状态", "变更原因", "待定",
            "（日期为估计）", "【已取消】", "该年度尚无官方节假日安排，日期为估计，载入通知后可能调整。")}
        self.others = _("另有%(n)d家托育机构")
        self.extension = _("转%(ext)s")
        self._phones = {}

    def phone(self, org):
        """The organisation's phone in national format with its extension ('' if none)."""
        key = (type(org), org.pk)
        if key not in self._phones:
            ext = self.extension % {"ext": org.phone_ext} if org.phone_ext else ""
            self._phones[key] = f"{org.phone.as_national}{ext}" if org.phone else ""
        return self._phones[key]


def session_location(session):
    """Where the session is held: its place, else its (only visible) centre's address or
    name, else the provider's venue."""
    if session.place:
        return session.place
    if len(session.centres.visible) == 1 and not session.centres.hidden:
        centre = session.centres.visible[0]
        return centre.address or centre.name
    return session.provider.address or session.provider.name


def session_summary(session, labels):
    summary = f"{labels.kind[session.kind]}：{session.centres.names or session.provider.name}"
    if session.estimated:
        summary += labels.words["（日期为估计）"]
    if session.status == Session.Status.CANCELLED:
        summary = labels.words["【已取消】"] + summary
    return summary


def session_description(session, labels):
    w = labels.words
    lines = [f"{w['服务类型']}：{labels.kind[session.kind]}"]
    for centre in session.centres.visible:
        lines.append(f"{w['托育机构']}：{centre.name}" + (f"（{centre.address}）" if centre.address else ""))
    if session.centres.hidden:
        lines.append(f"{w['托育机构']}：" + labels.others % {"n": session.centres.hidden})
    lines.append(f"{w['地点']}：{session_location(session)}")
    doctor = session.doctor
    lines.append(f"{w['医生']}：{(doctor.get_full_name() or doctor.username) if doctor else w['待定']}")
    provider = session.provider
    phone = labels.phone(provider)
    lines.append(f"{w['医疗卫生机构']}：{provider.name}" + (f"（{w['电话']} {phone}）" if phone else ""))
    lines.append(f"{w['状态']}：{labels.status[session.status]}")
    if session.estimated:
        lines.append(w["该年度尚无官方节假日安排，日期为估计，载入通知后可能调整。"])
    if session.change_reason:
        lines.append(f"{w['变更原因']}：{session.change_reason}")
    return "\n".join(lines)


@dataclass(frozen=True)
class EventFields:
    """Everything one VEVENT is written from: hashable, so that its text can be memoised."""

    uid: str
    sequence: int
    stamp: datetime.datetime  # UTC
    start: datetime.datetime  # aware, settings.TIME_ZONE
    end: datetime.datetime
    summary: str
    description: str
    location: str
    cancelled: bool
    alarm_minutes: int


def event_fields(session, labels, tz, alarm_minutes):
    return EventFields(
        uid=f"{session.uid}@mch-link", sequence=session.sequence,
        stamp=session.updated_at.astimezone(datetime.UTC).replace(microsecond=0),
        start=datetime.datetime.combine(session.date, session.start, tzinfo=tz),
        end=datetime.datetime.combine(session.date, session.end, tzinfo=tz),
        summary=session_summary(session, labels), description=session_description(session, labels),
        location=session_location(session), cancelled=session.status == Session.Status.CANCELLED,
        alarm_minutes=alarm_minutes,
    )


def session_event(fields):
    """The VEVENT (with its VALARM) of one session, as an icalendar component."""
    event = Event()
    event.add("UID", fields.uid)
    event.add("SEQUENCE", fields.sequence)
    event.add("DTSTAMP", fields.stamp)
    event.add("LAST-MODIFIED", fields.stamp)
    event.add("DTSTART", fields.start)
    event.add("DTEND", fields.end)
    event.add("SUMMARY", fields.summary)
    event.add("DESCRIPTION", fields.description)
    event.add("LOCATION", fields.location)
    event.add("STATUS", "CANCELLED" if fields.cancelled else "CONFIRMED")
    event.add("TRANSP", "TRANSPARENT" if fields.cancelled else "OPAQUE")
    if not fields.cancelled and fields.alarm_minutes:  # no reminder for what will not happen
        alarm = Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", fields.summary)
        alarm.add("TRIGGER", _TriggerMinutes(datetime.timedelta(minutes=-fields.alarm_minutes)))
        event.add_component(alarm)
    return event


@functools.lru_cache(maxsize=EVENT_CACHE_SIZE)
def event_ical(fields):
    """The VEVENT's text (CRLF lines, folded), memoised per worker process on its fields:
    icalendar's serialisation (line folding above all) costs about 1 ms an event, and a
    session's text only changes when one of its fields does."""
    return session_event(fields).to_ical()


@functools.cache
def vtimezone(tzid):
    """The VTIMEZONE of `tzid` over VTIMEZONE_SPAN, built once per process (it scans the
    zone's transitions: about 75 ms, more than the rest of a 1,000-event feed)."""
    return Timezone.from_tzid(tzid, first_date=VTIMEZONE_SPAN[0], last_date=VTIMEZONE_SPAN[1])


def calendar_component(name, events=()):
    """The VCALENDAR with its properties, its VTIMEZONE and `events` (components)."""
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    cal.add("X-WR-CALNAME", name)
    cal.add("NAME", name)
    cal.add("X-WR-TIMEZONE", settings.TIME_ZONE)
    cal.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    cal.add_component(vtimezone(settings.TIME_ZONE))
    for event in events:
        cal.add_component(event)
    return cal


def calendar_events(sessions):
    """The EventFields of `sessions` (as load_sessions returns them), in their order."""
    labels = Labels()
    tz = ZoneInfo(settings.TIME_ZONE)
    alarm_minutes = getattr(settings, "FEED_ALARM_MINUTES", 24 * 60)
    return [event_fields(s, labels, tz, alarm_minutes) for s in sessions]


_END = b"END:VCALENDAR\r\n"


def build_calendar(name, sessions):
    """The VCALENDAR of `sessions` as bytes: the same text as icalendar serialising the whole
    calendar_component(), assembled from the memoised text of each event (tested equal)."""
    head = calendar_component(name).to_ical()  # ends with END:VCALENDAR: the events go before it
    return b"".join([head[: -len(_END)], *(event_ical(fields) for fields in calendar_events(sessions)), _END])


# A feed's state is its fingerprint: the window's first day (sessions leave the window), the
# feed row and token (a renewed feed is another), how many sessions the window holds and their
# latest change. The ETag is derived from it, so a conditional request is answered (304) from
# one aggregate query, and the body is cached under it. What the fingerprint does not see
# (a renamed centre or provider, a doctor's new name) reaches a client that revalidates once
# the day changes, and every other request once the cached body expires (CACHE_SECONDS).
FEED_FORMAT = 2  # raise when the text of a feed changes for the same sessions
CACHE_SECONDS = 60 * 60


@dataclass(frozen=True)
class FeedState:
    etag: str  # quoted, as sent in the ETag header
    last_modified: datetime.datetime  # aware, UTC

    @classmethod
    def of(cls, feed, first, count, latest):
        stamp = latest.astimezone(datetime.UTC).isoformat() if latest else "-"
        raw = f"{FEED_FORMAT}|{feed.pk}|{feed.token}|{first.isoformat()}|{count}|{stamp}"
        return cls(etag=f'"{hashlib.sha256(raw.encode()).hexdigest()[:40]}"',
                   last_modified=(latest or feed.created_at).astimezone(datetime.UTC))

    @property
    def cache_key(self):
        return f"feed:{self.etag.strip(chr(34))}"


def _window_sessions(feed, today):
    """(viewer, the feed's sessions in its window, first day), or (None, None, None)."""
    viewer, qs = feed_sessions(feed)
    if qs is None:
        return None, None, None
    first, last = feed_window(today or timezone.localdate())
    return viewer, qs.filter(date__range=(first, last)), first


def feed_state(feed, today=None):
    """The feed's FeedState from one aggregate query (no body built), or None when the owner
    no longer holds its role."""
    _viewer, qs, first = _window_sessions(feed, today)
    if qs is None:
        return None
    found = qs.order_by().aggregate(count=Count("pk"), latest=Max("updated_at"))
    return FeedState.of(feed, first, found["count"], found["latest"])


def feed_content(feed, today=None, state=None):
    """The feed's calendar text with its ETag and Last-Modified, or None when the owner no
    longer holds its role: from the cache when a body of the feed's FeedState (`state`, else
    read: one aggregate query) is there, else built (three more queries whatever the number
    of sessions: the sessions with their doctors, their providers, their centres; the caller
    reads the feed with its owner) and cached."""
    content = None if state is None else cache.get(state.cache_key)
    if content is not None:
        return content
    viewer, qs, first = _window_sessions(feed, today)
    if qs is None:
        return None
    if state is None:
        found = qs.order_by().aggregate(count=Count("pk"), latest=Max("updated_at"))
        state = FeedState.of(feed, first, found["count"], found["latest"])
        content = cache.get(state.cache_key)
    if content is None:
        content = build_content(feed, viewer, qs, state)
        cache.set(state.cache_key, content, CACHE_SECONDS)
    return content


def build_content(feed, viewer, qs, state):
    """The FeedContent of the feed's window sessions `qs`. Three queries."""
    with translation.override(settings.LANGUAGE_CODE):  # the same text whatever the client asks
        sessions = _completed(viewer, qs, _feed_rows(qs), doctors_read=True)
        body = build_calendar(calendar_name(feed), sessions)
    return FeedContent(body=body, etag=state.etag, last_modified=state.last_modified, events=len(sessions),
                       gzipped=gzip.compress(body, compresslevel=6, mtime=0))
