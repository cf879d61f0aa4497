"""Calendar feeds: RFC 5545 text that a strict parser accepts, holding exactly what the owner
may see, stable across requests, with conditional GET, at secret URLs that can be renewed."""

import datetime
import os
from io import StringIO
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Q
from django.urls import reverse
from django.utils.http import http_date
from ical.calendar_stream import IcsCalendarStream

from mch_link.models import Contract
from scheduling import feeds
from scheduling.models import CalendarFeed, Session
from scheduling.services import schedule_generate
from tests import factories as f

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _in_june_2026():
    """2026's sessions all fall inside the feed window (a year back, two years ahead)."""
    with time_machine.travel(NOW, tick=True):
        yield


def sign(provider, centre):
    return Contract.objects.create(provider=provider, centre=centre, status="signed",
                                   signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                                   valid_to=datetime.date(2026, 12, 31))


@pytest.fixture
def planned(world):
    """塔山's health centre serves 阳光 and 小星星 (a joint training), 越城区's MCH serves
    阳光 too, 柯桥街道's centre serves 竹韵. dan is 塔山's only named doctor of two, so its
    sessions are half his, half unassigned."""
    world.sunny.address = "塔山街道府山路1号"
    world.sunny.save()
    world.tashan_chc.phone = "0575-85123456"
    world.tashan_chc.save()
    for provider, centre in [(world.tashan_chc, world.sunny), (world.tashan_chc, world.little),
                             (world.yc_mch, world.sunny), (world.keqiao_chc, world.bamboo)]:
        sign(provider, centre)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    return world


def get_feed(client, feed, **headers):
    return client.get(reverse("calendar:feed", kwargs={"token": feed.token}), **headers)


def unfolded(response):
    """The body as text with RFC 5545 line folding undone (long lines are split at 75 octets)."""
    return response.content.decode().replace("\r\n ", "")


def parse_strict(text):
    return IcsCalendarStream.calendar_from_ics(text)


def uids(response):
    calendar = parse_strict(response.content.decode())
    return {event.uid for event in calendar.events}


def expected(sessions):
    return {f"{s.uid}@mch-link" for s in sessions}


def centre_sessions(centre):
    return Session.objects.filter(obligations__contract__centre=centre).distinct()


def owner_cases(w):
    return {
        "centre 阳光": (feeds.feed_for(centre=w.sunny), centre_sessions(w.sunny)),
        "centre 竹韵": (feeds.feed_for(centre=w.bamboo), centre_sessions(w.bamboo)),
        "doctor dan": (feeds.feed_for(doctor=w.dan), Session.objects.filter(
            Q(doctor=w.dan) | Q(doctor__isnull=True, provider=w.tashan_chc))),
        "doctor erin": (feeds.feed_for(doctor=w.erin), Session.objects.filter(
            Q(doctor=w.erin) | Q(doctor__isnull=True, provider=w.keqiao_chc))),
        "provider 塔山": (feeds.feed_for(provider=w.tashan_chc), Session.objects.filter(provider=w.tashan_chc)),
        "provider 越城区妇幼": (feeds.feed_for(provider=w.yc_mch), Session.objects.filter(provider=w.yc_mch)),
    }


@pytest.mark.parametrize("owner", ["centre 阳光", "centre 竹韵", "doctor dan", "doctor erin", "provider 塔山",
                                   "provider 越城区妇幼"])
def test_every_feed_parses_strictly_and_holds_exactly_what_its_owner_may_see(planned, client, owner):
    feed, sessions = owner_cases(planned)[owner]
    response = get_feed(client, feed)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert sessions.exists()
    assert uids(response) == expected(sessions)


def test_owners_see_nothing_of_each_other(planned, client):
    sunny = uids(get_feed(client, feeds.feed_for(centre=planned.sunny)))
    bamboo = uids(get_feed(client, feeds.feed_for(centre=planned.bamboo)))
    dan = uids(get_feed(client, feeds.feed_for(doctor=planned.dan)))
    assert not sunny & bamboo and not dan & bamboo
    assert expected(Session.objects.filter(provider=planned.yc_mch)) <= sunny  # both its providers
    assert not expected(Session.objects.filter(provider=planned.yc_mch)) & dan
    assert expected(Session.objects.filter(provider=planned.tashan_chc, doctor__isnull=True)) <= dan


def test_the_calendar_and_its_events_carry_what_phones_need(planned, client):
    feed = feeds.feed_for(centre=planned.sunny)
    text = unfolded(get_feed(client, feed))
    for line in ["VERSION:2.0", "PRODID:-//mch-link//", "X-WR-CALNAME:阳光托育园 医育结合服务",
                 "X-WR-TIMEZONE:Asia/Shanghai", "REFRESH-INTERVAL;VALUE=DURATION:PT6H", "X-PUBLISHED-TTL:PT6H",
                 "BEGIN:VTIMEZONE", "TZID:Asia/Shanghai", "DTSTART;TZID=Asia/Shanghai:", "STATUS:CONFIRMED",
                 "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT1440M"]:
        assert line in text, line
    raw = get_feed(client, feed).content
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
    assert max(len(line) for line in raw.split(b"\r\n")) <= 75  # folded at 75 octets
    session = Session.objects.filter(provider=planned.tashan_chc, kind="guidance",
                                     obligations__contract__centre=planned.sunny).first()
    event = next(e for e in icalendar.Calendar.from_ical(text).events if e["UID"] == f"{session.uid}@mch-link")
    assert event.start == datetime.datetime.combine(session.date, session.start, tzinfo=SHANGHAI)
    assert event.end == datetime.datetime.combine(session.date, session.end, tzinfo=SHANGHAI)
    assert f"DTSTART;TZID=Asia/Shanghai:{session.date:%Y%m%d}T{session.start:%H%M%S}" in text
    assert event.DTSTAMP == session.updated_at.astimezone(datetime.UTC).replace(microsecond=0)
    assert event.sequence == session.sequence
    assert str(event["SUMMARY"]) == "卫生保健业务指导：阳光托育园"
    assert str(event["LOCATION"]) == "塔山街道府山路1号"
    description = str(event["DESCRIPTION"])
    for part in ["卫生保健业务指导", "阳光托育园", "塔山街道府山路1号", "塔山街道社区卫生服务中心", "0575 8512 3456"]:
        assert part in description, part
    assert ("医生：dan" in description) == (session.doctor_id == planned.dan.pk)


def test_the_assembled_text_is_what_icalendar_writes_for_the_whole_calendar(planned, settings):
    feed = feeds.feed_for(provider=planned.tashan_chc)
    viewer, qs = feeds.feed_sessions(feed)
    sessions = feeds.load_sessions(viewer, qs)
    whole = feeds.calendar_component("名称", [feeds.session_event(e) for e in feeds.calendar_events(sessions)])
    assert feeds.build_calendar("名称", sessions) == whole.to_ical()
    settings.FEED_ALARM_MINUTES = 0  # no alarms: still the same text, not a stale memoised one
    assert b"VALARM" not in feeds.build_calendar("名称", sessions)


def test_the_reminder_follows_the_setting(planned, client, settings):
    settings.FEED_ALARM_MINUTES = 90
    assert "TRIGGER:-PT90M" in get_feed(client, feeds.feed_for(provider=planned.tashan_chc)).content.decode()


def test_estimated_sessions_say_so(world, client):
    sign(world.tashan_chc, world.sunny)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    Session.objects.filter(provider=world.tashan_chc).update(estimated=True)
    text = get_feed(client, feeds.feed_for(centre=world.sunny)).content.decode()
    assert "（日期为估计）" in text


def test_moving_a_session_raises_its_sequence_and_keeps_its_uid(planned, client):
    feed = feeds.feed_for(centre=planned.sunny)
    session = centre_sessions(planned.sunny).order_by("date").first()
    before = icalendar.Calendar.from_ical(get_feed(client, feed).content)
    old = next(e for e in before.events if e["UID"] == f"{session.uid}@mch-link")
    with time_machine.travel(NOW + datetime.timedelta(hours=1)):
        session.date += datetime.timedelta(days=1)
        session.sequence += 1
        session.save()
    after = icalendar.Calendar.from_ical(get_feed(client, feed).content)
    new = [e for e in after.events if e["UID"] == f"{session.uid}@mch-link"]
    assert len(new) == 1
    assert new[0].sequence == old.sequence + 1
    assert new[0].start.date() == old.start.date() + datetime.timedelta(days=1)
    assert new[0].DTSTAMP > old.DTSTAMP


def test_a_cancelled_session_stays_in_the_feed_as_cancelled(planned, client):
    feed = feeds.feed_for(doctor=planned.dan)
    session = Session.objects.filter(doctor=planned.dan).first()
    session.status = Session.Status.CANCELLED
    session.sequence += 1
    session.save()
    text = get_feed(client, feed).content.decode()
    event = next(e for e in parse_strict(text).events if e.uid == f"{session.uid}@mch-link")
    assert event.status == "CANCELLED"
    assert event.sequence == session.sequence
    assert "【已取消】" in event.summary
    assert text.count("STATUS:CANCELLED") == 1


def test_renewing_the_token_makes_the_old_url_404(planned, client):
    old = feeds.feed_for(centre=planned.sunny)
    assert get_feed(client, old).status_code == 200
    client.force_login(planned.fay)
    response = client.post(reverse("calendar:feed_renew"), {"owner_type": "centre", "owner": planned.sunny.code})
    assert response.status_code == 302
    client.logout()
    new = CalendarFeed.objects.get(centre=planned.sunny)
    assert new.token != old.token and len(new.token) >= 32
    assert get_feed(client, old).status_code == 404
    assert get_feed(client, new).status_code == 200


def test_an_unknown_token_is_404(planned, client):
    feeds.feed_for(centre=planned.sunny)
    assert client.get(reverse("calendar:feed", kwargs={"token": "x" * 43})).status_code == 404
    assert client.get("/calendar/feed/.ics").status_code == 404


def test_a_doctor_who_left_loses_the_feed(planned, client):
    feed = feeds.feed_for(doctor=planned.dan)
    planned.dan.membership.delete()
    assert get_feed(client, feed).status_code == 404


def test_if_none_match_gives_304_until_something_changes(planned, client):
    feed = feeds.feed_for(provider=planned.tashan_chc)
    first = get_feed(client, feed)
    etag = first["ETag"]
    assert etag.startswith('"') and first["Last-Modified"]
    again = get_feed(client, feed, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    session = Session.objects.filter(provider=planned.tashan_chc).first()
    session.start, session.sequence = datetime.time(8, 30), session.sequence + 1
    session.save()
    changed = get_feed(client, feed, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_if_modified_since_gives_304_until_something_changes(planned, client):
    feed = feeds.feed_for(centre=planned.sunny)
    first = get_feed(client, feed)
    newest = centre_sessions(planned.sunny).order_by("-updated_at").first().updated_at
    assert first["Last-Modified"] == http_date(newest.timestamp())
    assert get_feed(client, feed, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    with time_machine.travel(NOW + datetime.timedelta(hours=1)):
        session = centre_sessions(planned.sunny).first()
        session.sequence += 1
        session.save()
    later = get_feed(client, feed, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert later.status_code == 200 and later["Last-Modified"] != first["Last-Modified"]


def test_a_feed_without_sessions_is_dated_by_its_creation(world, client):
    feed = feeds.feed_for(centre=world.rice)
    response = get_feed(client, feed)
    assert response["Last-Modified"] == http_date(feed.created_at.timestamp())
    assert parse_strict(response.content.decode()).events == []


def test_the_body_is_byte_identical_on_two_requests(planned, client):
    feed = feeds.feed_for(doctor=planned.dan)
    first, second = get_feed(client, feed), get_feed(client, feed)
    assert first.content == second.content and first["ETag"] == second["ETag"]


def test_the_feed_text_does_not_depend_on_the_clients_language(planned, client):
    feed = feeds.feed_for(centre=planned.sunny)
    assert get_feed(client, feed).content == get_feed(client, feed, HTTP_ACCEPT_LANGUAGE="en").content


def test_the_query_count_does_not_grow_with_the_events(world, client, django_assert_num_queries):
    sign(world.tashan_chc, world.sunny)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    feed = feeds.feed_for(provider=world.tashan_chc)
    keep = Session.objects.filter(provider=world.tashan_chc).order_by("date").first()
    Session.objects.filter(provider=world.tashan_chc).exclude(pk=keep.pk).delete()
    Session.objects.filter(pk=keep.pk).update(doctor=world.dan)  # an empty doctor lookup would save a query
    with django_assert_num_queries(5) as one:  # feed + owner, sessions, providers, doctors, centres
        assert len(parse_strict(get_feed(client, feed).content.decode()).events) == 1
    for i in range(8):
        sign(world.tashan_chc, f.centre(f"新托育{i}", world.tashan))
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    for owner in [feed, feeds.feed_for(centre=world.sunny), feeds.feed_for(doctor=world.dan)]:
        forget_feed_statements()  # as a worker's first request (then the feed row and fingerprint are one)
        with django_assert_num_queries(len(one.captured_queries)):
            response = get_feed(client, owner)
        assert len(parse_strict(response.content.decode()).events) > 1


def test_only_sessions_from_a_year_back_to_two_years_ahead(world, client):
    sign(world.tashan_chc, world.sunny)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    a, b, c, d = Session.objects.filter(provider=world.tashan_chc).order_by("pk")[:4]
    Session.objects.filter(pk=a.pk).update(date=datetime.date(2025, 5, 31))  # 1 year and a day back
    Session.objects.filter(pk=b.pk).update(date=datetime.date(2025, 6, 1))
    Session.objects.filter(pk=c.pk).update(date=datetime.date(2028, 6, 1))
    Session.objects.filter(pk=d.pk).update(date=datetime.date(2028, 6, 2))
    found = uids(get_feed(client, feeds.feed_for(provider=world.tashan_chc)))
    assert expected([b, c]) <= found and not expected([a, d]) & found


def test_a_joint_training_names_only_the_centres_own_name_in_its_feed(planned, client):
    joint = Session.objects.filter(provider=planned.tashan_chc, kind="staff_training",
                                   obligations__contract__centre=planned.little) \
        .filter(obligations__contract__centre=planned.sunny).first()
    assert joint is not None
    response = get_feed(client, feeds.feed_for(centre=planned.sunny))
    event = next(e for e in parse_strict(response.content.decode()).events if e.uid == f"{joint.uid}@mch-link")
    assert event.summary == "托育机构从业人员婴幼儿健康知识培训：阳光托育园等1家托育机构"
    assert "小星星" not in unfolded(response)
    response = get_feed(client, feeds.feed_for(provider=planned.tashan_chc))
    event = next(e for e in parse_strict(response.content.decode()).events if e.uid == f"{joint.uid}@mch-link")
    assert event.summary == "托育机构从业人员婴幼儿健康知识培训：小星星托育、阳光托育园"


# --------------------------------------------------------------------------- feed_url


def run_feed_url(*args):
    out = StringIO()
    call_command("feed_url", *args, stdout=out)
    return out.getvalue().strip()


def test_feed_url_prints_a_url_that_serves_the_feed(planned, client, settings):
    settings.SITE_URL = "https://mch.example.cn"
    for args in (["--centre", planned.sunny.code], ["--provider", "P-TS"], ["--doctor", "dan"]):
        url = run_feed_url(*args)
        assert url.startswith("https://mch.example.cn/calendar/feed/") and url.endswith(".ics")
        assert run_feed_url(*args) == url  # created once, then reused
        response = client.get(url.removeprefix(settings.SITE_URL))
        assert response.status_code == 200 and parse_strict(response.content.decode()).events
    assert CalendarFeed.objects.count() == 3


@pytest.mark.parametrize("args", [["--centre", "91330000XXXXXXXXXX"], ["--provider", "P-NONE"], ["--doctor", "nobody"],
                                  ["--doctor", "carol"]])
def test_feed_url_refuses_an_unknown_owner(world, args):
    with pytest.raises(CommandError):
        run_feed_url(*args)
    assert not CalendarFeed.objects.exists()


def test_feed_url_wants_exactly_one_owner(world):
    with pytest.raises(CommandError):
        run_feed_url()
    with pytest.raises(CommandError):
        run_feed_url("--provider", "P-TS", "--doctor", "dan")


# --------------------------------------------------------------------------- the fingerprint and the cache


def forget_feed_statements():
    """As another worker process: no feed statement recorded (scheduling.feed_reads)."""
    from scheduling import feed_reads

    feed_reads.fingerprints.clear()
    feed_reads.last_keys.clear()


def no_building(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the feed body was built")

    monkeypatch.setattr(feeds, "build_calendar", refuse)


def test_a_304_is_answered_from_the_fingerprint_without_building_the_body(planned, client, monkeypatch,
                                                                          django_assert_num_queries):
    feed = feeds.feed_for(provider=planned.tashan_chc)
    etag = get_feed(client, feed)["ETag"]
    feeds.cache.clear()  # another worker: nothing cached either
    forget_feed_statements()
    no_building(monkeypatch)
    with django_assert_num_queries(2):  # the feed with its owner, the sessions' count and latest change
        again = get_feed(client, feed, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and again["Cache-Control"] == "private, no-cache"
    with django_assert_num_queries(1):  # then both in one statement (scheduling.feed_reads)
        since = get_feed(client, feed, HTTP_IF_MODIFIED_SINCE=again["Last-Modified"])
    assert since.status_code == 304


def test_a_repeated_200_comes_from_the_cache_with_the_same_bytes(planned, client, monkeypatch):
    feed = feeds.feed_for(centre=planned.sunny)
    first = get_feed(client, feed)
    no_building(monkeypatch)
    second = get_feed(client, feed)
    assert second.status_code == 200 and second.content == first.content and second["ETag"] == first["ETag"]


def test_a_change_to_a_session_changes_the_fingerprint_and_the_body(planned, client):
    feed = feeds.feed_for(provider=planned.tashan_chc)
    before, state = get_feed(client, feed), feeds.feed_state(feed)
    assert state.etag == before["ETag"]
    session = Session.objects.filter(provider=planned.tashan_chc).order_by("date").first()
    session.change(by=None, action=None, start=datetime.time(8, 30))
    moved = get_feed(client, feed)
    assert feeds.feed_state(feed).etag == moved["ETag"] != before["ETag"]
    assert moved.content != before.content and "T083000" in unfolded(moved)
    Session.objects.filter(pk=session.pk).delete()  # a delete touches no updated_at: the count sees it
    gone = get_feed(client, feed)
    assert gone["ETag"] not in (moved["ETag"], before["ETag"])
    assert f"{session.uid}@mch-link" not in uids(gone)


def test_the_next_day_gives_another_fingerprint(planned, client):
    feed = feeds.feed_for(centre=planned.sunny)
    today = feeds.feed_state(feed)
    with time_machine.travel(NOW + datetime.timedelta(days=1)):
        assert feeds.feed_state(feed).etag != today.etag  # the window moved: a session may have left it


# --------------------------------------------------------------------------- ahead of the middleware


def test_a_feed_keeps_answering_without_the_session_and_auth_machinery(planned, client, monkeypatch):
    """Feeds are answered by scheduling.middleware.FeedMiddleware, ahead of the session, CSRF,
    auth, messages, CSP and axes middleware: a phone's calendar keeps refreshing when the
    session store fails, and gets no cookie. The pages do need that machinery."""
    from django.contrib.sessions.middleware import SessionMiddleware

    feed = feeds.feed_for(provider=planned.tashan_chc)
    client.force_login(planned.carol)  # a browser that also holds a session cookie

    def store_down(self, request):
        raise RuntimeError("the session store is down")

    monkeypatch.setattr(SessionMiddleware, "process_request", store_down)
    full = get_feed(client, feed)
    assert full.status_code == 200 and parse_strict(full.content.decode()).events
    assert not full.cookies and "Cookie" not in full.get("Vary", "")
    assert full["Content-Length"] == str(len(full.content)) and full["Content-Language"] == "zh-hans"
    assert get_feed(client, feed, HTTP_IF_NONE_MATCH=full["ETag"]).status_code == 304
    with pytest.raises(RuntimeError, match="session store"):
        client.get(reverse("calendar:provider_month"))


def test_what_the_early_answer_refuses(planned, client):
    """The same refusals as through the whole stack: a revoked token, a deactivated doctor, a
    POST; an unknown token gets the site's HTML 404 page (rendered by the whole stack)."""
    doctor = feeds.feed_for(doctor=planned.dan)
    assert get_feed(client, doctor).status_code == 200
    planned.dan.is_active = False
    planned.dan.save()
    assert get_feed(client, doctor).status_code == 404
    centre = feeds.feed_for(centre=planned.sunny)
    url = reverse("calendar:feed", kwargs={"token": centre.token})
    assert client.post(url).status_code == 405
    feeds.feed_renew(centre)
    gone = client.get(url)
    assert gone.status_code == 404 and gone["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in gone


def test_a_feed_asked_for_under_a_host_not_allowed_is_refused(planned, client):
    """Answered early, a feed still checks the Host header against ALLOWED_HOSTS (the common
    middleware did it for every request): a 400, no calendar, as any page under that host."""
    feed = feeds.feed_for(centre=planned.sunny)
    response = get_feed(client, feed, HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert b"BEGIN:VCALENDAR" not in response.content
    assert get_feed(client, feed).status_code == 200


def test_a_centres_feed_holds_nothing_of_another_organisation(planned, client):
    """Answered early, a feed is still scoped: 竹韵 (柯桥) sees none of 阳光's (塔山) sessions."""
    bamboo = uids(get_feed(client, feeds.feed_for(centre=planned.bamboo)))
    sunny = uids(get_feed(client, feeds.feed_for(centre=planned.sunny)))
    assert bamboo and sunny and not bamboo & sunny


def test_the_request_log_names_the_feed_route_not_its_token(planned, client, caplog):
    import json
    import logging

    feed = feeds.feed_for(centre=planned.sunny)
    with caplog.at_level(logging.INFO, logger="mch_link.requests"):
        get_feed(client, feed)
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mch_link.requests"]
    assert line["route"] == "/calendar/feed/<str:token>.ics" and line["status"] == 200
    assert feed.token not in caplog.text


def test_a_phone_asking_for_gzip_gets_the_body_compressed_once_when_built(planned, client, monkeypatch):
    """The same text, gzipped when the body was built and cached with it: two requests give
    the same bytes (GZipMiddleware compresses every time, with random bytes against BREACH),
    and its weak ETag still answers 304."""
    import gzip

    feed = feeds.feed_for(provider=planned.tashan_chc)
    plain = get_feed(client, feed)
    no_building(monkeypatch)
    first = get_feed(client, feed, HTTP_ACCEPT_ENCODING="gzip, deflate")
    second = get_feed(client, feed, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert first["Content-Encoding"] == "gzip" and gzip.decompress(first.content) == plain.content
    assert first.content == second.content and first["Content-Length"] == str(len(first.content))
    assert "Accept-Encoding" in first["Vary"] and "Accept-Encoding" in plain["Vary"]
    assert first["ETag"] == "W/" + plain["ETag"]
    again = get_feed(client, feed, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


# --------------------------------------------------------------------------- statements compiled once (feed_reads)


@pytest.fixture
def cold_statements():
    """A fresh process as far as the feed statements go: nothing recorded yet."""
    from scheduling import feed_reads

    forget_feed_statements()
    yield feed_reads
    forget_feed_statements()


@pytest.mark.parametrize("owner", ["centre 阳光", "centre 竹韵", "doctor dan", "doctor erin", "provider 塔山",
                                   "provider 越城区妇幼"])
def test_the_recorded_fingerprint_statement_gives_the_orms_fingerprint(planned, cold_statements, owner,
                                                                       django_assert_num_queries):
    """For every kind of owner the fingerprint statement is recorded on the first request and
    run alone on the next: the same ETag as the ORM computes, before and after a change."""
    feed_reads = cold_statements
    feed, sessions = owner_cases(planned)[owner]
    orm = feeds.feed_state(CalendarFeed.objects.get(pk=feed.pk))
    assert feed_reads.feed_state(feed_reads.feed_by_token(feed.token)) == orm
    assert len(feed_reads.fingerprints.kept) == 1  # recorded: its inputs were all in the row
    row = feed_reads.feed_by_token(feed.token)
    with django_assert_num_queries(1):
        assert feed_reads.feed_state(row) == orm
    assert feed_reads.feed_with_state(feed.token)[1] == orm  # the row, then the recorded statement
    with django_assert_num_queries(1):  # the row and the recorded statement in one
        assert feed_reads.feed_with_state(feed.token)[1] == orm
    session = sessions.order_by("date").first()
    session.change(by=None, action=None, start=datetime.time(8, 30))
    changed = feeds.feed_state(CalendarFeed.objects.get(pk=feed.pk))
    assert changed != orm and feed_reads.feed_state(feed_reads.feed_by_token(feed.token)) == changed
    with django_assert_num_queries(1):
        assert feed_reads.feed_with_state(feed.token)[1] == changed


def test_the_feed_row_read_by_its_statement_is_the_feed_with_its_owner(planned, cold_statements):
    feed_reads = cold_statements
    for feed, _sessions in owner_cases(planned).values():
        row, orm = feed_reads.feed_by_token(feed.token), CalendarFeed.objects.get(pk=feed.pk)
        assert (row.pk, row.token, row.owner_type, row.created_at) == (orm.pk, orm.token, orm.owner_type,
                                                                      orm.created_at)
        assert feeds.calendar_name(row) == feeds.calendar_name(orm)
    assert feed_reads.feed_by_token("x" * 43) is None


def test_a_doctors_new_provider_is_seen_on_the_very_next_request(planned, client, cold_statements):
    """The feed row is read on every request: with the fingerprint statement of dan's feed
    recorded, dan moving to 柯桥 gives 柯桥's sessions (a new statement), not 塔山's."""
    keqiao = Session.objects.filter(provider=planned.keqiao_chc).order_by("date")
    Session.objects.filter(pk__in=[s.pk for s in keqiao[:3]]).update(doctor=None)  # not yet assigned
    feed = feeds.feed_for(doctor=planned.dan)
    before = get_feed(client, feed)
    assert get_feed(client, feed, HTTP_IF_NONE_MATCH=before["ETag"]).status_code == 304  # recorded, then run
    assert uids(before) == expected(Session.objects.filter(
        Q(doctor=planned.dan) | Q(doctor__isnull=True, provider=planned.tashan_chc)))
    membership = planned.dan.membership
    membership.provider = planned.keqiao_chc
    membership.save()
    after = get_feed(client, feed, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    assert uids(after) == expected(keqiao.filter(doctor__isnull=True)) and len(uids(after)) == 3


@pytest.mark.parametrize("revoke", ["role", "membership", "deactivated", "renewed"])
def test_a_revocation_is_seen_on_the_very_next_request(planned, client, cold_statements, revoke):
    """With the statements warm (two requests, a 304), losing the doctor role, the membership
    or the account, or a renewed token, gives a 404 on the next request, with or without a
    validator."""
    feed = feeds.feed_for(doctor=planned.dan)
    etag = get_feed(client, feed)["ETag"]
    assert get_feed(client, feed, HTTP_IF_NONE_MATCH=etag).status_code == 304
    if revoke == "role":
        planned.dan.membership.role = "provider_manager"
        planned.dan.membership.save()
    elif revoke == "membership":
        planned.dan.membership.delete()
    elif revoke == "deactivated":
        planned.dan.is_active = False
        planned.dan.save()
    else:
        feeds.feed_renew(feed)
    assert get_feed(client, feed, HTTP_IF_NONE_MATCH=etag).status_code == 404
    assert get_feed(client, feed).status_code == 404


def test_a_fingerprint_that_reads_beyond_the_feed_row_is_not_recorded(planned, cold_statements, monkeypatch,
                                                                      django_assert_num_queries):
    """Were a scoping rule to read what the feed row does not hold (here the provider's
    phone), the statement would depend on more than its key: it is then not recorded, and
    every request takes the ORM path (still right, if slower)."""
    feed_reads = cold_statements
    feed = feeds.feed_for(provider=planned.tashan_chc)
    orm = feeds.feed_state(CalendarFeed.objects.get(pk=feed.pk))
    rule = feeds.feed_sessions

    def reads_more(feed):
        str(feed.provider.phone)  # a field the row does not load: one more query
        return rule(feed)

    monkeypatch.setattr(feeds, "feed_sessions", reads_more)
    for _ in range(2):
        row = feed_reads.feed_by_token(feed.token)
        with django_assert_num_queries(2):  # the deferred field, the aggregate: not recorded
            assert feed_reads.feed_state(row) == orm
    assert not feed_reads.fingerprints.kept


def test_the_next_day_records_another_statement(planned, client, cold_statements):
    feed_reads = cold_statements
    feed = feeds.feed_for(centre=planned.sunny)
    today = feed_reads.feed_state(feed_reads.feed_by_token(feed.token))
    with time_machine.travel(NOW + datetime.timedelta(days=1)):
        tomorrow = feed_reads.feed_state(feed_reads.feed_by_token(feed.token))
        assert tomorrow == feeds.feed_state(CalendarFeed.objects.get(pk=feed.pk)) != today
    assert len(feed_reads.fingerprints.kept) == 2


def test_the_recorded_statements_are_bounded():
    from mch_link.statements import Kept

    kept = Kept(2)
    for key in "abc":
        kept.keep(key, (key, ()))
    kept.get("b")
    kept.keep("d", ("d", ()))
    assert list(kept.kept) == ["b", "d"]


@pytest.mark.parametrize("owner", ["centre 阳光", "doctor dan", "provider 塔山"])
def test_a_cached_200_and_a_304_are_one_query_once_the_feed_was_answered(planned, client, monkeypatch, owner,
                                                                         django_assert_num_queries):
    """A worker's first request of a feed reads the row, then the fingerprint; from the next
    on, both are one statement."""
    feed, _sessions = owner_cases(planned)[owner]
    etag = get_feed(client, feed)["ETag"]
    forget_feed_statements()
    no_building(monkeypatch)
    with django_assert_num_queries(2):  # the feed row, the fingerprint (recorded)
        assert get_feed(client, feed).status_code == 200
    with django_assert_num_queries(1):
        assert get_feed(client, feed).status_code == 200
    with django_assert_num_queries(1):
        assert get_feed(client, feed, HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="prepared statements: PostgreSQL")
@pytest.mark.parametrize("prepared", [True, False])
def test_on_postgresql_the_feed_statements_are_prepared_once_per_connection(planned, client, settings, prepared):
    from django.db import connection

    settings.PREPARED_STATEMENTS = prepared
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # psycopg forgets its own prepared statements with it
    feed = feeds.feed_for(provider=planned.tashan_chc)
    etag = get_feed(client, feed)["ETag"]
    for _ in range(3):
        assert get_feed(client, feed, HTTP_IF_NONE_MATCH=etag).status_code == 304
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    # the feed row alone (the first request), then with the fingerprint; nothing else
    assert len(statements) == (2 if prepared else 0)
    assert all("scheduling_calendarfeed" in statement for statement in statements)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="prepared statements: PostgreSQL")
@pytest.mark.django_db(transaction=True)  # as served: autocommit, the migration on another connection
def test_a_migration_changing_a_column_the_feed_reads_does_not_break_feeds_on_open_connections(planned, client,
                                                                                                settings):
    """A rolling deploy migrates while workers keep their connections (CONN_MAX_AGE): the
    statements they prepared return a column whose type changed (a provider's name made longer),
    which PostgreSQL refuses ("cached plan must not change result type") on every execution."""
    import psycopg
    from django.db import connection

    settings.PREPARED_STATEMENTS = True
    feed = feeds.feed_for(provider=planned.tashan_chc)
    etag = get_feed(client, feed)["ETag"]
    assert get_feed(client, feed, HTTP_IF_NONE_MATCH=etag).status_code == 304  # both statements prepared
    db = connection.settings_dict
    migration = psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                                password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True)
    try:
        migration.execute("ALTER TABLE mch_link_provider ALTER COLUMN name TYPE varchar(200)")
        assert get_feed(client, feed, HTTP_IF_NONE_MATCH=etag).status_code == 304
        assert get_feed(client, feed).status_code == 200
    finally:
        migration.execute("ALTER TABLE mch_link_provider ALTER COLUMN name TYPE varchar(100)")
        migration.close()
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")  # the next tests' statements prepared afresh
