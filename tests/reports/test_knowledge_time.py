"""Knowledge time: a report "as of D" counts only what had been entered by the end of D, so it
reproduces on any later day; a record entered late (补录) asks for its reason and is counted apart."""

import datetime

import pytest
from django.urls import reverse

from mch_link.models import Contract
from reports import render as renderers
from reports import rows
from reports.rows import completion_rows
from scheduling.models import Obligation, Record, Session
from scheduling.services import schedule_generate, statuses_refresh
from scheduling.status import DONE_ON_TIME, MISSED, PLANNED, ObligationFacts, obligation_status
from tests.reports.conftest import at

pytestmark = pytest.mark.django_db
D = datetime.date
BEFORE = D(2026, 11, 1)  # the day a bureau asked for the Q3 report
ENTERED = D(2026, 11, 29)  # the day the backdated record was entered
HELD = D(2026, 7, 3)



@pytest.fixture
def q3(world):
    Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, status="signed",
                            signed_on=D(2026, 1, 1), valid_from=D(2026, 1, 1), valid_to=D(2026, 12, 31))
    schedule_generate(year=2026, today=D(2026, 1, 5))
    world.ob = Obligation.objects.get(period="2026Q3", kind="guidance")
    world.session = world.ob.sessions.get()
    Session.objects.filter(pk=world.session.pk).update(date=HELD)
    return world


def submit(client, session, day, **extra):
    data = {"held_on": day.isoformat(), "start": "09:00", "end": "11:00", "content": "检查晨检与消毒记录",
            "finding_0": "一日生活安排合理", "submit": "1", **extra}
    return client.post(reverse("scheduling:record_edit", args=[session.pk]), data)


def report_json(world, as_of):
    return renderers.render_json(completion_rows(region=world.city, period="2026Q3", as_of=as_of))


def test_a_backdated_record_is_absent_as_of_a_day_before_it_was_entered(q3, client):
    with at(BEFORE):
        before = report_json(q3, BEFORE)
    client.force_login(q3.dan)
    with at(ENTERED):
        response = submit(client, q3.session, HELD, late_reason="纸质记录遗漏，现补录")
        assert response.status_code == 302
    q3.ob.refresh_from_db()
    assert (q3.ob.done_on, q3.ob.done_known_on) == (HELD, ENTERED)
    assert Record.objects.get().late_reason == "纸质记录遗漏，现补录"

    with at(ENTERED):
        # the report as of 11-01 reproduces byte for byte after the entry
        assert report_json(q3, BEFORE) == before
        old = completion_rows(region=q3.city, period="2026Q3", as_of=BEFORE).completion["guidance"]
        assert (old.done, old.missed, old.backfilled) == (0, 1, 0)
        now = completion_rows(region=q3.city, period="2026Q3", as_of=ENTERED).completion["guidance"]
        assert (now.done_on_time, now.missed, now.backfilled) == (1, 0, 1)


def test_the_stored_statuses_respect_knowledge_time_too(q3, client, monkeypatch):
    client.force_login(q3.dan)
    with at(ENTERED):
        submit(client, q3.session, HELD, late_reason="补录")
    for day in (D(2026, 9, 1), BEFORE, ENTERED):
        statuses_refresh(day)
        fast = completion_rows(region=q3.city, period="2026Q3", as_of=day)
        with monkeypatch.context() as m:
            m.setattr(rows, "_stored_statuses_fresh", lambda *a, **k: False)
            slow = completion_rows(region=q3.city, period="2026Q3", as_of=day)
        assert fast.used_stored_statuses and not slow.used_stored_statuses
        assert fast.as_json() == slow.as_json()
        assert fast.completion["guidance"] == slow.completion["guidance"]
    assert fast.completion["guidance"].backfilled == 1
    # as of 09-01 the session was still ahead as far as anyone knew: overdue, not done
    statuses_refresh(D(2026, 9, 1))
    assert Obligation.objects.get(pk=q3.ob.pk).status == "overdue"


def test_a_late_entry_asks_for_its_reason(q3, client):
    client.force_login(q3.dan)
    with at(ENTERED):
        response = submit(client, q3.session, HELD)
    assert response.status_code == 400
    assert "属补录，请填写补录原因" in response.content.decode()
    assert not Record.objects.exists()


def test_a_record_entered_within_the_late_entry_days_is_not_a_late_entry(q3, client, settings):
    settings.LATE_ENTRY_DAYS = 7
    client.force_login(q3.dan)
    with at(HELD + datetime.timedelta(days=7)):
        assert submit(client, q3.session, HELD).status_code == 302
        report = completion_rows(region=q3.city, period="2026Q3", as_of=HELD + datetime.timedelta(days=7))
    assert report.completion["guidance"].done_on_time == 1
    assert report.completion["guidance"].backfilled == 0


def test_a_cancellation_entered_later_is_not_known_before(q3):
    ob = Obligation.objects.get(period="2026Q2", kind="guidance")
    with at(ENTERED):
        ob.resolve("cancelled", by=q3.carol, reason="托育机构停业整顿")
    ob.refresh_from_db()
    assert ob.resolved_at is not None
    past = completion_rows(region=q3.city, period="2026Q2", as_of=BEFORE).completion["guidance"]
    now = completion_rows(region=q3.city, period="2026Q2", as_of=ENTERED).completion["guidance"]
    assert (past.owed, past.missed, past.cancelled) == (1, 1, 0)
    assert (now.owed, now.cancelled) == (0, 1)


@pytest.mark.parametrize("today, status", [(D(2026, 8, 1), PLANNED), (D(2026, 11, 1), MISSED),
                                           (D(2026, 11, 29), DONE_ON_TIME)])
def test_the_status_function_ignores_facts_entered_after_its_day(today, status):
    facts = ObligationFacts(D(2026, 7, 1), D(2026, 9, 30), done_on=HELD, done_known_on=ENTERED,
                            planned_on=D(2026, 9, 15))
    assert obligation_status(facts, today, 15) == status
