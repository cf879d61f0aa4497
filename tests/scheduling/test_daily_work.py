"""The daily work: doctors log, centres confirm or dispute, managers reschedule and cancel,
reviewers sign off a quarter. Every change is audited; locked quarters refuse all changes."""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mch_link.models import AuditEvent, Contract
from scheduling.models import Obligation, QuarterApproval, Record, RecordCentre, Session
from scheduling.services import schedule_generate

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%%EOF\n"


def at(day, hour=10):
    """Freeze the clock at `hour` o'clock Shanghai time (UTC+8) on `day`."""
    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, hour - 8, 0, tzinfo=datetime.UTC))


@pytest.fixture
def planned(world):
    Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, status="signed",
                            signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                            valid_to=datetime.date(2026, 12, 31))
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    world.guidance = Session.objects.filter(kind="guidance").order_by("date").first()
    world.training = Session.objects.filter(kind="staff_training").order_by("date").first()
    world.day_after = world.guidance.date + datetime.timedelta(days=1)
    return world


def record_post(day, **extra):
    data = {"held_on": day.isoformat(), "start": "09:00", "end": "11:00", "content": "检查晨检与消毒记录",
            "finding_0": "一日生活安排合理", "finding_4": "消毒记录不全", "advice": "补全消毒记录",
            "follow_up_on": (day + datetime.timedelta(days=30)).isoformat(), "submit": "1"}
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def log(client, session, **extra):
    return client.post(reverse("scheduling:record_edit", args=[session.pk]), record_post(
        extra.pop("day", session.date), **extra))


class TestRecordValidation:
    @pytest.mark.parametrize("field, value, message", [
        ("held_on", "2099-01-01", "不能晚于今天"),
        ("held_on", "2025-12-20", "不能早于服务周期开始"),
        ("end", "08:00", "结束时间应晚于开始时间"),
        ("follow_up_on", "2026-01-01", "复查日期应晚于实际日期"),
        ("follow_up_on", "", "请填写复查日期"),
        ("content", "", None),
    ])
    def test_each_field_rule_is_enforced_and_nothing_is_saved(self, planned, client, field, value, message):
        client.force_login(planned.dan)
        with at(planned.day_after):
            extra = {field: value}
            if field == "content":
                extra.update({"finding_0": "", "finding_4": "", "advice": "", "follow_up_on": ""})
                message = "提交前请"
            response = log(client, planned.guidance, **extra)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Record.objects.exists()

    def test_every_error_shows_in_one_round(self, planned, client):
        """The form's own errors and the record's rules (Record.clean_content) together: the
        doctor fixes everything at once instead of meeting a second list after the first."""
        client.force_login(planned.dan)
        with at(planned.day_after):
            response = log(client, planned.guidance, content="", finding_0="", finding_4="", end="08:00",
                           follow_up_on=planned.guidance.date.isoformat())
        assert response.status_code == 400
        html = response.content.decode()
        assert "提交前请填写服务主题或内容" in html  # the form's
        assert "提交前请至少填写一个方面的检查发现" in html  # the form's
        assert "结束时间应晚于开始时间" in html  # the record's
        assert "复查日期应晚于实际日期" in html  # the record's
        assert not Record.objects.exists()

    def test_a_photo_is_kept_across_a_failed_submit(self, planned, client, settings):
        client.force_login(planned.dan)
        url = reverse("scheduling:record_edit", args=[planned.guidance.pk])
        with at(planned.day_after):
            response = log(client, planned.guidance, content="", finding_0="", finding_4="", advice="",
                           follow_up_on="", files=SimpleUploadedFile("现场照片.png", PNG, "image/png"))
            assert response.status_code == 400
            held = response.context["held"]
            assert [name for _token, name in held] == ["现场照片.png"]
            html = response.content.decode()
            assert "不必重新选择" in html and 'name="pending"' in html and "现场照片.png" in html
            token = held[0][0]
            # the same token is refused for another session, and for another doctor
            other = Session.objects.filter(kind="guidance").exclude(pk=planned.guidance.pk).order_by("date").first()
            again = client.post(reverse("scheduling:record_edit", args=[other.pk]),
                                {**record_post(other.date, content="", finding_0="", finding_4="", advice="",
                                               follow_up_on=""), "pending": token})
            assert again.context["held"] == []
            # fixed, sent again without picking the photo: it is attached
            assert client.post(url, {**record_post(planned.guidance.date), "pending": token}).status_code == 302
        attachment = Record.objects.get().attachments.get()
        assert attachment.original_name == "现场照片.png" and attachment.file.read() == PNG
        pending_dir = settings.MEDIA_ROOT / "pending" / str(planned.guidance.pk)
        assert list(pending_dir.iterdir()) == []  # the held copy is gone

    def test_a_held_photo_that_expired_stops_the_submit_with_a_word(self, planned, client):
        """A photo held over a failed submit expires after a day (pending.MAX_AGE): sent back
        later, it is not dropped without a word (the record would be saved without it). The
        submit stops, says how many photos were lost and asks for them again; nothing is saved."""
        client.force_login(planned.dan)
        url = reverse("scheduling:record_edit", args=[planned.guidance.pk])
        with at(planned.day_after, hour=9):
            held = log(client, planned.guidance, content="", finding_0="", finding_4="", advice="",
                       follow_up_on="", files=SimpleUploadedFile("现场照片.png", PNG, "image/png")).context["held"]
        token = held[0][0]
        with at(planned.day_after + datetime.timedelta(days=1), hour=10):  # a day and an hour later
            response = client.post(url, {**record_post(planned.guidance.date), "pending": token})
            assert response.status_code == 400
            assert "1 张之前保留的照片已过期" in response.content.decode()
            assert response.context["held"] == []
            assert not Record.objects.exists()
            # picked again, it goes through
            again = client.post(url, {**record_post(planned.guidance.date),
                                      "files": SimpleUploadedFile("现场照片.png", PNG, "image/png")})
            assert again.status_code == 302
        assert Record.objects.get().attachments.get().original_name == "现场照片.png"

    def test_held_photos_count_towards_the_limit_of_attachments(self, planned, client, settings):
        """Failed submits cannot pile up more than MAX_ATTACHMENTS photos for one record."""
        from scheduling.forms import MAX_ATTACHMENTS

        client.force_login(planned.dan)
        bad = {"content": "", "finding_0": "", "finding_4": "", "advice": "", "follow_up_on": ""}
        photos = [SimpleUploadedFile(f"照片{i}.png", PNG, "image/png") for i in range(MAX_ATTACHMENTS - 1)]
        with at(planned.day_after):
            held = log(client, planned.guidance, **bad, files=photos).context["held"]
            assert len(held) == MAX_ATTACHMENTS - 1
            url = reverse("scheduling:record_edit", args=[planned.guidance.pk])
            more = [SimpleUploadedFile(f"又{i}.png", PNG, "image/png") for i in range(2)]
            response = client.post(url, {**record_post(planned.guidance.date), "pending": [t for t, _n in held],
                                         "files": more})
            assert response.status_code == 400
            assert f"附件最多 {MAX_ATTACHMENTS} 个：已保留 {MAX_ATTACHMENTS - 1} 个，本次最多再选 1 个" in \
                response.content.decode()
            assert len(response.context["held"]) == MAX_ATTACHMENTS - 1  # the two new ones were not held
        assert not Record.objects.exists()
        assert len(list((settings.MEDIA_ROOT / "pending" / str(planned.guidance.pk)).iterdir())) == MAX_ATTACHMENTS - 1

    def test_a_held_photo_unticked_is_not_attached(self, planned, client):
        client.force_login(planned.dan)
        with at(planned.day_after):
            log(client, planned.guidance, content="", finding_0="", finding_4="", advice="", follow_up_on="",
                files=SimpleUploadedFile("错拍.png", PNG, "image/png"))
            assert log(client, planned.guidance).status_code == 302  # the box unticked: no token sent
        assert not Record.objects.get().attachments.exists()

    def test_a_manager_may_allow_a_record_before_the_period(self, planned, client):
        Session.objects.filter(pk=planned.guidance.pk).update(allow_early_record=True)
        client.force_login(planned.dan)
        with at(planned.day_after):
            assert log(client, planned.guidance, day=datetime.date(2025, 12, 20)).status_code == 302

    def test_a_training_needs_the_attendance_of_each_centre(self, planned, client):
        client.force_login(planned.dan)
        with at(planned.training.date + datetime.timedelta(days=1)):
            response = client.post(reverse("scheduling:record_edit", args=[planned.training.pk]), {
                "held_on": planned.training.date.isoformat(), "start": "09:00", "end": "11:00",
                "topics": ["意外伤害急救"], "submit": "1"})
            assert "提交前请填写参加人数" in response.content.decode()
            response = client.post(reverse("scheduling:record_edit", args=[planned.training.pk]), {
                "held_on": planned.training.date.isoformat(), "start": "09:00", "end": "11:00",
                "topics": ["意外伤害急救"], f"attendance_{planned.sunny.pk}": "-3", "submit": "1"})
            assert response.status_code == 400
            response = client.post(reverse("scheduling:record_edit", args=[planned.training.pk]), {
                "held_on": planned.training.date.isoformat(), "start": "09:00", "end": "11:00",
                "topics": ["意外伤害急救"], f"attendance_{planned.sunny.pk}": "12", "submit": "1"})
        assert response.status_code == 302
        assert RecordCentre.objects.get().attendance == 12

    def test_attachments_are_limited_by_type(self, planned, client):
        client.force_login(planned.dan)
        with at(planned.day_after):
            response = log(client, planned.guidance, files=SimpleUploadedFile("x.exe", b"MZ\x90", "image/png"))
        assert response.status_code == 400 and "只接受" in response.content.decode()

    def test_a_draft_is_saved_and_finished_later(self, planned, client):
        client.force_login(planned.dan)
        with at(planned.day_after):
            post = record_post(planned.guidance.date, content="", finding_0="", finding_4="", advice="",
                               follow_up_on="")
            post.pop("submit")
            post["save"] = "1"
            assert client.post(reverse("scheduling:record_edit", args=[planned.guidance.pk]), post).status_code == 302
            record = Record.objects.get()
            assert record.status == "draft"
            assert not Obligation.objects.filter(done_on__isnull=False).exists()
            assert log(client, planned.guidance, version=str(record.version)).status_code == 302
        assert Record.objects.get().status == "submitted"


def test_the_whole_cycle_log_dispute_amend_confirm(planned, client):
    session = planned.guidance
    with at(planned.day_after):
        client.force_login(planned.dan)
        photo = SimpleUploadedFile("现场.png", PNG, "image/png")
        assert log(client, session, files=photo).status_code == 302
        ob = Obligation.objects.get(sessions=session)
        assert (ob.done_on, ob.status) == (session.date, "done_on_time")
        part = RecordCentre.objects.get()
        assert part.confirmation == "unconfirmed"

        client.force_login(planned.fay)
        assert "阳光托育园" in client.get(reverse("scheduling:centre_records")).content.decode()
        client.post(reverse("scheduling:record_confirm", args=[part.pk]),
                    {"dispute": "1", "reason": "当天未检查膳食", "version": part.version})
        part.refresh_from_db()
        assert (part.confirmation, part.dispute_reason) == ("disputed", "当天未检查膳食")

        client.force_login(planned.dan)
        record = Record.objects.get()
        assert log(client, session, content="补充：膳食未检查，已更正", version=str(record.version)).status_code == 302
        part.refresh_from_db()
        assert part.confirmation == "unconfirmed"

        client.force_login(planned.fay)
        client.post(reverse("scheduling:record_confirm", args=[part.pk]), {"confirm": "1", "version": part.version})
        part.refresh_from_db()
        assert part.confirmation == "confirmed" and part.confirmed_by == planned.fay

        html = client.get(reverse("scheduling:session_detail", args=[session.pk])).content.decode()
        assert "已确认" in html and "补充：膳食未检查，已更正" in html
    actions = list(AuditEvent.objects.order_by("at", "pk").values_list("model", "action"))
    assert actions == [("record", "submit"), ("recordcentre", "dispute"), ("record", "amend"),
                       ("recordcentre", "amend"), ("recordcentre", "confirm")]
    reset = AuditEvent.objects.get(model="recordcentre", action="amend")  # disputed -> unconfirmed is on the record
    assert (reset.before["confirmation"], reset.after["confirmation"]) == ("disputed", "unconfirmed")
    amend = AuditEvent.objects.get(model="record", action="amend")
    assert amend.before["content"] == "检查晨检与消毒记录" and amend.after["content"] == "补充：膳食未检查，已更正"


def test_a_concurrent_save_is_refused_and_loses_nothing(planned, client):
    with at(planned.day_after):
        client.force_login(planned.dan)
        log(client, planned.guidance)
        record = Record.objects.get()
        shown = str(record.version)
        assert log(client, planned.guidance, content="第一位的修改", version=shown).status_code == 302
        response = log(client, planned.guidance, content="第二位的修改", version=shown)
    assert response.status_code == 409
    assert "已被他人修改" in response.content.decode()
    assert Record.objects.get().content == "第一位的修改"


class TestRescheduling:
    def test_a_move_to_a_working_day_is_audited_and_raises_the_sequence(self, planned, client):
        session = planned.guidance
        new_day = session.date + datetime.timedelta(days=7)
        client.force_login(planned.carol)
        with at(session.date - datetime.timedelta(days=5)):
            page = client.get(reverse("scheduling:session_move", args=[session.pk]), {"date": new_day.isoformat()})
            assert "本机构当天已有" in page.content.decode()
            response = client.post(reverse("scheduling:session_move", args=[session.pk]), {
                "date": new_day.isoformat(), "start": "14:00", "end": "16:00", "reason": "园所体检日",
                "version": session.version})
        assert response.status_code == 302
        session.refresh_from_db()
        assert (session.date, session.sequence, session.pinned) == (new_day, 1, True)
        event = AuditEvent.objects.get(model="session", action="move")
        assert event.reason == "园所体检日" and event.after["date"] == new_day.isoformat()
        # the planner keeps a session moved by hand
        report = schedule_generate(year=2026, today=datetime.date(2026, 1, 6))
        assert report.moved == [] and Session.objects.get(pk=session.pk).date == new_day

    @pytest.mark.parametrize("day, message", [
        (datetime.date(2026, 10, 1), "不是工作日"),
        (datetime.date(2026, 1, 3), "不是工作日"),
        (datetime.date(2026, 6, 1), "新日期应在服务周期内"),
    ])
    def test_a_move_off_working_days_or_out_of_the_period_is_refused(self, planned, client, day, message):
        client.force_login(planned.dan)
        with at(datetime.date(2026, 1, 5)):
            response = client.post(reverse("scheduling:session_move", args=[planned.guidance.pk]), {
                "date": day.isoformat(), "start": "09:00", "end": "11:00", "reason": "x"})
        assert response.status_code == 400 and message in response.content.decode()
        assert Session.objects.get(pk=planned.guidance.pk).sequence == 0

    def test_a_late_date_inside_the_grace_days_is_allowed(self, planned, client):
        client.force_login(planned.dan)
        with at(datetime.date(2026, 1, 5)):
            response = client.post(reverse("scheduling:session_move", args=[planned.guidance.pk]), {
                "date": "2026-04-07", "start": "09:00", "end": "11:00", "reason": "疫情推迟"})
        assert response.status_code == 302

    def test_the_form_warns_above_capacity(self, planned, client):
        day = planned.guidance.date + datetime.timedelta(days=7)
        for i in range(4):
            Session.objects.create(provider=planned.tashan_chc, kind="guidance", date=day,
                                   start=datetime.time(9), end=datetime.time(11), doctor_slot=i % 2)
        client.force_login(planned.dan)
        html = client.get(reverse("scheduling:session_move", args=[planned.guidance.pk]),
                          {"date": day.isoformat()}).content.decode()
        assert "超出接待能力" in html

    def test_a_manager_cancels_an_obligation_with_a_reason(self, planned, client):
        ob = Obligation.objects.get(sessions=planned.guidance)
        client.force_login(planned.carol)
        client.post(reverse("scheduling:obligation_resolve", args=[ob.pk]),
                    {"resolution": "waived", "reason": "园所装修停托"})
        ob.refresh_from_db()
        assert (ob.resolution, ob.resolution_reason, ob.status) == ("waived", "园所装修停托", "waived")
        session = Session.objects.get(pk=planned.guidance.pk)
        assert session.status == "cancelled" and session.sequence == 1
        assert AuditEvent.objects.filter(model="obligation", action="waive").exists()


def test_an_approved_quarter_refuses_every_change_until_reopened(planned, client):
    with at(planned.day_after):
        client.force_login(planned.dan)
        log(client, planned.guidance)
    part = RecordCentre.objects.get()
    with at(datetime.date(2026, 4, 20)):
        client.force_login(planned.bob)
        client.post(reverse("scheduling:quarter_action"),
                    {"county": "330602", "period": "2026Q1", "approve": "1", "confirmed": "1"})
        assert QuarterApproval.objects.get().status == "approved"
        client.force_login(planned.dan)
        response = log(client, planned.guidance, content="锁定后修改", version=str(Record.objects.get().version))
        assert "已审核锁定" in response.content.decode()
        other = Session.objects.filter(date__lt=datetime.date(2026, 4, 1), status="planned").first()
        response = client.post(reverse("scheduling:session_move", args=[other.pk]), {
            "date": "2026-03-02", "start": "09:00", "end": "11:00", "reason": "x"})
        assert "已审核锁定" in response.content.decode()
        client.force_login(planned.fay)
        client.post(reverse("scheduling:record_confirm", args=[part.pk]), {"confirm": "1"})
        client.force_login(planned.carol)
        client.post(reverse("scheduling:obligation_resolve", args=[Obligation.objects.get(sessions=other).pk]),
                    {"resolution": "cancelled", "reason": "x"})
        assert Record.objects.get().content == "检查晨检与消毒记录"
        assert RecordCentre.objects.get().confirmation == "unconfirmed"
        assert Obligation.objects.get(sessions=other).resolution == ""

        client.force_login(planned.bob)
        client.post(reverse("scheduling:quarter_action"),
                    {"county": "330602", "period": "2026Q1", "reopen": "1", "reason": "补录记录"})
        assert QuarterApproval.objects.get().reopen_reason == "补录记录"
        client.force_login(planned.fay)
        client.post(reverse("scheduling:record_confirm", args=[part.pk]), {"confirm": "1"})
    assert RecordCentre.objects.get().confirmation == "confirmed"
    assert list(AuditEvent.objects.filter(model="quarterapproval").values_list("action", flat=True)
                .order_by("pk")) == ["approve", "reopen"]


def test_a_quarter_not_yet_over_cannot_be_approved(planned, client):
    client.force_login(planned.bob)
    with at(datetime.date(2026, 3, 20)):
        client.post(reverse("scheduling:quarter_action"), {"county": "330602", "period": "2026Q1", "confirmed": "1"})
    assert not QuarterApproval.objects.exists()


@pytest.mark.parametrize("who", ["erin", "gus"])
def test_another_organisation_gets_404_on_every_url(planned, client, who):
    with at(planned.day_after):
        client.force_login(planned.dan)
        log(client, planned.guidance, files=SimpleUploadedFile("签到表.pdf", PDF, "application/pdf"))
        part = RecordCentre.objects.get()
        ob = Obligation.objects.get(sessions=planned.guidance)
        attachment = Record.objects.get().attachments.get()
        client.force_login(getattr(planned, who))
        pk = planned.guidance.pk
        urls = [reverse("scheduling:session_detail", args=[pk]), reverse("scheduling:record_edit", args=[pk]),
                reverse("scheduling:session_move", args=[pk]), reverse("scheduling:attachment", args=[attachment.pk])]
        for url in urls:
            assert client.get(url).status_code == 404, url
        assert client.post(reverse("scheduling:record_confirm", args=[part.pk]), {"confirm": "1"}).status_code == 404
        assert client.post(reverse("scheduling:obligation_resolve", args=[ob.pk]),
                           {"resolution": "cancelled", "reason": "x"}).status_code == 404
        assert client.post(reverse("scheduling:quarter_action"),
                           {"county": "330602", "period": "2025Q4"}).status_code == 404
    part.refresh_from_db()
    ob.refresh_from_db()
    assert part.confirmation == "unconfirmed" and ob.resolution == ""


def test_the_attachment_is_served_to_the_centre_and_the_doctor(planned, client):
    with at(planned.day_after):
        client.force_login(planned.dan)
        log(client, planned.guidance, files=SimpleUploadedFile("签到表.pdf", PDF, "application/pdf"))
        attachment = Record.objects.get().attachments.get()
        for who in ("dan", "fay", "bob"):
            client.force_login(getattr(planned, who))
            response = client.get(reverse("scheduling:attachment", args=[attachment.pk]))
            assert response.status_code == 200 and b"".join(response.streaming_content) == PDF


def _every_list_filled(planned):
    """The demo's rolls depend on the centres' codes (which depend on the tests run before):
    make sure the agenda's draft and disputed lists are not empty, so every list costs its
    query and its prefetch whatever ran before."""
    from scheduling.models import Confirmation

    if not Record.objects.filter(status="draft").exists():
        free = Session.objects.filter(provider=planned.tashan_chc, status="planned", record__isnull=True) \
            .order_by("date", "pk").first()
        Record.objects.create(session=free, doctor=planned.dan, held_on=free.date, start=free.start, end=free.end)
    if not RecordCentre.objects.filter(confirmation=Confirmation.DISPUTED).exists():
        RecordCentre.objects.filter(record__status="submitted").filter(
            pk=RecordCentre.objects.filter(record__status="submitted").order_by("pk").values("pk")[:1]
        ).update(confirmation=Confirmation.DISPUTED, dispute_reason="人数不对")


# the session, user and membership; the agenda's four lists (week, overdue, drafts, disputed)
# and one read of their centres' names; the provider; the header's unread-notification count.
# The records page: its split (to confirm / answered / locked) and the unread count.
@pytest.mark.parametrize("who, url, queries", [("carol", "scheduling:agenda", 10),
                                               ("fay", "scheduling:centre_records", 9)])
def test_the_agenda_and_records_pages_keep_their_query_count(planned, client, django_assert_max_num_queries,
                                                             who, url, queries):
    """A fixed bound (each list costs its query and one prefetch) with 1 and with 6 centres."""
    from scheduling.demo import demo_records_build
    from tests import factories as f

    demo_records_build(today=datetime.date(2026, 2, 15))
    _every_list_filled(planned)
    client.force_login(getattr(planned, who))
    with at(datetime.date(2026, 3, 2)), django_assert_max_num_queries(queries):
        assert client.get(reverse(url)).status_code == 200
    for i in range(5):
        c = f.centre(f"新托育{i}", planned.tashan)
        Contract.objects.create(provider=planned.tashan_chc, centre=c, status="signed",
                                signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                                valid_to=datetime.date(2026, 12, 31))
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    demo_records_build(today=datetime.date(2026, 2, 15))
    _every_list_filled(planned)
    with at(datetime.date(2026, 3, 2)), django_assert_max_num_queries(queries):
        assert client.get(reverse(url)).status_code == 200


def test_the_session_page_keeps_its_query_count_for_a_group_training(planned, client, django_assert_max_num_queries):
    """One centre or five in a grouped training, each with its confirmation: the same bound."""
    from tests import factories as f

    training = planned.training
    with at(training.date + datetime.timedelta(days=1)):
        client.force_login(planned.dan)
        url = reverse("scheduling:record_edit", args=[training.pk])
        client.post(url, {"held_on": training.date.isoformat(), "start": "09:00", "end": "11:00",
                          "topics": ["意外伤害急救"], f"attendance_{planned.sunny.pk}": "9", "submit": "1"})
        with django_assert_max_num_queries(18) as one:  # the session read once, with its centres
            assert client.get(reverse("scheduling:session_detail", args=[training.pk])).status_code == 200
    for i in range(4):
        c = f.centre(f"组训托育{i}", planned.tashan)
        contract = Contract.objects.create(provider=planned.tashan_chc, centre=c, status="signed",
                                           signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                                           valid_to=datetime.date(2026, 12, 31))
        ob = Obligation.objects.create(contract=contract, kind="staff_training", period=training.obligations.first()
                                       .period, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 3, 31))
        training.obligations.add(ob)
        RecordCentre.objects.create(record=Record.objects.get(session=training), centre=c, attendance=5)
    with at(training.date + datetime.timedelta(days=1)), \
            django_assert_max_num_queries(len(one.captured_queries)):
        html = client.get(reverse("scheduling:session_detail", args=[training.pk])).content.decode()
    assert "组训托育3" in html


def test_the_agenda_names_each_centre_of_a_joint_training_once_by_name(world, client):
    """The cards' centres come from one read of the link table for all four lists."""
    for centre in (world.sunny, world.little):
        Contract.objects.create(provider=world.tashan_chc, centre=centre, status="signed",
                                signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                                valid_to=datetime.date(2026, 12, 31))
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    training = Session.objects.filter(kind="staff_training", obligations__contract__centre=world.little) \
        .filter(obligations__contract__centre=world.sunny).order_by("date").first()
    client.force_login(world.carol)
    with at(training.date):
        html = client.get(reverse("scheduling:agenda")).content.decode()
    today = html.split('id="today"')[1].split("<h2")[0]
    assert f'<div>{"、".join(sorted([world.sunny.name, world.little.name]))}</div>' in today
