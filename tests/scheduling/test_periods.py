from datetime import date

import pytest

from scheduling.periods import (
    GUIDANCE,
    KIND_LABELS,
    KINDS,
    PARENT_LECTURE,
    QUARTERLY_KINDS,
    STAFF_TRAINING,
    SUPERVISION,
    YEARLY_KINDS,
    days_in_force,
    in_force_window,
    kind_matches_period,
    owed_periods,
    period_bounds,
    period_for,
    periods_of_year,
    quarter_of,
)


def test_the_four_kinds_have_their_policy_names():
    assert QUARTERLY_KINDS == (GUIDANCE, STAFF_TRAINING, PARENT_LECTURE)
    assert YEARLY_KINDS == (SUPERVISION,)
    assert KIND_LABELS == {
        "guidance": "卫生保健业务指导",
        "staff_training": "托育机构从业人员婴幼儿健康知识培训",
        "parent_lecture": "家长婴幼儿养育照护知识讲座及现场咨询指导",
        "supervision": "卫生工作管理及业务开展督导",
    }
    assert set(KINDS) == set(KIND_LABELS)


@pytest.mark.parametrize(
    "code, first, last",
    [
        ("2027Q1", date(2027, 1, 1), date(2027, 3, 31)),
        ("2027Q2", date(2027, 4, 1), date(2027, 6, 30)),
        ("2027Q3", date(2027, 7, 1), date(2027, 9, 30)),
        ("2027Q4", date(2027, 10, 1), date(2027, 12, 31)),
        ("2027", date(2027, 1, 1), date(2027, 12, 31)),
        ("2028Q1", date(2028, 1, 1), date(2028, 3, 31)),
    ],
)
def test_period_bounds(code, first, last):
    assert period_bounds(code) == (first, last)


@pytest.mark.parametrize("code", ["2027Q5", "2027Q0", "2027q1", "27Q1", "", "2027-Q1", None])
def test_a_bad_period_code_is_refused(code):
    with pytest.raises(ValueError):
        period_bounds(code)


@pytest.mark.parametrize(
    "day, code",
    [
        (date(2027, 1, 1), "2027Q1"),
        (date(2027, 3, 31), "2027Q1"),
        (date(2027, 4, 1), "2027Q2"),
        (date(2027, 9, 30), "2027Q3"),
        (date(2027, 12, 31), "2027Q4"),
    ],
)
def test_quarter_of(day, code):
    assert quarter_of(day) == code


def test_periods_of_year_lists_the_quarters_then_the_year():
    assert periods_of_year(2027) == ["2027Q1", "2027Q2", "2027Q3", "2027Q4", "2027"]


def test_period_for_a_kind_is_its_quarter_or_its_year():
    assert period_for(GUIDANCE, date(2027, 5, 4)) == "2027Q2"
    assert period_for(SUPERVISION, date(2027, 5, 4)) == "2027"
    assert kind_matches_period(GUIDANCE, "2027Q2")
    assert not kind_matches_period(GUIDANCE, "2027")
    assert kind_matches_period(SUPERVISION, "2027")
    assert not kind_matches_period(SUPERVISION, "2027Q2")


@pytest.mark.parametrize(
    "valid_from, last_day, days",
    [
        (date(2026, 1, 1), None, 90),  # the whole of 2026Q1
        (date(2026, 3, 10), None, 22),  # 10..31 March
        (date(2025, 6, 1), date(2026, 1, 1), 1),  # only new year's day
        (date(2026, 4, 1), None, 0),  # starts after the quarter
        (date(2025, 1, 1), date(2025, 12, 31), 0),  # ended before it
    ],
)
def test_days_in_force_in_2026q1(valid_from, last_day, days):
    assert days_in_force(valid_from, last_day, date(2026, 1, 1), date(2026, 3, 31)) == days


def test_in_force_window_clips_the_period_to_the_contract():
    assert in_force_window(date(2026, 3, 10), None, "2026Q1") == (date(2026, 3, 10), date(2026, 3, 31))
    assert in_force_window(date(2026, 3, 10), date(2026, 5, 1), "2026") == (date(2026, 3, 10), date(2026, 5, 1))
    assert in_force_window(date(2026, 4, 1), None, "2026Q1") is None


def quarters(*numbers, year=2026):
    return [(kind, f"{year}Q{n}") for n in numbers for kind in QUARTERLY_KINDS]


@pytest.mark.parametrize(
    "valid_from, last_day, owed",
    [
        # the brief's example: 22 days of Q1 are not enough
        (date(2026, 3, 10), date(2026, 12, 31), quarters(2, 3, 4) + [(SUPERVISION, "2026")]),
        (date(2025, 1, 1), None, quarters(1, 2, 3, 4) + [(SUPERVISION, "2026")]),
        # exactly 30 days of Q1 (2..31 March) are enough; 29 days of Q2 (1..29 April) are not
        (date(2026, 3, 2), date(2026, 4, 29), quarters(1)),
        (date(2026, 3, 3), None, quarters(2, 3, 4) + [(SUPERVISION, "2026")]),
        # 90 days of the year owe the supervision, 89 do not
        (date(2026, 10, 3), None, quarters(4) + [(SUPERVISION, "2026")]),
        (date(2026, 10, 4), None, quarters(4)),
        (date(2027, 1, 1), None, []),
    ],
)
def test_owed_periods(valid_from, last_day, owed):
    assert owed_periods(valid_from, last_day, 2026) == owed


def test_owed_periods_minimums_are_settings():
    assert owed_periods(date(2026, 3, 10), None, 2026, min_days_quarter=20)[:3] == quarters(1)
    assert owed_periods(date(2026, 12, 1), None, 2026, min_days_quarter=40, min_days_year=31) == [
        (SUPERVISION, "2026")
    ]
