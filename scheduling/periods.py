"""The "四个一" kinds, period codes and what a contract owes in a year.

Pure functions on dates: no Django, no ORM. A period code is a quarter ("2027Q1".."2027Q4")
for the three quarterly kinds, or a year ("2027") for supervision. All day ranges are inclusive.
"""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta

GUIDANCE = "guidance"
STAFF_TRAINING = "staff_training"
PARENT_LECTURE = "parent_lecture"
SUPERVISION = "supervision"

# Order matters: it is the order of owed_periods() and of the planner's placement.
QUARTERLY_KINDS = (GUIDANCE, STAFF_TRAINING, PARENT_LECTURE)
YEARLY_KINDS = (SUPERVISION,)
KINDS = QUARTERLY_KINDS + YEARLY_KINDS

KIND_LABELS = {
    GUIDANCE: "卫生保健业务指导",
    STAFF_TRAINING: "托育机构从业人员婴幼儿健康知识培训",
    PARENT_LECTURE: "家长婴幼儿养育照护知识讲座及现场咨询指导",
    SUPERVISION: "卫生工作管理及业务开展督导",
}

# Defaults of the "owes a period" rule (design.md, "Status: one function, dates only").
DEFAULT_MIN_DAYS_QUARTER = 30
DEFAULT_MIN_DAYS_YEAR = 90

_PERIOD_RE = re.compile(r"([0-9]{4})(?:Q([1-4]))?")


def parse_period(code: str) -> tuple[int, int | None]:
    """"2027Q3" -> (2027, 3); "2027" -> (2027, None). ValueError on anything else."""
    if not isinstance(code, str):
        raise ValueError(f"无效的周期代码 / invalid period code: {code!r} (expected '2027Q1' or '2027')")
    return _parse_period(code)


@functools.lru_cache(maxsize=1024)  # the planner asks about the same few codes 100,000s of times
def _parse_period(code: str) -> tuple[int, int | None]:
    match = _PERIOD_RE.fullmatch(code)
    if not match:
        raise ValueError(f"无效的周期代码 / invalid period code: {code!r} (expected '2027Q1' or '2027')")
    year, quarter = match.groups()
    return int(year), int(quarter) if quarter else None


def is_quarter(code: str) -> bool:
    return parse_period(code)[1] is not None


def quarter_code(year: int, quarter: int) -> str:
    return f"{year}Q{quarter}"


def period_bounds(code: str) -> tuple[date, date]:
    """First and last day (inclusive) of a quarter or a year."""
    year, quarter = parse_period(code)
    if quarter is None:
        return date(year, 1, 1), date(year, 12, 31)
    first = date(year, 3 * quarter - 2, 1)
    if quarter == 4:
        last = date(year, 12, 31)
    else:
        last = date(year, 3 * quarter + 1, 1) - timedelta(days=1)
    return first, last


def quarter_of(day: date) -> str:
    """The quarter code of a day: 2027-05-04 -> "2027Q2"."""
    return quarter_code(day.year, (day.month - 1) // 3 + 1)


def quarters_of_year(year: int) -> list[str]:
    return [quarter_code(year, q) for q in (1, 2, 3, 4)]


def periods_of_year(year: int) -> list[str]:
    """The four quarter codes, then the year code: ["2027Q1", .., "2027Q4", "2027"]."""
    return [*quarters_of_year(year), str(year)]


def period_for(kind: str, day: date) -> str:
    """The period of `kind` that contains `day`: a quarter, or the year for supervision."""
    if kind in YEARLY_KINDS:
        return str(day.year)
    if kind in QUARTERLY_KINDS:
        return quarter_of(day)
    raise ValueError(f"未知的服务类型 / unknown kind: {kind!r}")


def kind_matches_period(kind: str, code: str) -> bool:
    """Quarterly kinds take quarter codes, supervision takes year codes."""
    return (kind in QUARTERLY_KINDS and is_quarter(code)) or (kind in YEARLY_KINDS and not is_quarter(code))


def days_in_force(valid_from: date, last_day: date | None, first: date, last: date) -> int:
    """Days of first..last on which a contract in force valid_from..last_day is in force.

    `last_day` None means open-ended. Both ranges are inclusive; no overlap gives 0.
    """
    start = max(valid_from, first)
    end = last if last_day is None else min(last_day, last)
    return max(0, (end - start).days + 1)


def in_force_window(valid_from: date, last_day: date | None, code: str) -> tuple[date, date] | None:
    """The period's bounds clipped to the contract (the planner's ObligationIn start..end),
    or None when the contract is not in force on any day of the period."""
    first, last = period_bounds(code)
    start = max(valid_from, first)
    end = last if last_day is None else min(last_day, last)
    return (start, end) if start <= end else None


def owed_periods(
    valid_from: date,
    last_day_in_force: date | None,
    year: int,
    min_days_quarter: int = DEFAULT_MIN_DAYS_QUARTER,
    min_days_year: int = DEFAULT_MIN_DAYS_YEAR,
) -> list[tuple[str, str]]:
    """The (kind, period code) pairs a contract in force valid_from..last_day_in_force owes in `year`.

    A quarter's three quarterly kinds are owed when the contract is in force at least
    `min_days_quarter` days of that quarter; the year's supervision when in force at least
    `min_days_year` days of the year. Order: Q1..Q4 (kinds in QUARTERLY_KINDS order), then
    supervision. `last_day_in_force` None means open-ended.
    """
    owed: list[tuple[str, str]] = []
    for code in quarters_of_year(year):
        first, last = period_bounds(code)
        if days_in_force(valid_from, last_day_in_force, first, last) >= min_days_quarter:
            owed.extend((kind, code) for kind in QUARTERLY_KINDS)
    first, last = period_bounds(str(year))
    if days_in_force(valid_from, last_day_in_force, first, last) >= min_days_year:
        owed.extend((kind, str(year)) for kind in YEARLY_KINDS)
    return owed
