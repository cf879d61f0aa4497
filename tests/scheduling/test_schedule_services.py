"""Obligations from contracts and the saved plan: the planner's rules seen through the database."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from mch_link.models import AuditEvent, Contract
from mch_link.services import contract_terminate
from scheduling.models import Obligation, Session, WorkDay, WorkYear
from scheduling.services import obligations_sync, schedule_generate, workyear_load

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 1, 5)


def sign(provider, centre, start, end):
    return Contract.objects.create(provider=provider, centre=centre, status="signed", signed_on=start,
                                   valid_from=start, valid_to=end)


@pytest.fixture
def signed(world):
    sign(world.tashan_chc, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    sign(world.tashan_chc, world.little, datetime.date(2026, 3, 10), datetime.date(2026, 12, 31))
    return world


def periods_of(centre):
    return sorted({o.period for o in Obligation.objects.filter(contract__centre=centre)})


def test_a_contract_starting_10_march_owes_no_q1(signed):
    obligations_sync(2026)
    assert periods_of(signed.little) == ["2026", "2026Q2", "2026Q3", "2026Q4"]
    assert periods_of(signed.sunny) == ["2026", "2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert Obligation.objects.filter(contract__centre=signed.sunny).count() == 13


def test_a_terminated_contracts_later_obligations_are_cancelled_with_the_reason(signed):
    obligations_sync(2026)
    contract = Contract.objects.get(centre=signed.sunny)
    contract_terminate(contract=contract, terminated_on=datetime.date(2026, 7, 15), reason="停办", user=signed.carol)
    obligations_sync(2026)
    cancelled = Obligation.objects.filter(contract=contract, resolution="cancelled")
    # Q3: in force 1–14 July, 14 days < 30, is no longer owed either; the supervision
    # (in force 195 days of the year) still is.
    assert sorted({o.period for o in cancelled}) == ["2026Q3", "2026Q4"]
    assert cancelled[0].resolution_reason == "协议已于 2026-07-15 终止"
    assert Obligation.objects.get(contract=contract, period="2026").resolution == ""
    assert AuditEvent.objects.filter(model="obligation", action="cancel").count() == 6


def test_generating_twice_changes_nothing(signed):
    first = schedule_generate(year=2026, today=TODAY)
    assert first.created > 0 and not first.moved and not first.cancelled
    before = list(Session.objects.values_list("pk", "date", "start", "sequence").order_by("pk"))
    second = schedule_generate(year=2026, today=TODAY)
    assert (second.created, second.moved, second.cancelled, second.obligations_created) == (0, [], [], 0)
    assert second.kept == len(before)
    assert list(Session.objects.values_list("pk", "date", "start", "sequence").order_by("pk")) == before


def test_every_obligation_gets_a_session_on_a_working_day(signed):
    schedule_generate(year=2026, today=TODAY)
    days_off = set(WorkDay.objects.filter(is_off=True).values_list("date", flat=True))
    makeup = set(WorkDay.objects.filter(is_off=False).values_list("date", flat=True))
    for s in Session.objects.all():
        assert s.date not in days_off
        assert s.date.weekday() < 5 or s.date in makeup
    assert not Obligation.objects.filter(sessions__isnull=True).exists()
    assert set(Obligation.objects.values_list("status", flat=True)) == {"planned"}


def test_a_day_off_added_later_moves_exactly_the_sessions_on_it(signed):
    schedule_generate(year=2026, today=TODAY)
    target = Session.objects.order_by("date").first()
    on_that_day = set(Session.objects.filter(date=target.date).values_list("pk", flat=True))
    others = dict(Session.objects.exclude(pk__in=on_that_day).values_list("pk", "date"))
    WorkDay.objects.create(year=WorkYear.objects.get(year=2026), date=target.date, is_off=True, name="临时")
    report = schedule_generate(year=2026, today=TODAY)
    assert {sid for sid, _old, _new, _reason in report.moved} == on_that_day
    assert all(new != target.date for _sid, _old, new, _reason in report.moved)
    assert dict(Session.objects.exclude(pk__in=on_that_day).values_list("pk", "date")) == others
    moved = Session.objects.get(pk=target.pk)
    assert moved.sequence == 1 and moved.change_reason
    assert AuditEvent.objects.filter(model="session", action="move", object_id=str(target.pk)).exists()


def test_an_estimated_year_is_marked_and_official_data_replans_it(signed):
    sign(signed.tashan_chc, signed.rice, datetime.date(2027, 1, 1), datetime.date(2027, 12, 31))
    report = schedule_generate(year=2027, today=TODAY)
    assert report.estimated
    assert Session.objects.filter(date__year=2027).exists()
    assert not Session.objects.filter(date__year=2027, estimated=False).exists()
    workyear_load({"year": 2027, "papers": ["国办发明电〔2026〕1号"], "days": [
        {"name": "元旦", "date": "2027-01-01", "isOffDay": True}]})
    report = schedule_generate(year=2027, today=TODAY)
    assert not report.estimated
    assert not Session.objects.filter(date__year=2027, estimated=True).exists()
    assert report.moved == []  # 1 January was never planned: nothing had to move


def test_the_command_prints_the_report_and_dry_run_writes_nothing(signed):
    out = StringIO()
    call_command("generate_schedule", "--year", "2026", "--dry-run", stdout=out)
    assert "新建场次 sessions created:" in out.getvalue()
    assert Session.objects.count() == 0 and Obligation.objects.count() == 0
    out = StringIO()
    call_command("generate_schedule", "--year", "2026", "--region", "330602", stdout=out)
    assert Session.objects.exists()
    assert "obligations created: 23" in out.getvalue()
