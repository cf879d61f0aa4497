"""Loading the State Council's notice of 2027 onto a year planned as an estimate, through the
command and the page: the placeholder refused, the past left alone, hand-moved sessions on a
new day off listed, notified and flagged, the summary printed once."""

import datetime
import logging
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError
from django.urls import reverse

from mch_link.models import Contract
from scheduling.calendar_rules import possible_bridge_days, statutory_days_off
from scheduling.models import Notification, Session, WorkYear
from scheduling.services import schedule_generate, session_move

from .test_load_workdays import NOTICE_DAYS, holidays_2027, run, state, upload, write

pytestmark = pytest.mark.django_db
TZ = datetime.timezone(datetime.timedelta(hours=8))
NOW = datetime.datetime(2026, 11, 29, 10, 0, tzinfo=TZ)
PLACEHOLDER = Path(__file__).parent / "holiday_cn" / "2027.json"
FRI_15_JAN = datetime.date(2027, 1, 15)


@pytest.fixture
def planned_2027(world):
    """Two 2027 contracts of 塔山's health centre planned in November 2026, before the notice."""
    for centre in (world.sunny, world.little):
        Contract.objects.create(provider=world.tashan_chc, centre=centre, status="signed",
                                signed_on=datetime.date(2026, 11, 1), valid_from=datetime.date(2027, 1, 1),
                                valid_to=datetime.date(2027, 12, 31))
    with time_machine.travel(NOW, tick=False):
        schedule_generate(year=2027, today=NOW.date())
    return world


def test_the_estimate_plans_no_session_on_a_statutory_day_off_nor_a_likely_bridge_day(planned_2027):
    days = set(Session.objects.filter(date__year=2027).values_list("date", flat=True))
    assert len(days) > 10
    assert not days & set(statutory_days_off(2027))
    assert not days & set(possible_bridge_days(2027))
    row = WorkYear.objects.get(year=2027)
    assert row.estimated and row.source == "估计：按法定节假日推算"
    assert not Session.objects.filter(date__year=2027, estimated=False).exists()


@time_machine.travel(NOW, tick=False)
def test_the_placeholder_file_is_refused_and_the_year_stays_estimated(planned_2027):
    before = state()
    with pytest.raises(CommandError) as refused:
        run(PLACEHOLDER)
    assert "占位文件" in str(refused.value) and "未写入任何数据" in str(refused.value)
    assert state() == before
    assert WorkYear.objects.get(year=2027).estimated


@time_machine.travel(NOW, tick=False)
def test_the_page_refuses_the_placeholder_and_explains_where_the_notice_comes_from(planned_2027, client):
    before = state()
    client.force_login(planned_2027.alice)
    page = upload(client, PLACEHOLDER.read_text(encoding="utf-8")).content.decode()
    assert "占位文件" in page and "未写入任何数据" in page
    assert state() == before
    page = client.get(reverse("scheduling:workdays"), {"year": 2027}).content.decode()
    assert "国务院办公厅" in page and "www.gov.cn" in page and "github.com/NateScarlet/holiday-cn" in page
    assert "如 2027.json" not in page


def test_the_page_shows_an_estimated_year_in_chinese_with_its_holidays_and_bridges(planned_2027, client):
    client.force_login(planned_2027.alice)
    page = client.get(reverse("scheduling:workdays"), {"year": 2027}).content.decode()
    assert "估计：按法定节假日推算" in page and "estimated" not in page
    assert "2027-02-05" in page and "春节" in page and "中秋节" in page and "可能调休" in page
    assert "—</td>" not in page  # every day has its name


def test_the_page_names_the_days_of_a_year_from_the_package(world, client):
    from scheduling.services import workyear_ensure

    workyear_ensure(2026)  # from chinese-calendar: dates only
    client.force_login(world.alice)
    page = client.get(reverse("scheduling:workdays"), {"year": 2026}).content.decode()
    assert "国庆节" in page and "—</td>" not in page


@time_machine.travel(NOW, tick=False)
def test_the_summary_is_printed_once_and_not_logged_again(planned_2027, tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        out = run(write(tmp_path, holidays_2027()))
    assert out.count("2027 年排期") == 1
    assert not [r for r in caplog.records if "2027 年排期" in r.getMessage()]


def test_no_past_session_is_moved_by_a_notice_loaded_late(planned_2027, tmp_path):
    past = Session.objects.filter(date__year=2027, date__lt=datetime.date(2027, 3, 1)).order_by("date").first()
    future = Session.objects.filter(date__gte=datetime.date(2027, 3, 10)).order_by("date").first()
    extra = [{"name": "临时", "date": d.isoformat(), "isOffDay": True} for d in (past.date, future.date)]
    with time_machine.travel(datetime.datetime(2027, 3, 1, 9, 0, tzinfo=TZ), tick=False):
        out = run(write(tmp_path, holidays_2027(*extra)))
    assert Session.objects.filter(pk=past.pk).values_list("date", "sequence").get() == (past.date, 0)
    assert Session.objects.get(pk=future.pk).date != future.date
    assert f"#{past.pk} " not in out


@time_machine.travel(NOW, tick=False)
def test_a_hand_moved_session_on_a_new_day_off_is_listed_notified_and_flagged(planned_2027, tmp_path, client):
    world = planned_2027
    session = Session.objects.filter(date__month=1, date__year=2027).exclude(date=FRI_15_JAN).order_by("date").first()
    session_move(session=session, user=world.carol, day=FRI_15_JAN, start=datetime.time(9), end=datetime.time(11),
                 reason="园方要求")
    out = run(write(tmp_path, holidays_2027({"name": "临时", "date": "2027-01-15", "isOffDay": True})))
    session.refresh_from_db()
    assert session.date == FRI_15_JAN and session.needs_decision_on == FRI_15_JAN and not session.estimated
    assert "需要决定 needs a decision: 1" in out
    assert f"#{session.pk} 2027-01-15：人工安排的场次落在非工作日" in out
    (note,) = Notification.objects.filter(user=world.carol, key__startswith="decision:")
    assert "01月15日" in note.title and f"#{session.pk}" in note.body
    run(write(tmp_path, holidays_2027({"name": "临时", "date": "2027-01-15", "isOffDay": True})))
    assert Notification.objects.filter(key__startswith="decision:").count() == 1  # told once
    client.force_login(world.carol)
    page = client.get(reverse("scheduling:provider_plan"), {"quarter": "2027Q1"}).content.decode()
    assert page.count("需要决定：该日放假") == 1
    # Moved again by hand to a working day: no longer flagged on the plan.
    session_move(session=session, user=world.carol, day=datetime.date(2027, 1, 19), start=datetime.time(9),
                 end=datetime.time(11), reason="改到工作日")
    page = client.get(reverse("scheduling:provider_plan"), {"quarter": "2027Q1"}).content.decode()
    assert "需要决定：该日放假" not in page


def test_the_notice_fixture_is_a_valid_notice():
    from scheduling.workdays import read_notice

    assert len(read_notice(holidays_2027(), "2027.json").days_off) == sum(d["isOffDay"] for d in NOTICE_DAYS)
