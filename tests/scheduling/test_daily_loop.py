"""The daily loop closed (issue 12): every hand-over tells who acts next, every role's home
page lists what to act on, every session shown is a link, dates make sense, approval shows
the facts, joint sessions keep other centres private, a deactivated user's feed stops."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse

from mch_link.models import Contract, Role
from scheduling.feeds import feed_for, feed_path
from scheduling.models import Notification, Obligation, QuarterApproval, Record, RecordCentre, Session
from scheduling.services import schedule_generate
from tests import factories as f
from tests.scheduling.test_daily_work import at, log

pytestmark = pytest.mark.django_db
AFTER_Q1 = datetime.date(2026, 4, 20)


def sign(world, provider, centre):
    return Contract.objects.create(provider=provider, centre=centre, status="signed",
                                   signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                                   valid_to=datetime.date(2026, 12, 31))


@pytest.fixture
def loop(world):
    """塔山's health centre serves 阳光 (fay) and 小星星 (hal): staff trainings are joint."""
    sign(world, world.tashan_chc, world.sunny)
    sign(world, world.tashan_chc, world.little)
    world.hal = f.user("hal", Role.CENTRE_STAFF, world.little)
    for u in (world.fay, world.dan, world.carol):
        u.email = f"{u.username}@example.cn"
        u.save()
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    world.guidance = Session.objects.filter(kind="guidance", obligations__contract__centre=world.sunny) \
        .order_by("date").first()
    world.joint = Session.objects.filter(kind="staff_training").order_by("date").first()
    assert world.joint.obligations.count() == 2
    return world


def titles(user):
    return list(Notification.objects.filter(user=user).values_list("title", flat=True))


def submit(client, w, session=None, **extra):
    session = session or w.guidance
    with at(session.date + datetime.timedelta(days=1)):
        client.force_login(w.dan)
        assert log(client, session, **extra).status_code == 302


def dispute(client, w, reason="当天未检查膳食"):
    part = RecordCentre.objects.get(record__session=w.guidance)
    client.force_login(w.fay)
    client.post(reverse("scheduling:record_confirm", args=[part.pk]), {"dispute": "1", "reason": reason})
    return part


# --------------------------------------------------------------------------- hand-overs


class TestHandOvers:
    def test_a_submitted_record_asks_the_centre_in_app_and_by_mail(self, loop, client):
        submit(client, loop)
        assert [t for t in titles(loop.fay) if "待确认" in t]
        assert titles(loop.dan) == [] and titles(loop.hal) == []
        assert [m.to for m in mail.outbox] == [["fay@example.cn"]]
        assert Notification.objects.get(user=loop.fay).url == reverse("scheduling:session_detail",
                                                                      args=[loop.guidance.pk])

    def test_a_dispute_reaches_the_doctor_with_its_reason(self, loop, client):
        submit(client, loop)
        mail.outbox.clear()
        dispute(client, loop)
        note = Notification.objects.get(user=loop.dan)
        assert "异议" in note.title and "当天未检查膳食" in note.body
        assert [m.to for m in mail.outbox] == [["dan@example.cn"]]

    def test_an_amendment_asks_the_centre_again(self, loop, client):
        submit(client, loop)
        dispute(client, loop)
        submit(client, loop, content="膳食已检查", version=str(Record.objects.get().version))
        assert [t for t in titles(loop.fay) if "已修改" in t and "重新确认" in t]

    def test_a_move_tells_the_centre_and_the_doctor_not_the_mover(self, loop, client):
        session = loop.guidance
        with at(session.date - datetime.timedelta(days=5)):
            client.force_login(loop.carol)
            response = client.post(reverse("scheduling:session_move", args=[session.pk]), {
                "date": (session.date + datetime.timedelta(days=7)).isoformat(), "start": "09:00", "end": "11:00",
                "reason": "园所体检日", "version": session.version})
        assert response.status_code == 302
        assert [t for t in titles(loop.fay) if "服务改期" in t] and [t for t in titles(loop.dan) if "服务改期" in t]
        assert titles(loop.carol) == [] and titles(loop.hal) == []

    def test_a_cancellation_tells_the_centre_and_the_doctor(self, loop, client):
        ob = Obligation.objects.get(sessions=loop.guidance)
        client.force_login(loop.carol)
        client.post(reverse("scheduling:obligation_resolve", args=[ob.pk]),
                    {"resolution": "cancelled", "reason": "园所停托"})
        assert Session.objects.get(pk=loop.guidance.pk).status == "cancelled"
        assert [t for t in titles(loop.fay) if "服务已取消" in t] and [t for t in titles(loop.dan) if "服务已取消" in t]

    def test_approval_and_reopening_tell_the_providers_of_the_county(self, loop, client):
        with at(AFTER_Q1):
            client.force_login(loop.bob)
            client.post(reverse("scheduling:quarter_action"),
                        {"county": loop.yc.code, "period": "2026Q1", "approve": "1", "confirmed": "1"})
            client.post(reverse("scheduling:quarter_action"),
                        {"county": loop.yc.code, "period": "2026Q1", "reopen": "1", "reason": "补录记录"})
        assert sorted(titles(loop.carol)) == ["越城区 2026Q1 已审核锁定", "越城区 2026Q1 已重新开放"]
        assert titles(loop.erin) == []  # 柯桥 serves no centre of 越城区

    def test_the_header_counts_unread_notifications_until_they_are_read(self, loop, client):
        submit(client, loop)
        client.force_login(loop.fay)
        assert re.search(r'unread-count">1<', client.get(reverse("mch_link:home")).content.decode())
        client.get(reverse("scheduling:notifications"))
        assert "unread-count" not in client.get(reverse("mch_link:home")).content.decode()


# --------------------------------------------------------------------------- to-do


def todo(client, user):
    """{label: (count, url)} of the home page's to-do."""
    client.force_login(user)
    html = client.get(reverse("mch_link:home")).content.decode()
    items = re.findall(r'<li><a href="([^"]+)" class="card card-link[^"]*">(?:<b class="todo-count">(\d+)</b> )?'
                       r'([^<]+)', html)
    return {label.strip(): (int(n) if n else None, url) for url, n, label in items}


class TestToDo:
    def test_the_doctor_sees_overdue_records_and_disputes_and_reaches_them(self, loop, client):
        submit(client, loop)
        dispute(client, loop)
        with at(AFTER_Q1):
            items = todo(client, loop.dan)
            agenda = client.get(reverse("scheduling:agenda")).content.decode()
        overdue = Session.objects.filter(provider=loop.tashan_chc, status="planned", date__lt=AFTER_Q1).count()
        assert items["逾期未记录的服务"] == (overdue, reverse("scheduling:agenda") + "#overdue") and overdue > 0
        assert items["托育机构异议待处理"] == (1, reverse("scheduling:agenda") + "#disputed")
        disputed = agenda.split('id="disputed"')[1].split("<h2")[0]
        assert reverse("scheduling:session_detail", args=[loop.guidance.pk]) in disputed

    def test_the_centre_sees_what_to_confirm_first(self, loop, client):
        submit(client, loop)
        with at(loop.guidance.date + datetime.timedelta(days=1)):
            items = todo(client, loop.fay)
            assert items["服务记录待确认"][0] == 1
            assert todo(client, loop.hal)["服务记录待确认"][0] == 0
            client.force_login(loop.fay)
            page = client.get(items["服务记录待确认"][1]).content.decode()
        pending = page.split('id="pending"')[1]
        assert reverse("scheduling:session_detail", args=[loop.guidance.pk]) in pending
        dispute(client, loop)
        assert todo(client, loop.fay)["服务记录待确认"][0] == 0

    def test_the_manager_sees_contracts_to_renew_and_unplanned_obligations(self, loop, client):
        with at(datetime.date(2026, 11, 15)):
            items = todo(client, loop.carol)
        assert items["60 天内到期待续签的协议"][0] == 2
        assert items["尚未排期的服务义务"][0] == 0 and items["超出接待能力的日子"][0] == 0

    def test_the_reviewer_sees_ended_quarters_with_their_open_items(self, loop, client):
        submit(client, loop)
        dispute(client, loop)
        with at(datetime.date(2026, 7, 10)):
            items = todo(client, loop.bob)
        assert list(items) == ["2026Q2 待审核", "2026Q1 待审核"]  # not 2025Q4: before the plan's start
        client.force_login(loop.bob)
        with at(datetime.date(2026, 7, 10)):
            html = client.get(reverse("mch_link:home")).content.decode()
        assert "异议 1 条 · 待确认 0 条" in html
        assert items["2026Q1 待审核"][1] == reverse("scheduling:quarter_review", args=[loop.yc.code, "2026Q1"])

    @pytest.mark.parametrize("who, queries", [("dan", 11), ("carol", 14), ("fay", 12), ("bob", 11), ("alice", 8)])
    def test_home_page_query_counts_are_pinned_whatever_the_rows(self, loop, client, django_assert_num_queries,
                                                                  who, queries):
        client.force_login(getattr(loop, who))
        with at(AFTER_Q1), django_assert_num_queries(queries):
            assert client.get(reverse("mch_link:home")).status_code == 200
        for i in range(4):
            sign(loop, loop.tashan_chc, f.centre(f"新托育{i}", loop.tashan))
        schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
        submit(client, loop)
        dispute(client, loop)
        client.force_login(getattr(loop, who))
        with at(AFTER_Q1), django_assert_num_queries(queries):
            assert client.get(reverse("mch_link:home")).status_code == 200


# --------------------------------------------------------------------------- links


def session_links(html):
    return {int(pk) for pk in re.findall(r'href="/schedule/sessions/(\d+)/"', html)}


@pytest.mark.parametrize("who, url, params, span", [
    ("fay", "calendar:centre_month", {"month": "2026-01"}, (1, 1)),
    ("fay", "calendar:centre_sessions", {"year": "2026"}, (1, 12)),
    ("dan", "calendar:provider_month", {"month": "2026-01"}, (1, 1)),
    ("carol", "scheduling:provider_plan", {"quarter": "2026Q1"}, (1, 3)),
    ("bob", "calendar:provider_month", {"month": "2026-01", "provider": "P-TS"}, (1, 1)),
])
def test_every_session_on_calendars_and_the_plan_is_a_link(loop, client, who, url, params, span):
    client.force_login(getattr(loop, who))
    html = client.get(reverse(url), params).content.decode()
    qs = Session.objects.filter(provider=loop.tashan_chc).exclude(status="cancelled")
    if who == "fay":
        qs = qs.filter(obligations__contract__centre=loop.sunny)
    first, last = datetime.date(2026, span[0], 1), datetime.date(2026, span[1] + 1, 1) \
        if span[1] < 12 else datetime.date(2027, 1, 1)
    expected = set(qs.filter(date__gte=first, date__lt=last).values_list("pk", flat=True))
    assert expected and session_links(html) == expected


def test_the_doctor_week_links_every_session(loop, client):
    monday = loop.guidance.date - datetime.timedelta(days=loop.guidance.date.weekday())
    client.force_login(loop.dan)
    html = client.get(reverse("calendar:doctor_week"), {"week": f"{monday:%G-W%V}"}).content.decode()
    expected = set(Session.objects.filter(provider=loop.tashan_chc, date__range=(
        monday, monday + datetime.timedelta(days=6))).values_list("pk", flat=True))
    assert loop.guidance.pk in expected and session_links(html) == expected


def test_the_overdue_list_of_the_report_leads_to_the_session(loop, client):
    client.force_login(loop.bob)
    with at(AFTER_Q1):
        html = client.get(reverse("reports:dashboard"), {"region": loop.yc.code, "period": "2026Q1"}).content.decode()
        links = re.findall(r'href="(/schedule/obligations/\d+/)"', html)
        assert links
        response = client.get(links[0])
    assert response.status_code == 302 and response["Location"].startswith("/schedule/sessions/")


# --------------------------------------------------------------------------- dates


def test_a_move_into_the_past_is_refused(loop, client):
    session = loop.guidance
    client.force_login(loop.dan)
    with at(session.date + datetime.timedelta(days=3)):
        response = client.post(reverse("scheduling:session_move", args=[session.pk]), {
            "date": (session.date + datetime.timedelta(days=1)).isoformat(), "start": "09:00", "end": "11:00",
            "reason": "补记", "version": session.version})
    assert response.status_code == 400 and "不能改期到今天之前" in response.content.decode()
    assert Session.objects.get(pk=session.pk).date == session.date


def test_a_session_held_early_shows_on_its_held_day_in_pages_and_the_feed(loop, client):
    session = loop.guidance
    held = session.date - datetime.timedelta(days=7)
    assert held >= datetime.date(2026, 1, 1)
    with at(session.date):
        client.force_login(loop.dan)
        assert log(client, session, day=held).status_code == 302
    moved = Session.objects.get(pk=session.pk)
    assert (moved.date, moved.status) == (held, "held") and moved.sequence > session.sequence
    client.force_login(loop.fay)
    month = client.get(reverse("calendar:centre_sessions"), {"year": "2026"}).content.decode()
    assert f"{held:%m-%d}" in month
    body = client.get(feed_path(feed_for(centre=loop.sunny))).content.decode()
    [event] = [e for e in body.split("BEGIN:VEVENT") if f"UID:{moved.uid}@mch-link" in e]
    assert f"DTSTART;TZID=Asia/Shanghai:{held:%Y%m%d}T090000" in event
    assert f"SEQUENCE:{moved.sequence}" in event


# --------------------------------------------------------------------------- approval


class TestApproval:
    def approve(self, client, w, **extra):
        client.force_login(w.bob)
        with at(AFTER_Q1):
            return client.post(reverse("scheduling:quarter_action"), {
                "county": w.yc.code, "period": "2026Q1", "approve": "1", **extra}, follow=True)

    def test_the_review_page_shows_figures_and_the_open_items_linked(self, loop, client):
        submit(client, loop)
        dispute(client, loop)
        client.force_login(loop.bob)
        with at(AFTER_Q1):
            html = client.get(reverse("scheduling:quarter_review", args=[loop.yc.code, "2026Q1"])).content.decode()
        assert "卫生保健业务指导" in html and "未处理的异议（1）" in html and "当天未检查膳食" in html
        assert reverse("scheduling:session_detail", args=[loop.guidance.pk]) in html
        assert "托育机构不能再确认" in html and 'name="confirmed"' in html
        # the note an open dispute requires is announced at the top, linked to its field below
        assert html.index('href="#id_reason"') < html.index("完成情况") < html.index('id="id_reason"')

    def test_it_is_refused_with_an_open_dispute_and_no_reason(self, loop, client):
        submit(client, loop)
        dispute(client, loop)
        response = self.approve(client, loop, confirmed="1")
        assert "仍有 1 条异议未处理" in response.content.decode()
        assert not QuarterApproval.objects.exists()
        self.approve(client, loop, confirmed="1", reason="异议已电话核实，不影响完成")
        assert QuarterApproval.objects.get().approve_reason == "异议已电话核实，不影响完成"

    def test_it_needs_an_explicit_confirmation(self, loop, client):
        response = self.approve(client, loop)
        assert "请勾选" in response.content.decode() and not QuarterApproval.objects.exists()

    def test_quarters_before_the_plan_are_neither_offered_nor_approved(self, loop, client):
        client.force_login(loop.bob)
        with at(AFTER_Q1):
            html = client.get(reverse("scheduling:quarters")).content.decode()
            client.post(reverse("scheduling:quarter_action"),
                        {"county": loop.yc.code, "period": "2025Q4", "approve": "1", "confirmed": "1"})
        assert "2026Q1" in html and "2025Q4" not in html and "2024Q4" not in html
        assert not QuarterApproval.objects.exists()

    def test_after_approval_a_pending_record_is_shown_locked_to_the_centre(self, loop, client):
        submit(client, loop)
        self.approve(client, loop, confirmed="1")
        client.force_login(loop.fay)
        html = client.get(reverse("scheduling:session_detail", args=[loop.guidance.pk])).content.decode()
        assert "不能再确认" in html and 'name="confirm"' not in html
        assert "季度已审核，不能再确认（1）" in client.get(reverse("scheduling:centre_records")).content.decode()


# --------------------------------------------------------------------------- privacy and accounts


def test_centre_staff_see_only_their_own_centre_of_a_joint_training(loop, client):
    loop.little.address = "小星星路8号"
    loop.little.save()
    for who, own, other in [(loop.fay, loop.sunny, loop.little), (loop.hal, loop.little, loop.sunny)]:
        client.force_login(who)
        html = client.get(reverse("scheduling:session_detail", args=[loop.joint.pk])).content.decode()
        assert own.name in html and other.name not in html, who
        assert "另有 1 家托育机构" in html
    client.force_login(loop.carol)
    html = client.get(reverse("scheduling:session_detail", args=[loop.joint.pk])).content.decode()
    assert loop.sunny.name in html and loop.little.name in html and "小星星路8号" in html


def test_a_deactivated_doctor_is_served_no_feed_and_no_page(loop, client):
    path = feed_path(feed_for(doctor=loop.dan))
    assert client.get(path).status_code == 200
    client.force_login(loop.dan)
    loop.dan.is_active = False
    loop.dan.save()
    assert client.get(path).status_code == 404
    assert client.get(reverse("scheduling:agenda")).status_code == 302  # logged out at once


def test_a_doctor_who_left_the_provider_is_served_no_feed(loop, client):
    path = feed_path(feed_for(doctor=loop.dan))
    loop.dan.membership.delete()
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("who", ["erin", "gus"])
def test_another_organisation_gets_nothing_from_the_new_pages(loop, client, who):
    ob = Obligation.objects.get(sessions=loop.guidance)
    client.force_login(getattr(loop, who))
    with at(AFTER_Q1):
        assert client.get(reverse("scheduling:quarter_review", args=[loop.yc.code, "2026Q1"])).status_code == 404
        assert client.get(reverse("scheduling:obligation_session", args=[ob.pk])).status_code == 404
        home = client.get(reverse("mch_link:home")).content.decode()
    assert reverse("scheduling:session_detail", args=[loop.guidance.pk]) not in home


def test_a_reviewer_of_another_county_gets_404_on_the_review_page(loop, client):
    other = f.user("kim", Role.COUNTY_REVIEWER, loop.kq)
    client.force_login(other)
    with at(AFTER_Q1):
        assert client.get(reverse("scheduling:quarter_review", args=[loop.yc.code, "2026Q1"])).status_code == 404
