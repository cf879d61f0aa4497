"""Writes through the API go through the page's services: the same audit rows and
notifications as the page, the same refusals (400 with the field's Chinese message, 409 with
the versions now stored, 423 in an approved quarter), and idempotent retries."""

import base64
import datetime

import pytest
from django.urls import reverse

from mch_link.errors import CONFLICT_MESSAGE, LOCKED_MESSAGE
from mch_link.models import AuditEvent
from scheduling import workdays
from scheduling.models import Attachment, Notification, QuarterApproval, Record, RecordCentre, Session
from scheduling.services import work_years_for

from .conftest import at

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TODAY = datetime.date(2026, 11, 29)
SUMMER = datetime.date(2026, 7, 1)  # moves need sessions ahead: Q3 and Q4's


def next_working_day(day):
    year = work_years_for([day.year])[day.year]
    day += datetime.timedelta(days=1)
    while not workdays.is_working_day(day, year):
        day += datetime.timedelta(days=1)
    return day


def guidance(world, quarter):
    """塔山's guidance session of `quarter` (1–4) of 2026."""
    first = datetime.date(2026, 3 * quarter - 2, 1)
    return Session.objects.filter(provider=world.tashan_chc, kind="guidance", date__gte=first).order_by("date").first()


def record_body(session, **extra):
    body = {"version": 0, "held_on": session.date.isoformat(), "start": "09:00", "end": "11:00",
            "content": "检查晨检与消毒记录", "findings": {"卫生与消毒": "消毒记录不全"}, "advice": "补全消毒记录",
            "follow_up_on": (session.date + datetime.timedelta(days=30)).isoformat(),
            "late_reason": LATE_REASON}
    return {**body, **extra}


LATE_REASON = "外出指导当天无网络，回单位后补录"


def page_record(client, session):
    b = record_body(session)
    return client.post(reverse("scheduling:record_edit", args=[session.pk]), {
        "held_on": b["held_on"], "start": "09:00", "end": "11:00", "content": b["content"], "finding_4": "消毒记录不全",
        "advice": b["advice"], "follow_up_on": b["follow_up_on"], "version": 0, "submit": "1",
        "late_reason": LATE_REASON})


def marks():
    return (AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)


def left_since(mark):
    events = sorted((e.action, e.model) for e in AuditEvent.objects.filter(pk__gt=mark[0]))
    told = sorted((n.user.username, n.title.split("：")[0]) for n in Notification.objects.filter(pk__gt=mark[1]))
    return events, told


class TestSameTrailAsThePage:
    def test_a_submitted_record(self, planned, client, api):
        client.force_login(planned.dan)
        with at(TODAY):
            mark = marks()
            assert page_record(client, guidance(planned, 1)).status_code == 302
            by_page = left_since(mark)
            mark = marks()
            session = guidance(planned, 2)
            response = api(planned.dan).post(f"sessions/{session.pk}/record", record_body(session))
            by_api = left_since(mark)
        assert response.status_code == 201
        assert by_api == by_page and ("submit", "record") in by_api[0] and ("fay", "服务记录待确认") in by_api[1]
        body = response.json()
        assert (body["status"], body["version"], body["parts"][0]["centre"]) == ("submitted", 1, planned.sunny.code)

    def test_a_dispute(self, planned, client, api):
        client.force_login(planned.dan)
        with at(TODAY):
            page_record(client, guidance(planned, 1))
            page_record(client, guidance(planned, 2))
            first, second = RecordCentre.objects.order_by("pk")
            client.force_login(planned.fay)
            mark = marks()
            client.post(reverse("scheduling:record_confirm", args=[first.pk]),
                        {"reason": "当天未检查膳食", "version": first.version, "record_version": 1})
            by_page = left_since(mark)
            mark = marks()
            response = api(planned.fay).post(f"parts/{second.pk}/answer", {
                "action": "dispute", "reason": "当天未检查膳食", "version": second.version, "record_version": 1})
            by_api = left_since(mark)
        assert response.status_code == 200 and response.json()["confirmation"] == "disputed"
        assert by_api == by_page == ([("dispute", "recordcentre")], [("dan", "托育机构提出异议")])

    def test_a_move(self, planned, client, api):
        first, second = Session.objects.filter(provider=planned.tashan_chc, date__gte=SUMMER).order_by("date")[:2]
        client.force_login(planned.carol)
        with at(SUMMER):
            mark = marks()
            client.post(reverse("scheduling:session_move", args=[first.pk]), {
                "date": first.date.isoformat(), "start": "14:00", "end": "16:00", "reason": "园所体检日",
                "version": first.version})
            by_page = left_since(mark)
            mark = marks()
            response = api(planned.carol).post(f"sessions/{second.pk}/move", {
                "date": second.date.isoformat(), "start": "14:00", "end": "16:00", "reason": "园所体检日",
                "version": second.version})
            by_api = left_since(mark)
        assert response.status_code == 200
        assert (response.json()["start"], response.json()["sequence"]) == ("14:00", 1)
        assert by_api == by_page and ("move", "session") in by_api[0] and by_api[1]


class TestRefusals:
    def test_a_second_creator_gets_409_with_the_current_version(self, planned, api):
        session = guidance(planned, 1)
        with at(TODAY):
            assert api(planned.dan).post(f"sessions/{session.pk}/record", record_body(session)).status_code == 201
            audited = AuditEvent.objects.count()
            response = api(planned.carol).post(f"sessions/{session.pk}/record", record_body(session, content="另一份"))
        assert response.status_code == 409
        assert response.json()["detail"] == CONFLICT_MESSAGE and response.json()["current"] == {"version": 1}
        assert AuditEvent.objects.count() == audited and Record.objects.get().content == "检查晨检与消毒记录"

    def test_an_answer_to_changed_content_gets_409_with_both_versions(self, planned, api):
        session = guidance(planned, 1)
        with at(TODAY):
            api(planned.dan).post(f"sessions/{session.pk}/record", record_body(session))
            api(planned.dan).post(f"sessions/{session.pk}/record", record_body(session, version=1, content="改过"))
            part = RecordCentre.objects.get()
            response = api(planned.fay).post(f"parts/{part.pk}/answer",
                                             {"action": "confirm", "version": part.version, "record_version": 1})
        assert response.status_code == 409
        assert response.json()["current"] == {"version": part.version, "record_version": 2}
        assert RecordCentre.objects.get().confirmation == "unconfirmed"

    def test_an_approved_quarter_is_423(self, planned, api):
        QuarterApproval.objects.create(county=planned.yc, period="2026Q1", status="approved")
        session = guidance(planned, 1)
        with at(TODAY):
            response = api(planned.dan).post(f"sessions/{session.pk}/record", record_body(session))
        assert response.status_code == 423 and response.json()["detail"] == LOCKED_MESSAGE
        assert not Record.objects.exists()

    @pytest.mark.parametrize("extra, field, message", [
        ({"follow_up_on": "2026-01-01"}, "follow_up_on", "复查日期应晚于实际日期"),
        ({"content": "", "findings": {}, "advice": "", "follow_up_on": None}, "__all__",
         "提交前请至少填写一个方面的检查发现"),
        ({"findings": {"卫生": "x"}}, "findings", "未知的检查方面：卫生"),
        ({"attachments": [{"name": "a.exe", "content_base64": "AAAA"}]}, "files", "只接受以下类型的文件"),
        ({"attachments": [{"name": "a.png", "content_base64": "不是"}]}, "attachments", "不是有效的 base64"),
        ({"held_on": "2027-01-05"}, "held_on", "实际日期不能晚于今天"),
        ({"late_reason": ""}, "late_reason", "补录"),  # held months ago: the page's 补录 rule
    ])
    def test_invalid_content_is_400_with_the_fields_message(self, planned, api, extra, field, message):
        session = guidance(planned, 1)
        with at(TODAY):
            response = api(planned.dan).post(f"sessions/{session.pk}/record", record_body(session, **extra))
        assert response.status_code == 400, response.content
        assert message in response.json()["errors"][field][0]
        assert not Record.objects.exists()

    def test_a_body_the_schema_refuses_is_422_in_chinese(self, planned, api):
        session = guidance(planned, 1)
        response = api(planned.dan).post(f"sessions/{session.pk}/record", {"version": -1, "held_on": "明天"})
        assert response.status_code == 422
        errors = response.json()["errors"]
        assert errors["body.version"] == ["不能小于 0"] and errors["body.held_on"] == ["应为 YYYY-MM-DD 格式的日期"]
        assert errors["body.start"] == ["必填"]

    def test_a_move_to_a_full_day_is_refused(self, planned, api):
        session, *others = Session.objects.filter(provider=planned.tashan_chc, date__gte=SUMMER).order_by("date")[:5]
        full = next_working_day(session.date)
        Session.objects.filter(pk__in=[s.pk for s in others]).update(date=full)  # 4 = 2 doctors × 2 a day
        with at(SUMMER):
            response = api(planned.carol).post(f"sessions/{session.pk}/move", {
                "date": full.isoformat(), "start": "14:00", "end": "16:00", "reason": "调整",
                "version": session.version})
        assert response.status_code == 400
        assert "达到本机构每日容量" in response.json()["errors"]["date"][0]
        assert Session.objects.get(pk=session.pk).sequence == 0


def summer_move(world):
    """塔山's first session from SUMMER on, and the body of its move to the afternoon."""
    session = Session.objects.filter(provider=world.tashan_chc, date__gte=SUMMER).order_by("date").first()
    return session, {"date": session.date.isoformat(), "start": "14:00", "end": "16:00", "reason": "园所体检日",
                     "version": session.version}


class TestAttachmentsAndRetries:
    def test_a_record_with_an_attachment(self, planned, api):
        session = guidance(planned, 1)
        photo = {"name": "签到表.png", "content_base64": base64.b64encode(PNG).decode()}
        with at(TODAY):
            response = api(planned.dan).post(f"sessions/{session.pk}/record", record_body(session, attachments=[photo]))
        assert response.status_code == 201
        (stored,) = Attachment.objects.all()
        assert stored.original_name == "签到表.png" and stored.file.read() == PNG
        assert response.json()["attachments"][0]["name"] == "签到表.png"

    def test_a_retry_with_the_same_key_replays_the_answer_and_writes_nothing(self, planned, api):
        session, body = summer_move(planned)
        client = api(planned.carol)
        with at(SUMMER):
            first = client.post(f"sessions/{session.pk}/move", body, **{"Idempotency-Key": "phone-1"})
            again = client.post(f"sessions/{session.pk}/move", body, **{"Idempotency-Key": "phone-1"})
            without_key = client.post(f"sessions/{session.pk}/move", body)
        assert first.status_code == again.status_code == 200 and first.json() == again.json()
        assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
        assert AuditEvent.objects.filter(model="session", action="move").count() == 1
        assert Session.objects.get(pk=session.pk).sequence == 1
        assert without_key.status_code == 409  # the same stale version, without the key: a conflict

    def test_the_same_key_with_another_request_is_refused(self, planned, api):
        session, body = summer_move(planned)
        client = api(planned.carol)
        with at(SUMMER):
            client.post(f"sessions/{session.pk}/move", body, **{"Idempotency-Key": "k"})
            response = client.post(f"sessions/{session.pk}/move", {**body, "start": "15:00"},
                                   **{"Idempotency-Key": "k"})
        assert response.status_code == 422 and "已用于另一个请求" in response.json()["detail"]

    def test_a_refused_write_keeps_nothing_so_its_retry_is_tried_again(self, planned, api):
        session = guidance(planned, 1)
        client = api(planned.dan)
        with at(TODAY):
            refused = client.post(f"sessions/{session.pk}/record", record_body(session, follow_up_on="2026-01-01"),
                                  **{"Idempotency-Key": "r"})
            QuarterApproval.objects.create(county=planned.yc, period="2026Q1", status="approved")
            retried = client.post(f"sessions/{session.pk}/record", record_body(session, follow_up_on="2026-01-01"),
                                  **{"Idempotency-Key": "r"})
        assert (refused.status_code, retried.status_code) == (400, 423)
