"""The report's figures as a table of hand-built situations, each counted three ways: from the
facts (nothing stored), from the stored statuses of the report's day, and with stored statuses
of a later day (which must not be used: they know what the report's day did not).

One contract, 塔山社区 P-TS – 阳光, signed for 2026; the situations change its guidance
obligations (2026Q1: 01-01..03-31, grace to 04-15; 2026Q2: 04-01..06-30, grace to 07-15).
The figures are those of `completion["guidance"]`:
(owed, done_on_time, done_late, missed, pending, confirmed, disputed, cancelled, waived).
"""

import datetime

import pytest
from django.utils import timezone

from reports.rows import completion_rows
from scheduling.models import Obligation, RecordCentre
from scheduling.services import schedule_generate, statuses_refresh

from .conftest import D, record, sign

pytestmark = pytest.mark.django_db


def guidance(w, period):
    return Obligation.objects.get(contract__centre=w.sunny, kind="guidance", period=period)


def held(w, period, day, answer=None, answered_on=None):
    """The guidance of `period` held and recorded on `day`; 阳光's answer to its part, stamped
    `answered_on` (default: the day of the record)."""
    ob = guidance(w, period)
    rec = record(ob, day, w.dan, {w.sunny: answer or "unconfirmed"})
    Obligation.objects.filter(pk=ob.pk).update(done_on=day)
    if answer:
        stamp = timezone.make_aware(datetime.datetime.combine(answered_on or day, datetime.time(12)))
        RecordCentre.objects.filter(record=rec).update(confirmed_at=stamp)


def resolved(w, period, resolution):
    Obligation.objects.filter(pk=guidance(w, period).pk).update(resolution=resolution, resolution_reason="测试")


SITUATIONS = {
    "on time, confirmed": lambda w: held(w, "2026Q1", D(2026, 2, 10), "confirmed"),
    "on time, disputed": lambda w: held(w, "2026Q1", D(2026, 2, 10), "disputed"),
    "late, confirmed": lambda w: held(w, "2026Q1", D(2026, 4, 10), "confirmed"),
    # a record after the grace days is too late to count: missed, and its confirmation is not counted
    "too late, confirmed": lambda w: held(w, "2026Q1", D(2026, 4, 30), "confirmed"),
    "too late, disputed": lambda w: held(w, "2026Q1", D(2026, 4, 30), "disputed"),
    "confirmed after the report day": lambda w: held(w, "2026Q1", D(2026, 2, 10), "confirmed",
                                                     answered_on=D(2026, 5, 20)),
    "Q1 confirmed, Q2 unconfirmed": lambda w: (held(w, "2026Q1", D(2026, 2, 10), "confirmed"),
                                               held(w, "2026Q2", D(2026, 5, 10))),
    "Q1 disputed, Q2 unconfirmed": lambda w: (held(w, "2026Q1", D(2026, 2, 10), "disputed"),
                                              held(w, "2026Q2", D(2026, 5, 10))),
    "nothing done": lambda w: None,
    "cancelled": lambda w: resolved(w, "2026Q1", "cancelled"),
    "waived": lambda w: resolved(w, "2026Q1", "waived"),
}

CASES = [
    # situation, period, as_of, (owed, on_time, late, missed, pending, confirmed, disputed, cancelled, waived)
    ("on time, confirmed", "2026Q1", D(2026, 5, 10), (1, 1, 0, 0, 0, 1, 0, 0, 0)),
    ("on time, confirmed", "2026Q1", D(2026, 2, 1), (1, 0, 0, 0, 1, 0, 0, 0, 0)),  # not held yet
    ("on time, disputed", "2026Q1", D(2026, 5, 10), (1, 1, 0, 0, 0, 0, 1, 0, 0)),
    ("late, confirmed", "2026Q1", D(2026, 5, 10), (1, 0, 1, 0, 0, 1, 0, 0, 0)),
    ("late, confirmed", "2026Q1", D(2026, 4, 5), (1, 0, 0, 0, 1, 0, 0, 0, 0)),  # overdue then
    ("too late, confirmed", "2026Q1", D(2026, 5, 10), (1, 0, 0, 1, 0, 0, 0, 0, 0)),
    ("too late, disputed", "2026Q1", D(2026, 5, 10), (1, 0, 0, 1, 0, 0, 0, 0, 0)),
    ("too late, confirmed", "2026", D(2026, 12, 31), (4, 0, 0, 3, 1, 0, 0, 0, 0)),  # Q4 still running
    ("confirmed after the report day", "2026Q1", D(2026, 5, 10), (1, 1, 0, 0, 0, 0, 0, 0, 0)),
    ("confirmed after the report day", "2026Q1", D(2026, 5, 20), (1, 1, 0, 0, 0, 1, 0, 0, 0)),
    ("Q1 confirmed, Q2 unconfirmed", "2026Q2", D(2026, 7, 20), (1, 1, 0, 0, 0, 0, 0, 0, 0)),
    ("Q1 confirmed, Q2 unconfirmed", "2026Q1", D(2026, 7, 20), (1, 1, 0, 0, 0, 1, 0, 0, 0)),
    ("Q1 disputed, Q2 unconfirmed", "2026Q2", D(2026, 7, 20), (1, 1, 0, 0, 0, 0, 0, 0, 0)),
    ("Q1 confirmed, Q2 unconfirmed", "2026", D(2026, 7, 20), (4, 2, 0, 0, 2, 1, 0, 0, 0)),
    ("nothing done", "2026Q1", D(2026, 4, 5), (1, 0, 0, 0, 1, 0, 0, 0, 0)),
    ("nothing done", "2026Q1", D(2026, 4, 16), (1, 0, 0, 1, 0, 0, 0, 0, 0)),
    ("cancelled", "2026Q1", D(2026, 5, 10), (0, 0, 0, 0, 0, 0, 0, 1, 0)),
    ("waived", "2026Q1", D(2026, 5, 10), (0, 0, 0, 0, 0, 0, 0, 0, 1)),
]

FIELDS = ("owed", "done_on_time", "done_late", "missed", "pending", "confirmed", "disputed", "cancelled", "waived")
LATER = datetime.timedelta(days=45)


def set_up(world, situation, as_of, stored):
    """The year planned, the situation made, the stored statuses none, of the day or of a later
    day (the report then computes them as of the day)."""
    sign(world.tashan_chc, world.sunny)
    schedule_generate(year=2026, today=D(2026, 1, 5))
    SITUATIONS[situation](world)
    if stored == "of the day":
        statuses_refresh(as_of)
    elif stored == "of a later day":
        statuses_refresh(as_of + LATER)


@pytest.mark.parametrize("stored", ["none", "of the day", "of a later day"])
@pytest.mark.parametrize(("situation", "period", "as_of", "expected"), CASES,
                         ids=[f"{s}-{p}-{a}" for s, p, a, _e in CASES])
def test_the_figures_of_a_situation(world, situation, period, as_of, expected, stored):
    set_up(world, situation, as_of, stored)

    report = completion_rows(region=world.city, period=period, as_of=as_of)

    assert report.used_stored_statuses == (stored == "of the day")
    c = report.completion["guidance"]
    assert tuple(getattr(c, name) for name in FIELDS) == expected
    # the provider's row and the county's row say the same
    (provider_row,) = report.by_provider
    assert provider_row.code == "P-TS"
    assert provider_row.completion["guidance"] == c
    yc = {g.code: g for g in report.by_region}["330602"]
    assert yc.completion["guidance"] == c
    # the overdue list: the missed ones of the counted periods
    missed = [o for o in report.overdue if o.kind == "guidance" and o.status == "missed"]
    assert len(missed) == c.missed
