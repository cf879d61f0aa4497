"""The audit trail as a person reads it (issue 13): Chinese labels and actions, Beijing time,
names not ids, the person and their organisation, the attendance a dispute changed; the
bureaus' filterable list and its CSV, scoped to their city or county."""

import csv
import datetime
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mch_link.audit import audit_change
from mch_link.models import AuditEvent, Role
from mch_link.services import contract_terminate
from scheduling.models import RecordCentre, Session
from scheduling.services import schedule_generate
from scheduling.services.quarters import quarter_approve
from tests import factories as f

pytestmark = pytest.mark.django_db
QUERIES = 9  # + the header's unread-notification count


def at(day, hour=10, minute=0):
    """Freeze the clock at `hour`:`minute` Shanghai time (UTC+8) on `day`."""
    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, hour - 8, minute, tzinfo=datetime.UTC))


@pytest.fixture
def planned(world):
    world.contract = f.signed_contract(world.tashan_chc, world.sunny)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    world.training = Session.objects.filter(kind="staff_training").order_by("date").first()
    world.dan.first_name = "丹医生"
    world.dan.save()
    return world


def submit_training(client, world, attendance, version=None):
    data = {"held_on": world.training.date.isoformat(), "start": "09:00", "end": "11:00",
            "topics": ["意外伤害急救"], f"attendance_{world.sunny.pk}": str(attendance), "submit": "1"}
    if version is not None:
        data["version"] = str(version)
    return client.post(reverse("scheduling:record_edit", args=[world.training.pk]), data)


def submit_and_dispute(client, world):
    """dan logs 18 at the training and fay disputes it (12 came): the disputed part."""
    client.force_login(world.dan)
    assert submit_training(client, world, 18).status_code == 302
    part = RecordCentre.objects.get()
    client.force_login(world.fay)
    client.post(reverse("scheduling:record_confirm", args=[part.pk]),
                {"dispute": "1", "reason": "实到12人", "version": part.version})
    return part


@pytest.fixture
def disputed(planned, client):
    """dan logs 18 at the training, fay disputes (12 came), dan amends to 12 and resubmits, at
    10:30 Beijing time (02:30 UTC) the next day."""
    with at(planned.training.date + datetime.timedelta(days=1), 10, 30):
        part = submit_and_dispute(client, planned)
        client.force_login(planned.dan)
        assert submit_training(client, planned, 12, version=part.record.__class__.objects.get().version) \
            .status_code == 302
    client.logout()
    return planned


def test_a_disputed_attendance_and_its_reset_are_in_the_trail(disputed):
    part = AuditEvent.objects.filter(model="recordcentre").order_by("pk").last()
    assert (part.before["attendance"], part.after["attendance"]) == (18, 12)
    assert (part.before["confirmation"], part.after["confirmation"]) == ("disputed", "unconfirmed")


def test_the_session_page_reads_in_chinese_with_beijing_time(disputed, client):
    client.force_login(disputed.dan)
    html = client.get(reverse("scheduling:session_detail", args=[disputed.training.pk])).content.decode()
    assert "参加人数：18 → 12" in html
    assert "确认：有异议 → 待确认" in html
    assert "提出异议" in html and "实到12人" in html
    assert "塔山街道社区卫生服务中心（儿童保健医生）" in html and "丹医生" in html
    day = disputed.training.date + datetime.timedelta(days=1)
    assert f"{day:%Y-%m-%d} 10:30" in html and f"{day:%Y-%m-%d} 02:30" not in html
    for raw in ("submitted_at", "recordcentre", ">confirm<", "dispute_reason:", "version"):
        assert raw not in html


def test_foreign_keys_and_choices_read_by_name(planned, client):
    with at(datetime.date(2026, 6, 1)):
        contract_terminate(contract=planned.contract, terminated_on=datetime.date(2026, 6, 15), reason="停办",
                           user=planned.carol)
        quarter_approve(county=planned.yc, period="2026Q1", user=planned.bob)
    client.force_login(planned.bob)
    html = client.get(reverse("mch_link:audit_list")).content.decode()
    assert "状态：已签约 → 已终止" in html and "终止日期：— → 2026-06-15" in html
    assert "季度审核" in html and "越城区 2026Q1" in html and "QuarterApproval object" not in html
    assert "审核人：bob" in html  # a user by name, not by id


def list_rows(client, **params):
    response = client.get(reverse("mch_link:audit_list"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_filters_by_action_object_person_and_days(disputed, client):
    with at(datetime.date(2026, 11, 2)):
        contract_terminate(contract=disputed.contract, terminated_on=datetime.date(2026, 11, 15), reason="停办",
                           user=disputed.carol)
    client.force_login(disputed.bob)
    assert "实到12人" in list_rows(client) and "停办" in list_rows(client)
    assert "实到12人" in list_rows(client, action="dispute") and "停办" not in list_rows(client, action="dispute")
    assert "停办" in list_rows(client, model="contract") and "实到12人" not in list_rows(client, model="contract")
    assert "停办" in list_rows(client, user="carol") and "实到12人" not in list_rows(client, user="carol")
    autumn = {"date_from": "2026-11-01", "date_to": "2026-11-30"}
    assert "停办" in list_rows(client, **autumn) and "实到12人" not in list_rows(client, **autumn)


def test_each_bureau_sees_its_own_region_and_nobody_else_sees_the_list(disputed, client):
    kq_reviewer = f.user("kim", Role.COUNTY_REVIEWER, disputed.kq)
    other_city = f.region("330700", "金华市")
    zed = f.user("zed", Role.CITY_ADMIN, other_city)
    for who, sees in ((disputed.alice, True), (disputed.bob, True), (kq_reviewer, False), (zed, False)):
        client.force_login(who)
        assert ("实到12人" in list_rows(client)) is sees
        csv_text = client.get(reverse("mch_link:audit_list"), {"format": "csv"}).content.decode("utf-8-sig")
        assert ("实到12人" in csv_text) is sees
    for who in (disputed.dan, disputed.carol, disputed.fay):
        client.force_login(who)
        assert client.get(reverse("mch_link:audit_list")).status_code == 404
        assert client.get(reverse("mch_link:audit_list"), {"format": "csv"}).status_code == 404


def test_the_csv_has_a_bom_chinese_headers_and_no_formulas(planned, client):
    with at(datetime.date(2026, 6, 1)):
        contract_terminate(contract=planned.contract, terminated_on=datetime.date(2026, 6, 15),
                           reason="=HYPERLINK(\"http://x\")", user=planned.carol)
    client.force_login(planned.alice)
    response = client.get(reverse("mch_link:audit_list"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv") and response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["时间", "操作人", "所在单位", "操作", "对象类型", "对象", "修改内容", "原因"]
    event = rows[1]
    assert event[0] == "2026-06-01 10:00" and event[3] == "终止" and event[4] == "签约协议"
    assert event[1] == "carol" and event[2] == "塔山街道社区卫生服务中心（医疗机构管理员）"
    assert event[7] == "'=HYPERLINK(\"http://x\")"
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_the_list_query_count_does_not_grow_with_events(planned, client):
    def count():
        client.force_login(planned.alice)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("mch_link:audit_list")).status_code == 200
        return len(queries)

    with at(datetime.date(2026, 6, 1)):
        contract_terminate(contract=planned.contract, terminated_on=datetime.date(2026, 6, 15), reason="停办",
                           user=planned.carol)
    audit_change(planned.contract, user=planned.carol, action="draft")
    one = count()
    for i in range(12):
        c = f.centre(f"新托育{i}", planned.tashan)
        contract = f.signed_contract(planned.tashan_chc, c)
        audit_change(contract, user=planned.carol, action="draft")  # names its provider and centre
        with at(datetime.date(2026, 6, 1)):
            contract_terminate(contract=contract, terminated_on=datetime.date(2026, 6, 15), reason="停办",
                               user=planned.carol)
    assert AuditEvent.objects.count() == 26
    # session, user, membership, its region, count, page of events (with their people), providers, centres,
    # the header's unread notifications
    assert count() == one == QUERIES


def test_list_fields_read_as_words_and_an_answered_dispute_leaves_the_part(disputed, client):
    """The record's topics (a JSON list) read "意外伤害急救", not a Python list; once the doctor
    amended, the part is pending again and no longer shows the old reason (the trail keeps it)."""
    client.force_login(disputed.fay)
    html = client.get(reverse("scheduling:session_detail", args=[disputed.training.pk])).content.decode()
    assert "主题：意外伤害急救" in html  # the submit row of the trail
    assert "['" not in html and "[&#x27;" not in html
    assert "异议原因：实到12人" not in html
    assert "实到12人" in html  # in the trail, as the dispute's reason


def test_the_amend_form_shows_what_the_centre_disputed(planned, client):
    """The doctor answers a dispute on the record form: its centre and reason are there."""
    with at(planned.training.date + datetime.timedelta(days=1), 10, 30):
        submit_and_dispute(client, planned)
        client.force_login(planned.dan)
        html = client.get(reverse("scheduling:record_edit", args=[planned.training.pk])).content.decode()
    assert "托育机构提出异议：阳光托育园" in html and "实到12人" in html
