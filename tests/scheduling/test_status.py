from datetime import date

import pytest

from scheduling.status import (
    CANCELLED,
    DONE_LATE,
    DONE_ON_TIME,
    MISSED,
    OVERDUE,
    PLANNED,
    STATUS_LABELS,
    STATUSES,
    UNPLANNED,
    WAIVED,
    ObligationFacts,
    obligation_status,
)

# 2026Q1 with 15 grace days: the last grace day is 15 April.
Q1 = {"period_start": date(2026, 1, 1), "period_end": date(2026, 3, 31)}
GRACE = 15
MID_Q1 = date(2026, 2, 15)
AFTER_GRACE = date(2026, 5, 1)


def facts(**kwargs):
    return ObligationFacts(**Q1, **kwargs)


@pytest.mark.parametrize(
    "ob, today, expected",
    [
        # explicit decisions win over dates
        (facts(cancelled=True), MID_Q1, CANCELLED),
        (facts(cancelled=True, done_on=date(2026, 2, 1)), AFTER_GRACE, CANCELLED),
        (facts(cancelled=True, waived=True), MID_Q1, CANCELLED),
        (facts(waived=True), AFTER_GRACE, WAIVED),
        # a record inside the period, or before it starts, is on time
        (facts(done_on=date(2026, 2, 10)), AFTER_GRACE, DONE_ON_TIME),
        (facts(done_on=date(2025, 12, 30)), MID_Q1, DONE_ON_TIME),
        (facts(done_on=date(2026, 1, 1)), date(2026, 1, 1), DONE_ON_TIME),
        (facts(done_on=date(2026, 3, 31)), date(2026, 3, 31), DONE_ON_TIME),  # last day of the period
        # after the period, inside the grace days: late
        (facts(done_on=date(2026, 4, 1)), AFTER_GRACE, DONE_LATE),  # the day after the period
        (facts(done_on=date(2026, 4, 15)), date(2026, 4, 15), DONE_LATE),  # the last grace day
        # after the grace days a record is too late to count
        (facts(done_on=date(2026, 4, 16)), date(2026, 4, 16), MISSED),
        # a record dated after `today` is not known yet at `today`
        (facts(done_on=date(2026, 3, 20)), date(2026, 3, 10), UNPLANNED),
        (facts(done_on=date(2026, 3, 20), planned_on=date(2026, 3, 20)), date(2026, 3, 10), PLANNED),
        # nothing done
        (facts(), MID_Q1, UNPLANNED),
        (facts(), date(2026, 4, 15), UNPLANNED),  # last grace day: still time
        (facts(), date(2026, 4, 16), MISSED),  # the day after the grace days
        (facts(planned_on=date(2026, 3, 20)), date(2026, 3, 10), PLANNED),
        (facts(planned_on=date(2026, 3, 20)), date(2026, 3, 20), PLANNED),  # the planned day itself
        (facts(planned_on=date(2026, 3, 20)), date(2026, 3, 21), OVERDUE),
        (facts(planned_on=date(2026, 3, 20)), date(2026, 4, 15), OVERDUE),  # last grace day
        (facts(planned_on=date(2026, 3, 20)), date(2026, 4, 16), MISSED),
        (facts(planned_on=date(2026, 4, 10)), date(2026, 4, 1), PLANNED),  # a catch-up inside grace
    ],
)
def test_obligation_status(ob, today, expected):
    assert obligation_status(ob, today, GRACE) == expected


@pytest.mark.parametrize(
    "done_on, expected",
    [(date(2026, 3, 31), DONE_ON_TIME), (date(2026, 4, 1), MISSED)],
)
def test_without_grace_days_the_day_after_the_period_is_missed(done_on, expected):
    assert obligation_status(facts(done_on=done_on), AFTER_GRACE, 0) == expected


def test_negative_grace_days_are_refused():
    with pytest.raises(ValueError):
        obligation_status(facts(), MID_Q1, -1)


def test_every_status_has_a_chinese_label():
    assert set(STATUS_LABELS) == set(STATUSES)
    assert STATUS_LABELS[DONE_ON_TIME] == "按时完成"


def test_facts_of_reads_the_stored_fields_of_an_obligation():
    from scheduling.status import facts_of

    facts = facts_of("2026Q3", "waived", None, date(2026, 8, 3))
    assert (facts.period_start, facts.period_end) == (date(2026, 7, 1), date(2026, 9, 30))
    assert facts.waived and not facts.cancelled and facts.planned_on == date(2026, 8, 3)
    assert facts_of("2026", "", date(2026, 5, 1), None).period_end == date(2026, 12, 31)
