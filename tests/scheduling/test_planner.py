"""The planner on 2026's official calendar (National Day: 1–7 October off, Sunday 20 September and
Saturday 10 October at work). Read the cast as: provider 1 (two doctors unless a test says
otherwise) serves the centres of township 100 (centres 1..) and township 200 (centres 21..)."""

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, time

import pytest

from scheduling.periods import (
    GUIDANCE,
    PARENT_LECTURE,
    QUARTERLY_KINDS,
    STAFF_TRAINING,
    SUPERVISION,
    in_force_window,
    owed_periods,
    period_bounds,
)
from scheduling.planner import (
    ExistingSession,
    ObligationIn,
    Plan,
    PlannerInput,
    PlannerSettings,
    plan,
)
from scheduling.workdays import WorkYear, from_chinese_calendar, working_days

OFFICIAL_2026 = from_chinese_calendar(2026)
CALENDAR = {2026: OFFICIAL_2026}
NATIONAL_DAY = {date(2026, 10, d) for d in range(1, 8)}
SUN_20_SEPT, SAT_10_OCT = date(2026, 9, 20), date(2026, 10, 10)
TOWNSHIP_A, TOWNSHIP_B = 100, 200


def ob(id, centre, kind=GUIDANCE, period="2026Q4", *, provider=1, township=TOWNSHIP_A, start=None, end=None):
    first, last = period_bounds(period)
    return ObligationIn(id, provider, centre, township, kind, period, start or first, end or last)


def contract_obligations(centre, valid_from, *, first_id, provider=1, township=TOWNSHIP_A, year=2026):
    """Every obligation a contract in force from `valid_from` owes in `year`."""
    obligations = []
    for offset, (kind, period) in enumerate(owed_periods(valid_from, None, year)):
        start, end = in_force_window(valid_from, None, period)
        obligations.append(ObligationIn(first_id + offset, provider, centre, township, kind, period, start, end))
    return obligations


def a_year_of_centres(n, *, provider=1, township=TOWNSHIP_A, first_centre=1, year=2026):
    obligations = []
    for centre in range(first_centre, first_centre + n):
        obligations += contract_obligations(
            centre, date(year, 1, 1), first_id=centre * 100 + provider * 10_000, provider=provider,
            township=township, year=year,
        )
    return obligations


def given(obligations, sessions=(), **kwargs):
    kwargs.setdefault("work_years", CALENDAR)
    kwargs.setdefault("doctors", {1: 2, 2: 2, 3: 2})
    return PlannerInput(obligations=obligations, sessions=list(sessions), **kwargs)


def apply(result: Plan, sessions=()):
    """The calendar after saving `result`: what the caller would load for the next run."""
    by_id = {s.id: s for s in sessions}
    next_id = max(by_id, default=0) + 1
    for cancel in result.cancel:
        del by_id[cancel.session_id]
    for move in result.move:
        by_id[move.session_id] = replace(
            by_id[move.session_id], day=move.day, start=move.start, end=move.end, doctor_slot=move.doctor_slot
        )
    for new in result.create:
        by_id[next_id] = ExistingSession(
            next_id, new.provider_id, new.kind, new.day, new.start, new.end, new.obligation_ids,
            new.centre_ids, new.doctor_slot,
        )
        next_id += 1
    return sorted(by_id.values(), key=lambda s: s.id)


def plan_and_apply(inp, settings=None):
    return apply(plan(inp, settings), inp.sessions)


def quarter_buffer(quarter, n=10):
    return set(working_days(*period_bounds(quarter), CALENDAR)[-n:])


# --- the calendar ------------------------------------------------------------------------------


def test_no_session_in_the_national_day_holiday_and_weekends_only_on_make_up_days():
    sessions = plan_and_apply(given(a_year_of_centres(30), doctors={1: 1}))
    days = {s.day for s in sessions}
    assert len(sessions) == 30 * 4 * 2 + 30 + 4 * 6  # guidance, lectures, supervision; 6 trainings a quarter
    assert not days & NATIONAL_DAY
    assert {d for d in days if d.weekday() >= 5} <= OFFICIAL_2026.makeup_days


def test_sessions_fill_every_working_day_including_saturday_10_october_when_needed():
    # one doctor, one session a day, eight centres, a window of 8..16 October: 8 working days
    settings = PlannerSettings(per_doctor_per_day=1, buffer_working_days=0)
    obligations = [ob(c, c, start=date(2026, 10, 8), end=date(2026, 10, 16)) for c in range(1, 9)]
    result = plan(given(obligations, doctors={1: 1}), settings)
    assert sorted(n.day for n in result.create) == [
        date(2026, 10, 8), date(2026, 10, 9), SAT_10_OCT, date(2026, 10, 12),
        date(2026, 10, 13), date(2026, 10, 14), date(2026, 10, 15), date(2026, 10, 16),
    ]  # fmt: skip
    assert result.warnings == []


def test_a_window_of_one_weekend_lands_on_its_make_up_sunday():
    settings = PlannerSettings(buffer_working_days=0)
    obligations = [ob(1, 1, period="2026Q3", start=date(2026, 9, 19), end=SUN_20_SEPT)]
    (new,) = plan(given(obligations), settings).create
    assert new.day == SUN_20_SEPT


def test_a_session_on_saturday_19_september_moves_to_the_make_up_sunday_without_a_buffer():
    existing = ExistingSession(7, 1, GUIDANCE, date(2026, 9, 19), time(9), time(11), (1,), (1,), 0)
    result = plan(given([ob(1, 1, period="2026Q3")], [existing]), PlannerSettings(buffer_working_days=0))
    assert [(m.session_id, m.day, m.reason) for m in result.move] == [(7, SUN_20_SEPT, "2026-09-19 不是工作日")]


def test_a_move_keeps_out_of_the_buffer_even_past_a_make_up_sunday_inside_it():
    """Q3's last 10 working days are 17–30 September, the make-up Sunday 20 September among
    them: a session on Saturday 19 September goes back to Wednesday 16 September instead."""
    existing = ExistingSession(7, 1, GUIDANCE, date(2026, 9, 19), time(9), time(11), (1,), (1,), 0)
    result = plan(given([ob(1, 1, period="2026Q3")], [existing]))
    assert [(m.session_id, m.day, m.reason) for m in result.move] == [(7, date(2026, 9, 16), "2026-09-19 不是工作日")]


def test_a_move_uses_the_buffer_only_when_the_window_has_nothing_else_and_says_so():
    existing = ExistingSession(7, 1, GUIDANCE, date(2026, 9, 19), time(9), time(11), (1,), (1,), 0)
    obligation = ob(1, 1, period="2026Q3", start=date(2026, 9, 17))
    (move,) = plan(given([obligation], [existing])).move
    assert (move.day, move.reason) == (SUN_20_SEPT, "2026-09-19 不是工作日；缓冲期外已无可用日期，改在季度末缓冲期内")


def test_no_valid_day_in_the_window_leaves_the_obligation_unplanned_with_a_warning():
    result = plan(given([ob(41, 1, start=date(2026, 10, 1), end=date(2026, 10, 7))]))
    assert result.create == []
    (warning,) = result.warnings
    assert "义务 41" in warning and "卫生保健业务指导" in warning and "未排期" in warning


# --- capacity -----------------------------------------------------------------------------------


def test_capacity_is_never_exceeded_including_leave():
    window = {"start": date(2026, 10, 8), "end": date(2026, 10, 23)}
    obligations = [ob(c, c, **window) for c in range(1, 61)]
    leave = {1: {**{date(2026, 10, d): 1 for d in range(12, 17)}, date(2026, 10, 19): 2}}
    result = plan(given(obligations, doctors={1: 2}, leave=leave))
    per_day = Counter(n.day for n in result.create)
    # 4 a day (2 doctors x 2), 2 while one doctor is away, none with both away: 38 fit, 22 wait
    assert per_day == {
        **{d: 4 for d in [date(2026, 10, 8), date(2026, 10, 9), SAT_10_OCT]},
        **{date(2026, 10, d): 2 for d in range(12, 17)},
        **{date(2026, 10, d): 4 for d in range(20, 24)},
    }
    assert len(result.warnings) == 22
    by_doctor = defaultdict(list)
    for new in result.create:
        on_duty = 2 - leave[1].get(new.day, 0)
        assert 0 <= new.doctor_slot < on_duty
        by_doctor[(new.day, new.doctor_slot)].append((new.start, new.end))
    for slots in by_doctor.values():
        assert len(slots) <= 2 and len(set(slots)) == len(slots)  # morning, then afternoon


def test_one_doctor_takes_the_morning_then_the_afternoon():
    obligations = [ob(c, c, start=date(2026, 10, 8), end=date(2026, 10, 8)) for c in (1, 2)]
    result = plan(given(obligations, doctors={1: 1}))
    assert [(n.doctor_slot, n.start, n.end) for n in result.create] == [
        (0, time(9), time(11)), (0, time(14), time(16)),
    ]  # fmt: skip


def test_leave_pushes_an_existing_session_to_the_next_day_and_the_older_one_stays():
    day = date(2026, 11, 10)
    existing = [
        ExistingSession(1, 1, GUIDANCE, day, time(9), time(11), (1,), (1,), 0),
        ExistingSession(2, 1, GUIDANCE, day, time(14), time(16), (2,), (2,), 1),
    ]
    # two doctors doing one session a day each; one of them takes 10 November off
    result = plan(given([ob(1, 1), ob(2, 2)], existing, doctors={1: 2}, leave={1: {day: 1}}),
                  PlannerSettings(per_doctor_per_day=1))
    assert result.keep == [1]
    assert [(m.session_id, m.day, m.start, m.reason) for m in result.move] == [
        (2, date(2026, 11, 11), time(14), "超出当日接待能力"),
    ]


def test_a_doctor_on_leave_hands_the_session_to_a_colleague_the_same_day():
    day = date(2026, 11, 10)
    existing = ExistingSession(1, 1, GUIDANCE, day, time(9), time(11), (1,), (1,), 1)
    result = plan(given([ob(1, 1)], [existing], doctors={1: 2}, leave={1: {day: 1}}))
    assert [(m.day, m.start, m.doctor_slot, m.reason) for m in result.move] == [(day, time(9), 0, "医生请假")]


def test_a_doctor_booked_twice_at_one_time_loses_the_newer_session_to_a_colleague():
    day = date(2026, 11, 10)
    existing = [
        ExistingSession(1, 1, GUIDANCE, day, time(9), time(11), (1,), (1,), 0),
        ExistingSession(2, 1, GUIDANCE, day, time(9), time(11), (2,), (2,), 0),
    ]
    result = plan(given([ob(1, 1), ob(2, 2)], existing, doctors={1: 2}))
    assert result.keep == [1]
    assert [(m.session_id, m.day, m.start, m.doctor_slot, m.reason) for m in result.move] == [
        (2, day, time(9), 1, "医生该时段已有安排"),
    ]


# --- spreading and the buffer -------------------------------------------------------------------


def test_the_last_ten_working_days_of_every_quarter_stay_free():
    sessions = plan_and_apply(given(a_year_of_centres(20), doctors={1: 1}))
    buffers = set().union(*(quarter_buffer(f"2026Q{q}") for q in (1, 2, 3, 4)))
    assert not {s.day for s in sessions} & buffers
    assert {s.kind for s in sessions} == {*QUARTERLY_KINDS, SUPERVISION}


def test_sessions_are_spread_over_the_quarter():
    sessions = plan_and_apply(given([ob(c, c) for c in range(1, 11)]))
    days = sorted(s.day for s in sessions)
    assert len(set(days)) == 10
    assert days[0] < date(2026, 10, 20) and days[-1] > date(2026, 12, 1)


def test_supervision_is_spread_over_the_year():
    sessions = plan_and_apply(given([ob(c, c, SUPERVISION, "2026") for c in range(1, 9)]))
    assert {(s.day.month - 1) // 3 + 1 for s in sessions} == {1, 2, 3, 4}


def test_an_existing_session_in_the_buffer_is_left_alone():
    in_buffer = max(quarter_buffer("2026Q4"))
    existing = ExistingSession(5, 1, GUIDANCE, in_buffer, time(9), time(11), (1,), (1,), 0)
    result = plan(given([ob(1, 1)], [existing]))
    assert (result.keep, result.move, result.create) == ([5], [], [])


# --- grouping -----------------------------------------------------------------------------------


def test_staff_training_groups_a_township_by_five_and_never_mixes_townships():
    obligations = [ob(c, c, STAFF_TRAINING) for c in range(1, 8)]  # township A: centres 1..7
    obligations += [ob(20 + c, 20 + c, STAFF_TRAINING, township=TOWNSHIP_B) for c in range(1, 4)]
    result = plan(given(obligations))
    assert sorted(n.centre_ids for n in result.create) == [(1, 2, 3, 4, 5), (6, 7), (21, 22, 23)]
    assert {n.kind for n in result.create} == {STAFF_TRAINING}


def test_parent_lectures_are_grouped_only_when_configured():
    obligations = [ob(c, c, PARENT_LECTURE) for c in range(1, 8)]
    assert len(plan(given(obligations)).create) == 7
    grouped = plan(given(obligations), PlannerSettings(group_parent_lectures=True))
    assert sorted(n.centre_ids for n in grouped.create) == [(1, 2, 3, 4, 5), (6, 7)]
    assert {(n.start, n.end) for n in grouped.create} == {(time(16, 30), time(18))}


def test_a_group_session_avoids_the_closures_of_all_its_centres():
    window = {"start": date(2026, 10, 8), "end": date(2026, 10, 16)}
    obligations = [ob(c, c, STAFF_TRAINING, **window) for c in (1, 2, 3)]
    closures = {
        1: frozenset(date(2026, 10, d) for d in range(8, 13)),
        3: frozenset(date(2026, 10, d) for d in range(13, 16)),
    }
    (new,) = plan(given(obligations, closures=closures), PlannerSettings(buffer_working_days=0)).create
    assert (new.centre_ids, new.day) == ((1, 2, 3), date(2026, 10, 16))


def test_a_group_without_a_common_day_is_served_centre_by_centre():
    window = {"start": date(2026, 10, 8), "end": date(2026, 10, 9)}
    obligations = [ob(c, c, STAFF_TRAINING, **window) for c in (1, 2)]
    closures = {1: frozenset({date(2026, 10, 9)}), 2: frozenset({date(2026, 10, 8)})}
    result = plan(given(obligations, closures=closures), PlannerSettings(buffer_working_days=0))
    assert sorted((n.centre_ids, n.day) for n in result.create) == [
        ((1,), date(2026, 10, 8)), ((2,), date(2026, 10, 9)),
    ]  # fmt: skip


# --- centres ------------------------------------------------------------------------------------


def test_closures_are_avoided():
    closed = frozenset(d for d in working_days(date(2026, 10, 1), date(2026, 11, 30), CALENDAR))
    obligations = [ob(1, 1), ob(2, 1, STAFF_TRAINING), ob(3, 1, PARENT_LECTURE)]
    sessions = plan_and_apply(given(obligations, closures={1: closed}))
    assert len(sessions) == 3
    assert all(s.day.month == 12 for s in sessions)


def test_never_two_sessions_at_one_centre_on_one_day():
    # three providers cover centre 1, in a four-working-day window, for every quarterly kind
    window = {"start": date(2026, 10, 8), "end": date(2026, 10, 12)}
    obligations = [
        ob(provider * 10 + i, 1, kind, provider=provider, **window)
        for provider in (1, 2, 3)
        for i, kind in enumerate([GUIDANCE, PARENT_LECTURE])
    ]
    result = plan(given(obligations), PlannerSettings(buffer_working_days=0))
    days = [n.day for n in result.create]
    assert len(days) == 4 and len(set(days)) == 4  # 4 working days: 8, 9, 10 (Sat), 12 October
    assert len(result.warnings) == 2


def test_a_province_of_centres_never_double_books_a_centre():
    obligations = a_year_of_centres(15, provider=1) + a_year_of_centres(15, provider=2)
    sessions = plan_and_apply(given(obligations, doctors={1: 1, 2: 1}))
    visits = Counter((centre, s.day) for s in sessions for centre in s.centre_ids)
    assert max(visits.values()) == 1


def test_supervision_avoids_the_week_of_the_centres_guidance():
    guidance = ob(1, 1, GUIDANCE, "2026Q1", start=date(2026, 3, 2), end=date(2026, 3, 2))  # Monday
    supervision = ob(2, 1, SUPERVISION, "2026", start=date(2026, 3, 2), end=date(2026, 3, 9))
    result = plan(given([guidance, supervision]), PlannerSettings(buffer_working_days=0))
    days = {n.kind: n.day for n in result.create}
    assert days == {GUIDANCE: date(2026, 3, 2), SUPERVISION: date(2026, 3, 9)}


def test_guidance_avoids_the_week_of_a_held_supervision():
    held = ExistingSession(9, 1, SUPERVISION, date(2026, 3, 4), time(9), time(11), (2,), (1,), 0, pinned=True)
    guidance = ob(1, 1, GUIDANCE, "2026Q1", start=date(2026, 3, 2), end=date(2026, 3, 9))
    supervision = ob(2, 1, SUPERVISION, "2026")
    result = plan(given([guidance, supervision], [held]), PlannerSettings(buffer_working_days=0))
    assert [(n.kind, n.day) for n in result.create] == [(GUIDANCE, date(2026, 3, 9))]


def test_no_supervision_in_a_guidance_week_across_a_year():
    sessions = plan_and_apply(given(a_year_of_centres(25), doctors={1: 1}))
    weeks = defaultdict(set)
    for s in sessions:
        if s.kind in (GUIDANCE, SUPERVISION):
            weeks[(s.kind, s.centre_ids[0])].add(s.day.isocalendar()[:2])
    for centre in range(1, 26):
        assert not weeks[(GUIDANCE, centre)] & weeks[(SUPERVISION, centre)]


# --- contracts and cancellation -----------------------------------------------------------------


def test_a_contract_starting_10_march_owes_and_gets_no_q1_session():
    obligations = contract_obligations(1, date(2026, 3, 10), first_id=1)
    assert {o.period for o in obligations} == {"2026Q2", "2026Q3", "2026Q4", "2026"}
    sessions = plan_and_apply(given(obligations))
    assert len(sessions) == 3 * 3 + 1
    assert min(s.day for s in sessions) >= date(2026, 3, 10)
    assert not [s for s in sessions if s.kind != SUPERVISION and s.day < date(2026, 4, 1)]


def test_cancelled_obligations_lose_their_sessions_and_groups_keep_the_rest():
    obligations = [ob(1, 1), ob(2, 2, STAFF_TRAINING), ob(3, 3, STAFF_TRAINING)]
    sessions = plan_and_apply(given(obligations))
    guidance = next(s for s in sessions if s.kind == GUIDANCE)
    training = next(s for s in sessions if s.kind == STAFF_TRAINING)
    result = plan(given(obligations, sessions, cancelled_obligation_ids=frozenset({1, 2})))
    assert [(c.session_id, c.reason) for c in result.cancel] == [(guidance.id, "所服务的义务均已取消")]
    assert result.keep == [training.id]
    assert (result.create, result.move) == ([], [])


def test_a_session_whose_obligations_are_gone_is_cancelled():
    sessions = plan_and_apply(given([ob(1, 1)]))
    result = plan(given([], sessions))
    assert [(c.session_id, c.reason) for c in result.cancel] == [(sessions[0].id, "所服务的义务已不存在")]


def test_a_pinned_session_is_never_moved_or_cancelled():
    held = ExistingSession(3, 1, GUIDANCE, date(2026, 10, 3), time(9), time(11), (1,), (1,), 0, pinned=True)
    result = plan(given([ob(1, 1)], [held], cancelled_obligation_ids=frozenset({1})))
    assert (result.keep, result.move, result.cancel, result.create) == ([3], [], [], [])


def test_a_session_outside_its_shortened_contract_moves_inside():
    existing = ExistingSession(4, 1, GUIDANCE, date(2026, 12, 1), time(9), time(11), (1,), (1,), 0)
    ended = ob(1, 1, end=date(2026, 11, 15))  # the contract now ends on 15 November
    (move,) = plan(given([ended], [existing])).move
    assert (move.day, move.reason) == (date(2026, 11, 13), "不在服务周期内")  # the nearest day inside


def test_a_new_closure_moves_the_session_to_the_next_open_day():
    existing = ExistingSession(4, 1, GUIDANCE, date(2026, 11, 10), time(14), time(16), (1,), (1,), 1)
    closures = {1: frozenset({date(2026, 11, 10), date(2026, 11, 11)})}
    (move,) = plan(given([ob(1, 1)], [existing], closures=closures)).move
    assert (move.day, move.start, move.reason, move.estimated) == (date(2026, 11, 12), time(14), "托育机构闭园", False)


def test_a_move_goes_earlier_only_when_no_later_day_is_free():
    last_day = date(2026, 10, 16)
    existing = ExistingSession(4, 1, GUIDANCE, last_day, time(9), time(11), (1,), (1,), 0)
    obligation = ob(1, 1, start=date(2026, 10, 12), end=last_day)
    one_more_day_off = replace(OFFICIAL_2026, days_off=OFFICIAL_2026.days_off | {last_day})
    (move,) = plan(given([obligation], [existing], work_years={2026: one_more_day_off})).move
    assert (move.day, move.reason) == (date(2026, 10, 15), "2026-10-16 为法定节假日")


# --- determinism and idempotence ----------------------------------------------------------------


def a_busy_provider():
    obligations = a_year_of_centres(12) + a_year_of_centres(8, township=TOWNSHIP_B, first_centre=21)
    leave = {1: {date(2026, 5, 12): 1, date(2026, 11, 3): 2}}
    closures = {3: frozenset({date(2026, 4, 20), date(2026, 4, 21)})}
    return given(obligations, doctors={1: 2}, leave=leave, closures=closures)


def test_the_same_input_gives_the_same_plan_whatever_its_order():
    inp = a_busy_provider()
    first = plan(inp)
    assert plan(inp) == first
    assert plan(replace(inp, obligations=list(reversed(inp.obligations)))) == first


def test_a_second_run_changes_nothing():
    inp = a_busy_provider()
    sessions = plan_and_apply(inp)
    again = plan(replace(inp, sessions=sessions))
    assert (again.create, again.move, again.cancel) == ([], [], [])
    assert again.keep == [s.id for s in sessions]


def test_a_day_off_added_later_moves_exactly_the_sessions_on_that_day():
    inp = a_busy_provider()
    sessions = plan_and_apply(inp)
    busiest, _ = Counter(s.day for s in sessions).most_common(1)[0]
    on_that_day = {s.id for s in sessions if s.day == busiest}
    newly_off = replace(OFFICIAL_2026, days_off=OFFICIAL_2026.days_off | {busiest})
    result = plan(replace(inp, sessions=sessions, work_years={2026: newly_off}))
    assert {m.session_id for m in result.move} == on_that_day
    assert {m.reason for m in result.move} == {f"{busiest.isoformat()} 为法定节假日"}
    assert all(m.day != busiest for m in result.move)
    assert (result.create, result.cancel) == ([], [])
    assert set(result.keep) == {s.id for s in sessions} - on_that_day
    settled = apply(result, sessions)
    assert plan(replace(inp, sessions=settled, work_years={2026: newly_off})).changes_anything is False


def test_an_estimated_year_marks_its_sessions_estimated():
    obligations = a_year_of_centres(3, year=2027) + [ob(1, 1)]
    result = plan(given(obligations))
    assert {n.estimated for n in result.create if n.day.year == 2027} == {True}
    assert {n.estimated for n in result.create if n.day.year == 2026} == {False}
    assert all(n.day.weekday() < 5 for n in result.create)


def test_loading_the_official_year_moves_only_what_fell_on_a_new_day_off():
    obligations = a_year_of_centres(5, year=2027)
    sessions = plan_and_apply(given(obligations, work_years={}))
    some_day = sessions[0].day
    official = WorkYear(2027, frozenset({some_day}), frozenset(), estimated=False, source="notice")
    result = plan(given(obligations, sessions, work_years={2027: official}))
    assert {m.session_id for m in result.move} == {s.id for s in sessions if s.day == some_day}
    assert {m.estimated for m in result.move} == {False}


# --- input checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        ob(1, 1, GUIDANCE, "2026"),  # a quarterly kind on a year
        ob(1, 1, SUPERVISION, "2026Q1"),
        ob(1, 1, start=date(2026, 9, 30)),  # starts before its quarter
        ob(1, 1, start=date(2026, 12, 1), end=date(2026, 11, 1)),
        ob(1, 1, "home_visit"),
    ],
)
def test_malformed_obligations_are_refused(bad):
    with pytest.raises(ValueError):
        plan(given([bad]))


def test_a_provider_without_doctors_gets_warnings_not_sessions():
    result = plan(given([ob(1, 1, provider=9)]))
    assert result.create == [] and len(result.warnings) == 1


def test_default_settings_follow_the_design():
    settings = PlannerSettings()
    assert (settings.per_doctor_per_day, settings.buffer_working_days, settings.group_size) == (2, 10, 5)
    assert settings.slots[GUIDANCE] == [(time(9), time(11)), (time(14), time(16))]
    assert settings.slots[PARENT_LECTURE] == [(time(16, 30), time(18))]
