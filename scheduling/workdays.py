"""The work calendar: which days are working days in mainland China.

A working day is Monday–Friday plus the make-up working days (调休), minus the official days off
of the State Council's notice for that year. A year whose notice is not loaded yet is *estimated*:
Monday–Friday only, and every session planned in it is marked estimated until it is re-planned.

Sources: the `chinesecalendar` package (bundled data, known years only) and the holiday-cn JSON
format (github.com/NateScarlet/holiday-cn). Pure: no Django, no ORM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

ESTIMATED_SOURCE = "estimated: Monday–Friday"


@dataclass(frozen=True)
class WorkYear:
    """One year of the official calendar.

    `days_off`: the official days off as the notice lists them (weekend days inside a holiday
    block included; listing them is harmless, as a weekend day is off anyway). `makeup_days`:
    weekend days that are working days (调休). `estimated`: no official data; Monday–Friday.
    """

    year: int
    days_off: frozenset[date]
    makeup_days: frozenset[date]
    estimated: bool
    source: str

    def __post_init__(self):
        strays = sorted(d for d in self.days_off | self.makeup_days if d.year != self.year)
        if strays:
            raise ValueError(f"{self.year} 年工作日历含其他年份的日期 / dates outside {self.year}: {strays}")
        both = sorted(self.days_off & self.makeup_days)
        if both:
            raise ValueError(f"同一天既是休息日又是调休上班日 / days both off and make-up: {both}")


def is_working_day(day: date, work_year: WorkYear) -> bool:
    """Monday–Friday plus make-up working days, minus official days off.

    For an estimated year: Monday–Friday only.
    """
    if day.year != work_year.year:
        raise ValueError(f"{day} 不属于 {work_year.year} 年 / {day} is not in {work_year.year}")
    if work_year.estimated:
        return day.weekday() < 5
    if day in work_year.makeup_days:
        return True
    if day in work_year.days_off:
        return False
    return day.weekday() < 5


def estimated_year(year: int) -> WorkYear:
    """A year with no official data: Monday–Friday, marked estimated."""
    return WorkYear(year, frozenset(), frozenset(), estimated=True, source=ESTIMATED_SOURCE)


def work_year_for(year: int, work_years: dict[int, WorkYear]) -> WorkYear:
    """The loaded WorkYear of `year`, or an estimated one when none is loaded."""
    found = work_years.get(year)
    return found if found is not None else estimated_year(year)


def working_days(first: date, last: date, work_years: dict[int, WorkYear]) -> list[date]:
    """Working days of first..last (inclusive), ascending. A year missing from `work_years`
    is estimated (Monday–Friday)."""
    days: list[date] = []
    cache: dict[int, WorkYear] = {}
    day = first
    while day <= last:
        work_year = cache.get(day.year)
        if work_year is None:
            work_year = cache[day.year] = work_year_for(day.year, work_years)
        if is_working_day(day, work_year):
            days.append(day)
        day += timedelta(days=1)
    return days


def _days_of_year(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def from_chinese_calendar(year: int) -> WorkYear | None:
    """The official calendar of `year` from the chinesecalendar package, or None when the
    package has no data for it (it raises NotImplementedError outside the years it knows).

    Days off: every day the package marks as a named statutory holiday (the notice's 放假 days,
    weekend days of the block included) and, defensively, any Monday–Friday it marks as a
    holiday. Make-up days: Saturdays and Sundays it marks as working days.
    """
    import chinese_calendar

    try:
        chinese_calendar.is_workday(date(year, 1, 1))
        chinese_calendar.is_workday(date(year, 12, 31))
    except NotImplementedError:
        return None
    days_off, makeup = set(), set()
    for day in _days_of_year(year):
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        weekend = day.weekday() >= 5
        if on_holiday and (name is not None or not weekend):
            days_off.add(day)
        elif not on_holiday and weekend:
            makeup.add(day)
    try:
        from importlib.metadata import version

        source = f"chinese-calendar {version('chinesecalendar')}"
    except Exception:  # metadata missing (vendored copy): still say where the data came from
        source = "chinese-calendar"
    return WorkYear(year, frozenset(days_off), frozenset(makeup), estimated=False, source=source)


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _bad(index: int | None, zh: str, en: str) -> ValueError:
    where_zh = f"第 {index} 项（days[{index}]）：" if index is not None else ""
    where_en = f"days[{index}]: " if index is not None else ""
    return ValueError(f"节假日数据无效：{where_zh}{zh} / invalid holiday data: {where_en}{en}")


def parse_holiday_cn(data: dict) -> WorkYear:
    """Parse one year of holiday-cn JSON into an official WorkYear.

    Format: {"year": 2027, "papers": ["https://..."], "days": [{"name": "元旦",
    "date": "2027-01-01", "isOffDay": true}, ...]}. isOffDay true is a day off, false a make-up
    working day. Strict: ValueError naming the entry index (days[i], 0-based) and the reason.
    """
    if not isinstance(data, dict):
        raise _bad(None, "顶层应为对象", "top level must be an object")
    for key in ("year", "days"):
        if key not in data:
            raise _bad(None, f"缺少字段 {key!r}", f"missing key {key!r}")
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999:
        raise _bad(None, f"year 应为四位整数，实为 {year!r}", f"year must be a 4-digit integer, got {year!r}")
    papers = data.get("papers", [])
    if not isinstance(papers, list) or not all(isinstance(p, str) for p in papers):
        raise _bad(None, "papers 应为字符串列表", "papers must be a list of strings")
    days = data["days"]
    if not isinstance(days, list):
        raise _bad(None, "days 应为列表", "days must be a list")

    days_off: set[date] = set()
    makeup: set[date] = set()
    seen: dict[date, int] = {}
    for index, entry in enumerate(days):
        if not isinstance(entry, dict):
            raise _bad(index, "应为对象", "entry must be an object")
        for key in ("name", "date", "isOffDay"):
            if key not in entry:
                raise _bad(index, f"缺少字段 {key!r}", f"missing key {key!r}")
        if not isinstance(entry["name"], str):
            raise _bad(index, "name 应为字符串", "name must be a string")
        raw = entry["date"]
        try:
            if not isinstance(raw, str) or not _ISO_DAY.fullmatch(raw):
                raise ValueError
            day = date.fromisoformat(raw)
        except ValueError:
            raise _bad(index, f"日期无效 {raw!r}（应为 YYYY-MM-DD）",
                       f"bad date {raw!r} (expected YYYY-MM-DD)") from None
        if day.year != year:
            raise _bad(index, f"日期 {day} 不在 {year} 年内", f"date {day} is outside the year {year}")
        off = entry["isOffDay"]
        if not isinstance(off, bool):
            raise _bad(index, f"isOffDay 应为 true/false，实为 {off!r}", f"isOffDay must be a boolean, got {off!r}")
        if day in seen:
            raise _bad(index, f"日期 {day} 重复（已见于第 {seen[day]} 项）",
                       f"date {day} listed twice (first at days[{seen[day]}])")
        seen[day] = index
        (days_off if off else makeup).add(day)
    return WorkYear(
        year,
        frozenset(days_off),
        frozenset(makeup),
        estimated=False,
        source="; ".join(papers) if papers else "holiday-cn",
    )
