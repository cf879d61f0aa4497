"""The planner on a year without a notice (2027, estimated from the statutory rules) and the
rules a re-plan keeps: the buffer, the past, and the pinned sessions a new day off leaves for
a person to decide. Same cast as test_planner: provider 1, centres 1.. of township 100."""

from collections import Counter
from dataclasses import replace
from datetime import date, time

from scheduling.calendar_rules import possible_bridge_days, statutory_days_off
from scheduling.periods import GUIDANCE
from scheduling.planner import ExistingSession, PlannerSettings, plan
from scheduling.workdays import WorkYear, estimated_year

from .test_planner import a_year_of_centres, apply, given, ob, plan_and_apply

ESTIMATE = {2027: estimated_year(2027)}
STATUTORY_2027 = set(statutory_days_off(2027))
BRIDGES_2027 = set(possible_bridge_days(2027))


def test_an_estimated_year_has_no_session_on_a_statutory_day_off_nor_on_a_likely_bridge_day():
    sessions = plan_and_apply(given(a_year_of_centres(60, year=2027), work_years=ESTIMATE, doctors={1: 3}))
    days = Counter(s.day for s in sessions)
    assert len(sessions) > 60 * 4
    assert not STATUTORY_2027 & set(days)
    assert not BRIDGES_2027 & set(days)


def test_the_default_estimate_of_a_missing_year_is_the_same():
    with_estimate = plan(given(a_year_of_centres(5, year=2027), work_years=ESTIMATE))
    without = plan(given(a_year_of_centres(5, year=2027), work_years={}))
    assert with_estimate == without


def test_a_likely_bridge_day_is_used_when_the_window_has_nothing_else():
    obligation = ob(1, 1, period="2027Q1", start=date(2027, 2, 5), end=date(2027, 2, 12))
    (new,) = plan(given([obligation], work_years=ESTIMATE), PlannerSettings(buffer_working_days=0)).create
    assert new.day in BRIDGES_2027 and new.estimated


def test_a_second_run_on_an_estimated_year_changes_nothing():
    inp = given(a_year_of_centres(20, year=2027), work_years=ESTIMATE, doctors={1: 1})
    sessions = plan_and_apply(inp)
    again = plan(replace(inp, sessions=sessions))
    assert (again.create, again.move, again.cancel, again.decisions) == ([], [], [], [])


def test_the_notice_moves_what_fell_on_its_new_days_off_and_keeps_out_of_the_buffer():
    inp = given(a_year_of_centres(30, year=2027), work_years=ESTIMATE, doctors={1: 2})
    sessions = plan_and_apply(inp)
    busiest, _ = Counter(s.day for s in sessions if s.day.month == 9).most_common(1)[0]
    # The notice gives the busiest September day off and puts a make-up Sunday in Q3's buffer.
    notice = WorkYear(2027, frozenset(STATUTORY_2027 | {busiest}), frozenset({date(2027, 9, 26)}),
                      estimated=False, source="notice")
    result = plan(replace(inp, sessions=sessions, work_years={2027: notice}))
    buffer = {date(2027, 9, d) for d in (17, 20, 21, 22, 23, 24, 26, 27, 28, 29, 30)}  # 10 + the Sunday
    assert {m.session_id for m in result.move} == {s.id for s in sessions if s.day == busiest}
    assert not {m.day for m in result.move} & buffer
    assert {m.estimated for m in result.move} == {False}


# --- today --------------------------------------------------------------------------------------


def test_a_past_session_on_a_new_day_off_is_never_moved():
    existing = ExistingSession(7, 1, GUIDANCE, date(2026, 10, 13), time(9), time(11), (1,), (1,), 0)
    official = from_notice_with_day_off(date(2026, 10, 13))
    result = plan(given([ob(1, 1)], [existing], work_years={2026: official}, today=date(2026, 10, 20)))
    assert (result.move, result.cancel, result.create, result.keep) == ([], [], [], [7])


def test_a_session_is_never_moved_into_the_past():
    existing = ExistingSession(7, 1, GUIDANCE, date(2026, 10, 21), time(9), time(11), (1,), (1,), 0)
    obligation = ob(1, 1, start=date(2026, 10, 12), end=date(2026, 10, 21))
    official = from_notice_with_day_off(date(2026, 10, 21))
    result = plan(given([obligation], [existing], work_years={2026: official}, today=date(2026, 10, 20)))
    (move,) = result.move
    assert move.day == date(2026, 10, 20)  # today, not 16 October (nearer earlier days are past)
    past_only = ob(1, 1, start=date(2026, 10, 12), end=date(2026, 10, 21))
    result = plan(given([past_only], [existing], work_years={2026: official}, today=date(2026, 10, 22)))
    assert result.move == [] and result.keep == [7]  # itself in the past by then: left alone


def from_notice_with_day_off(day):
    from scheduling.workdays import from_chinese_calendar

    official = from_chinese_calendar(2026)
    return replace(official, days_off=official.days_off | {day})


# --- decisions ----------------------------------------------------------------------------------


def test_a_pinned_session_on_a_new_day_off_stays_and_is_listed_for_a_decision():
    sessions = [
        ExistingSession(7, 1, GUIDANCE, date(2027, 1, 15), time(9), time(11), (1,), (1,), 0, pinned=True),
        ExistingSession(8, 1, GUIDANCE, date(2027, 1, 18), time(9), time(11), (2,), (2,), 0, pinned=True),
    ]
    obligations = [ob(1, 1, period="2027Q1"), ob(2, 2, period="2027Q1")]
    notice = WorkYear(2027, frozenset(STATUTORY_2027 | {date(2027, 1, 15)}), frozenset(), estimated=False,
                      source="notice")
    result = plan(given(obligations, sessions, work_years={2027: notice}))
    assert (result.move, result.cancel, result.create, result.keep) == ([], [], [], [7, 8])
    (decision,) = result.decisions
    assert (decision.session_id, decision.day) == (7, date(2027, 1, 15))
    assert decision.reason == "人工安排的场次落在非工作日，需要决定是否改期（2027-01-15 为法定节假日）"
    assert result.changes_anything is False
    again = plan(given(obligations, apply(result, sessions), work_years={2027: notice}))
    assert again.decisions == result.decisions and not again.changes_anything


def test_a_pinned_session_in_the_past_needs_no_decision():
    session = ExistingSession(7, 1, GUIDANCE, date(2027, 1, 15), time(9), time(11), (1,), (1,), 0, pinned=True)
    notice = WorkYear(2027, frozenset(STATUTORY_2027 | {date(2027, 1, 15)}), frozenset(), estimated=False,
                      source="notice")
    result = plan(given([ob(1, 1, period="2027Q1")], [session], work_years={2027: notice}, today=date(2027, 2, 1)))
    assert result.decisions == [] and result.keep == [7]
