"""Each change of the daily work is one model method doing the whole protocol: its guard, the
quarter lock (Locked, HTTP 423), the row version (Conflict, HTTP 409), the calendar sequence
and the audit row. Nothing is written when a change is refused."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mch_link.errors import CONFLICT_MESSAGE, LOCKED_MESSAGE, Conflict, Locked, status_of
from mch_link.models import AuditEvent
from scheduling.models import Obligation, QuarterApproval, Record, RecordCentre, Session
from scheduling.services import work_years_for
from tests.scheduling import test_daily_work as daily

planned = daily.planned  # the fixture: one contract of 塔山's health centre with 阳光托育园, planned for 2026
at = daily.at

pytestmark = pytest.mark.django_db
T = datetime.time


def approve(county, period="2026Q1", status="approved"):
    return QuarterApproval.objects.create(county=county, period=period, status=status)


def actions(obj):
    return list(AuditEvent.objects.filter(model=obj._meta.model_name, object_id=str(obj.pk))
                .order_by("pk").values_list("action", flat=True))


def content(day, **extra):
    data = {"held_on": day, "start": T(9), "end": T(11), "topics": [], "topics_other": "",
            "content": "检查晨检与消毒记录", "findings": {"膳食": "符合要求"}, "advice": "",
            "follow_up_on": None}
    return data | extra


def reschedule(session, day, **kwargs):
    kwargs.setdefault("by", None)
    kwargs.setdefault("reason", "园所体检日")
    session.reschedule(day, T(14), T(16), work_year=work_years_for([day.year])[day.year], **kwargs)


def unchanged(session):
    fresh = Session.objects.get(pk=session.pk)
    return (fresh.date, fresh.status, fresh.sequence, fresh.version) == (session.date, session.status, 0, 1) \
        and actions(session) == []


class TestTheQuarterLock:
    def test_an_approved_quarter_of_the_sessions_county_locks_it(self, planned):
        approve(planned.yc)
        assert planned.guidance.is_locked()

    @pytest.mark.parametrize("county, period, status", [
        ("yc", "2026Q1", "reopened"),
        ("kq", "2026Q1", "approved"),
        ("yc", "2026Q2", "approved"),
    ])
    def test_a_reopened_quarter_another_county_or_quarter_does_not(self, planned, county, period, status):
        approve(getattr(planned, county), period, status)
        assert not planned.guidance.is_locked()

    def test_a_quarterly_obligation_locks_its_session_held_in_the_grace_days(self, planned):
        session = planned.guidance
        Session.objects.filter(pk=session.pk).update(date=datetime.date(2026, 4, 7))
        session.refresh_from_db()
        approve(planned.yc, "2026Q1")
        assert session.is_locked()


class TestSessionReschedule:
    def test_it_moves_pins_raises_sequence_and_version_and_audits(self, planned):
        session = planned.guidance
        day = session.date + datetime.timedelta(days=7)
        with at(session.date - datetime.timedelta(days=5)):
            reschedule(session, day, by=planned.carol, version=1)
        session.refresh_from_db()
        assert (session.date, session.start, session.pinned, session.change_reason) == (day, T(14), True, "园所体检日")
        assert (session.sequence, session.version) == (1, 2)
        event = AuditEvent.objects.get(model="session", object_id=str(session.pk))
        assert (event.action, event.user, event.reason) == ("move", planned.carol, "园所体检日")
        assert event.after["date"] == day.isoformat() and event.after["sequence"] == 1

    def test_it_is_refused_in_an_approved_quarter(self, planned):
        approve(planned.yc)
        with pytest.raises(Locked, match="已审核锁定"):
            reschedule(planned.guidance, planned.guidance.date + datetime.timedelta(days=7))
        assert unchanged(planned.guidance)

    def test_it_is_refused_into_an_approved_quarter(self, planned):
        approve(planned.yc, "2026Q2")
        with pytest.raises(Locked):
            reschedule(planned.guidance, datetime.date(2026, 4, 7))
        assert unchanged(planned.guidance)

    def test_it_is_refused_against_a_stale_version(self, planned):
        Session.objects.filter(pk=planned.guidance.pk).update(version=2)  # someone saved meanwhile
        with at(planned.guidance.date - datetime.timedelta(days=5)), pytest.raises(Conflict, match="已被他人修改"):
            reschedule(planned.guidance, planned.guidance.date + datetime.timedelta(days=7), version=1)
        fresh = Session.objects.get(pk=planned.guidance.pk)
        assert (fresh.date, fresh.sequence, fresh.version) == (planned.guidance.date, 0, 2)
        assert actions(planned.guidance) == []


class TestSessionCancelAndHold:
    def test_cancel_raises_sequence_and_version_and_audits(self, planned):
        planned.guidance.cancel(by=planned.carol, reason="园所停托")
        session = Session.objects.get(pk=planned.guidance.pk)
        assert (session.status, session.sequence, session.version, session.change_reason) == \
            ("cancelled", 1, 2, "园所停托")
        assert actions(session) == ["cancel"]

    def test_cancel_is_refused_in_an_approved_quarter(self, planned):
        approve(planned.yc)
        with pytest.raises(Locked):
            planned.guidance.cancel(by=planned.carol, reason="园所停托")
        assert unchanged(planned.guidance)

    def test_hold_raises_sequence_and_version_and_leaves_the_audit_to_the_record(self, planned):
        g = planned.guidance
        g.hold(by=planned.dan, day=g.date, start=g.start, end=g.end)
        session = Session.objects.get(pk=planned.guidance.pk)
        assert (session.status, session.pinned, session.sequence, session.version) == ("held", True, 1, 2)
        assert actions(session) == []


@pytest.fixture
def submitted(planned):
    with at(planned.day_after):
        record = Record(session=planned.guidance, doctor=planned.dan)
        record.submit(content(planned.guidance.date), by=planned.dan, centre_ids=[planned.sunny.pk])
    planned.record = Record.objects.get()
    planned.part = RecordCentre.objects.get()
    return planned


class TestRecord:
    def test_submit_holds_the_session_counts_the_obligation_done_and_audits(self, submitted):
        record, session = submitted.record, Session.objects.get(pk=submitted.guidance.pk)
        assert (record.status, record.version) == ("submitted", 1)
        assert (session.status, session.sequence, session.version) == ("held", 1, 2)
        assert Obligation.objects.get(sessions=session).done_on == session.date
        assert actions(record) == ["submit"] and actions(session) == []
        assert submitted.part.confirmation == "unconfirmed"

    def test_amend_raises_the_version_and_audits_before_and_after(self, submitted):
        record = submitted.record
        with at(submitted.day_after):
            record.amend(content(submitted.guidance.date, content="补充膳食检查"), by=submitted.dan,
                         centre_ids=[submitted.sunny.pk], version=1)
        record.refresh_from_db()
        assert (record.content, record.version) == ("补充膳食检查", 2)
        event = AuditEvent.objects.get(model="record", action="amend")
        assert (event.before["content"], event.after["content"]) == ("检查晨检与消毒记录", "补充膳食检查")

    def test_amend_against_a_stale_version_raises_conflict_and_keeps_the_first(self, submitted):
        with at(submitted.day_after):
            submitted.record.amend(content(submitted.guidance.date, content="第一位"), by=submitted.dan,
                                   centre_ids=[submitted.sunny.pk], version=1)
            stale = Record.objects.get()
            stale.version = 1
            with pytest.raises(Conflict):
                stale.amend(content(submitted.guidance.date, content="第二位"), by=submitted.dan,
                            centre_ids=[submitted.sunny.pk], version=1)
        assert Record.objects.values_list("content", "version").get() == ("第一位", 2)
        assert actions(submitted.record) == ["submit", "amend"]

    def test_a_record_in_an_approved_quarter_is_refused(self, submitted):
        approve(submitted.yc)
        with at(datetime.date(2026, 4, 20)), pytest.raises(Locked):
            submitted.record.amend(content(submitted.guidance.date, content="锁定后"), by=submitted.dan,
                                   centre_ids=[submitted.sunny.pk], version=1)
        assert Record.objects.values_list("content", "version").get() == ("检查晨检与消毒记录", 1)
        assert actions(submitted.record) == ["submit"]


class TestRecordCentre:
    def test_confirm_raises_the_version_and_audits(self, submitted):
        part = submitted.part
        part.confirm(by=submitted.fay, version=1)
        part.refresh_from_db()
        assert (part.confirmation, part.confirmed_by, part.version) == ("confirmed", submitted.fay, 2)
        assert actions(part) == ["confirm"]

    def test_dispute_needs_a_reason(self, submitted):
        with pytest.raises(ValidationError) as refused:
            submitted.part.dispute(by=submitted.fay, reason=" ", version=1)
        assert "reason" in refused.value.error_dict
        assert RecordCentre.objects.values_list("confirmation", "version").get() == ("unconfirmed", 1)

    def test_dispute_keeps_the_reason_and_audits_it(self, submitted):
        submitted.part.dispute(by=submitted.fay, reason="当天未检查膳食", version=1)
        assert RecordCentre.objects.values_list("confirmation", "dispute_reason", "version").get() == \
            ("disputed", "当天未检查膳食", 2)
        assert AuditEvent.objects.get(model="recordcentre").reason == "当天未检查膳食"

    def test_an_answer_to_a_stale_version_raises_conflict(self, submitted):
        RecordCentre.objects.filter(pk=submitted.part.pk).update(version=2)
        with pytest.raises(Conflict):
            submitted.part.confirm(by=submitted.fay, version=1)
        assert RecordCentre.objects.values_list("confirmation", "version").get() == ("unconfirmed", 2)
        assert actions(submitted.part) == []

    def test_an_answer_in_an_approved_quarter_is_refused(self, submitted):
        approve(submitted.yc)
        with pytest.raises(Locked):
            submitted.part.confirm(by=submitted.fay)
        assert RecordCentre.objects.values_list("confirmation", "version").get() == ("unconfirmed", 1)


class TestObligationResolve:
    def test_a_waiver_is_audited_and_cancels_the_session_it_leaves_empty(self, planned):
        ob = Obligation.objects.get(sessions=planned.guidance)
        ob.resolve("waived", by=planned.carol, reason="园所装修停托")
        ob.refresh_from_db()
        assert (ob.resolution, ob.resolution_reason) == ("waived", "园所装修停托")
        assert actions(ob) == ["waive"]
        session = Session.objects.get(pk=planned.guidance.pk)
        assert (session.status, session.sequence, session.version) == ("cancelled", 1, 2)
        assert session.change_reason == "服务义务已免除：园所装修停托"
        assert AuditEvent.objects.get(model="session").reason == "园所装修停托"

    def test_it_is_refused_in_the_obligations_approved_quarter(self, planned):
        ob = Obligation.objects.get(sessions=planned.guidance)
        assert ob.period == "2026Q1"
        approve(planned.yc)
        with pytest.raises(Locked):
            ob.resolve("cancelled", by=planned.carol, reason="x")
        assert Obligation.objects.get(pk=ob.pk).resolution == "" and actions(ob) == []
        assert unchanged(planned.guidance)


class TestHttpStatus:
    @pytest.mark.parametrize("exc, code", [(Conflict(), 409), (Locked(), 423), (ValidationError("x"), 400)])
    def test_each_refusal_has_its_code_and_is_still_a_validation_error(self, exc, code):
        assert status_of(exc) == code and isinstance(exc, ValidationError)

    def test_the_messages_are_the_ones_users_saw(self):
        assert Conflict().messages == [CONFLICT_MESSAGE] and "已被他人修改" in CONFLICT_MESSAGE
        assert Locked().messages == [LOCKED_MESSAGE] and "已审核锁定" in LOCKED_MESSAGE

    def move(self, client, session, **extra):
        return client.post(reverse("scheduling:session_move", args=[session.pk]), {
            "date": (session.date + datetime.timedelta(days=7)).isoformat(), "start": "14:00", "end": "16:00",
            "reason": "园所体检日", **extra})

    def test_a_stale_move_answers_409(self, planned, client):
        Session.objects.filter(pk=planned.guidance.pk).update(version=2)
        client.force_login(planned.carol)
        with at(planned.guidance.date - datetime.timedelta(days=5)):
            response = self.move(client, planned.guidance, version=1)
        assert response.status_code == 409 and "已被他人修改" in response.content.decode()

    def test_a_move_in_an_approved_quarter_answers_423(self, planned, client):
        approve(planned.yc)
        client.force_login(planned.carol)
        with at(planned.guidance.date - datetime.timedelta(days=5)):
            response = self.move(client, planned.guidance, version=1)
        assert response.status_code == 423 and "已审核锁定" in response.content.decode()
        assert unchanged(planned.guidance)

    def test_a_record_in_an_approved_quarter_answers_423(self, submitted, client):
        approve(submitted.yc)
        client.force_login(submitted.dan)
        with at(datetime.date(2026, 4, 20)):
            response = daily.log(client, submitted.guidance, content="锁定后修改", version="1")
        assert response.status_code == 423 and "已审核锁定" in response.content.decode()
        assert Record.objects.get().content == "检查晨检与消毒记录"

    def test_an_invalid_move_still_answers_400(self, planned, client):
        client.force_login(planned.carol)
        with at(planned.guidance.date - datetime.timedelta(days=5)):
            response = self.move(client, planned.guidance, reason="")
        assert response.status_code == 400
