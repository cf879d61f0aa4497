"""A report as of a past day computes its statuses in SQL (status.status_sql over the facts as
known on that day). It must give exactly what the one status function gives: the report
recomputed from statuses_refresh of that day (the stored path), on a scenario with records
entered after the day they were held (补录), a confirmation and a cancellation entered later."""

import datetime
import itertools

import pytest
from django.db import connection
from django.urls import reverse

from reports.rows import completion_rows
from scheduling.models import Obligation, RecordCentre, Session
from scheduling.services import record_confirm, statuses_refresh
from scheduling.status import facts_of, obligation_status, status_sql
from tests.reports.conftest import at, obligation

D = datetime.date
HELD = D(2026, 7, 3)  # the Q3 guidance of c1 (塔山社区–阳光), held then
ENTERED = D(2026, 11, 29)  # and entered only then: a late entry
CONFIRMED = D(2026, 12, 5)  # 阳光 confirms it
CANCELLED = D(2026, 10, 15)  # c2's Q3 parent lecture cancelled, entered then
DAYS = [D(2026, 8, 1), D(2026, 10, 1), D(2026, 10, 20), D(2026, 11, 1), ENTERED, D(2026, 12, 10)]


def figures(report):
    return {
        "json": report.as_json(),
        "completion": report.completion,  # every count, the overdue and backfilled ones too
        "trend": [(t.period, t.owed, t.done) for t in report.trend],
        "by_centre": [(g.code, g.completion) for g in report.by_centre],
        "by_provider": [(g.code, g.completion) for g in report.by_provider],
        "overdue": [tuple(o) for o in report.overdue],  # with planned_on, done_on and confirmation
    }


@pytest.fixture
def backdated(case, client):
    w = case
    ob = obligation(w.c.c1, "guidance", "2026Q3")
    session = ob.sessions.get()
    Session.objects.filter(pk=session.pk).update(date=HELD)
    client.force_login(w.dan)
    with at(ENTERED):
        response = client.post(reverse("scheduling:record_edit", args=[session.pk]), {
            "held_on": HELD.isoformat(), "start": "09:00", "end": "11:00", "content": "检查晨检与消毒记录",
            "finding_0": "一日生活安排合理", "submit": "1", "late_reason": "纸质记录遗漏，现补录"})
        assert response.status_code == 302
    with at(CONFIRMED):
        record_confirm(part=RecordCentre.objects.get(record__session=session, centre=w.sunny), user=w.fay,
                       confirm=True)
    with at(CANCELLED):
        obligation(w.c.c2, "parent_lecture", "2026Q3").resolve("cancelled", by=w.carol, reason="托育机构停业整顿")
    ob.refresh_from_db()
    assert (ob.done_on, ob.done_known_on) == (HELD, ENTERED)
    return w


@pytest.mark.parametrize("period", ["2026Q3", "2026"])
@pytest.mark.parametrize("where", [None, "city", "tashan"])
def test_the_sql_past_day_path_equals_the_recompute(backdated, period, where):
    region = getattr(backdated, where) if where else None
    for day in DAYS:
        statuses_refresh(day - datetime.timedelta(days=1))  # the stored statuses are of another day
        in_sql = completion_rows(region=region, period=period, as_of=day)
        statuses_refresh(day)  # the one status function, as of the day
        recomputed = completion_rows(region=region, period=period, as_of=day)
        assert not in_sql.used_stored_statuses and recomputed.used_stored_statuses
        assert figures(in_sql) == figures(recomputed), day
        assert in_sql.total.owed > 0


def test_the_backdated_record_counts_from_the_day_it_was_entered(backdated):
    statuses_refresh(D(2026, 1, 1))  # stale for every day asked: the SQL path

    def guidance(day):
        report = completion_rows(region=backdated.tashan, period="2026Q3", as_of=day)
        assert not report.used_stored_statuses
        return report.completion["guidance"]

    before = guidance(D(2026, 11, 1))
    assert (before.done, before.missed, before.backfilled, before.confirmed) == (0, 6, 0, 0)
    entered = guidance(ENTERED)
    assert (entered.done_on_time, entered.missed, entered.backfilled, entered.confirmed) == (1, 5, 1, 0)
    confirmed = guidance(D(2026, 12, 10))
    assert (confirmed.done_on_time, confirmed.backfilled, confirmed.confirmed) == (1, 1, 1)
    # as of 10-01 the held session was still ahead as far as anyone knew: overdue
    early = completion_rows(region=backdated.tashan, period="2026Q3", as_of=D(2026, 10, 1))
    late = [o for o in early.overdue if o.pk == obligation(backdated.c.c1, "guidance", "2026Q3").pk]
    assert [(o.status, o.planned_on, o.done_on) for o in late] == [("overdue", HELD, None)]
    lecture = lambda day: completion_rows(  # noqa: E731
        region=backdated.tashan, period="2026Q3", as_of=day).completion["parent_lecture"]
    assert (lecture(D(2026, 10, 1)).cancelled, lecture(D(2026, 10, 20)).cancelled) == (0, 1)


def test_status_sql_is_the_status_function(db):
    """Every branch of obligation_status, at and around each boundary, from the database."""
    grace = 15
    today_options = [D(2026, 9, 29), D(2026, 9, 30), D(2026, 10, 1), D(2026, 10, 15), D(2026, 10, 16)]
    days = [None, D(2026, 6, 30), D(2026, 7, 1), D(2026, 9, 30), D(2026, 10, 1), D(2026, 10, 15),
            D(2026, 10, 16)]
    checked = 0
    for today in today_options:
        sql, params = status_sql(today, grace, ["2026Q3", "2026"], period="p", resolution="r", done_on="d",
                                 planned_on="pl")
        # a date column: typed on PostgreSQL; ISO text on SQLite, as it stores dates (its CAST AS
        # DATE would make a number)
        day = "CAST(%s AS DATE)" if connection.vendor == "postgresql" else "%s"
        statement = (f"SELECT {sql} FROM (SELECT CAST(%s AS VARCHAR(6)) AS p, CAST(%s AS VARCHAR(10)) AS r, "
                     f"{day} AS d, {day} AS pl) t")
        for period, resolution, done_on, planned_on in itertools.product(
                ["2026Q3", "2026"], ["", "cancelled", "waived"], days, days):
            known_done = done_on if done_on is not None and done_on <= today else None  # as known on today
            with connection.cursor() as cursor:
                cursor.execute(statement, [*params, period, resolution, known_done, planned_on])
                got = cursor.fetchone()[0]
            expected = obligation_status(facts_of(period, resolution, done_on, planned_on), today, grace)
            assert got == expected, (today, period, resolution, done_on, planned_on)
            checked += 1
    assert checked == 5 * 2 * 3 * 7 * 7


def test_a_past_day_report_reads_no_obligation_one_by_one(backdated, django_assert_num_queries):
    """One statement for the statuses, whatever the number of obligations."""
    statuses_refresh(D(2026, 1, 1))
    assert Obligation.objects.count() > 24
    # registry_as_of 3 (with the contracts in force), the freshness probe 1, the statement 1 (8 before
    # the providers and the townships they also cover were read in one query; 7 before the centres,
    # their grades and the contracts in force on them were)
    with django_assert_num_queries(5):
        completion_rows(region=backdated.city, period="2026", as_of=D(2026, 11, 1))
