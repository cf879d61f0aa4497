"""The work calendar: which days are working days in mainland China.

A working day is Monday–Friday plus the make-up working days (调休), minus the official days off
of the State Council's notice for that year. A year whose notice is not loaded yet is *estimated*:
Monday–Friday minus the days off the national rules fix (scheduling.calendar_rules: 元旦, 春节,
清明, 劳动节, 端午, 中秋, 国庆), with the likely bridge days (可能调休) marked for the planner to
avoid; every session planned in it is marked estimated until the notice is loaded.

Sources: the `chinesecalendar` package (bundled data, known years only) and the holiday-cn JSON
format (github.com/NateScarlet/holiday-cn). Pure: no Django, no ORM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from scheduling import calendar_rules

ESTIMATED_SOURCE = "估计：按法定节假日推算"


@dataclass(frozen=True)
class WorkYear:
    """One year of the official calendar.

    `days_off`: the official days off as the notice lists them (weekend days inside a holiday
    block included; listing them is harmless, as a weekend day is off anyway). `makeup_days`:
    weekend days that are working days (调休). `estimated`: no notice loaded; the statutory days
    off of the national rules are added to `days_off` whatever the caller gave, so an estimated
    year is never planned on 元旦 or 春节 (an estimate stored before the rule existed included).
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
        if self.estimated:
            statutory = frozenset(calendar_rules.statutory_days_off(self.year)) - self.makeup_days
            object.__setattr__(self, "days_off", self.days_off | statutory)

    @cached_property
    def possible_bridge_days(self) -> frozenset[date]:
        """Working days an estimated year will probably give off (可能调休); none once official."""
        if not self.estimated:
            return frozenset()
        return frozenset(d for d in calendar_rules.possible_bridge_days(self.year) if d not in self.makeup_days)


def is_working_day(day: date, work_year: WorkYear) -> bool:
    """Monday–Friday plus make-up working days, minus days off (for an estimated year: the
    statutory ones)."""
    if day.year != work_year.year:
        raise ValueError(f"{day} 不属于 {work_year.year} 年 / {day} is not in {work_year.year}")
    if day in work_year.makeup_days:
        return True
    if day in work_year.days_off:
        return False
    return day.weekday() < 5


def estimated_year(year: int) -> WorkYear:
    """A year with no notice: Monday–Friday minus the statutory days off, marked estimated."""
    return WorkYear(year, frozenset(), frozenset(), estimated=True, source=ESTIMATED_SOURCE)


def work_year_for(year: int, work_years: dict[int, WorkYear]) -> WorkYear:
    """The loaded WorkYear of `year`, or an estimated one when none is loaded."""
    found = work_years.get(year)
    return found if found is not None else estimated_year(year)


def working_days(first: date, last: date, work_years: dict[int, WorkYear]) -> list[date]:
    """Working days of first..last (inclusive), ascending. A year missing from `work_years`
    is estimated (estimated_year)."""
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
_FILE_YEAR = re.compile(r"(?<![0-9])(19[0-9]{2}|2[0-9]{3})(?![0-9])")


class HolidayFileError(ValueError):
    """Every problem of a holiday-cn file at once: `errors` is the list, str() one per line."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def _bad(index: int | None, zh: str, en: str) -> str:
    where_zh = f"第 {index} 项（days[{index}]）：" if index is not None else ""
    where_en = f"days[{index}]: " if index is not None else ""
    return f"节假日数据无效：{where_zh}{zh} / invalid holiday data: {where_en}{en}"


def _entry_day(index: int, entry, year: int | None, seen: dict[date, int]) -> tuple[date | None, list[str]]:
    """The date of one days[] entry, or None and every reason it is bad."""
    if not isinstance(entry, dict):
        return None, [_bad(index, "应为对象", "entry must be an object")]
    errors = [_bad(index, f"缺少字段 {key!r}", f"missing key {key!r}")
              for key in ("name", "date", "isOffDay") if key not in entry]
    if "name" in entry and not isinstance(entry["name"], str):
        errors.append(_bad(index, "name 应为字符串", "name must be a string"))
    day = None
    if "date" in entry:
        raw = entry["date"]
        try:
            if not isinstance(raw, str) or not _ISO_DAY.fullmatch(raw):
                raise ValueError
            day = date.fromisoformat(raw)
        except ValueError:
            errors.append(_bad(index, f"日期无效 {raw!r}（应为 YYYY-MM-DD）",
                               f"bad date {raw!r} (expected YYYY-MM-DD)"))
    if day is not None and year is not None and day.year != year:
        errors.append(_bad(index, f"日期 {day} 不在 {year} 年内", f"date {day} is outside the year {year}"))
        day = None
    if "isOffDay" in entry and not isinstance(entry["isOffDay"], bool):
        off = entry["isOffDay"]
        errors.append(_bad(index, f"isOffDay 应为 true/false，实为 {off!r}",
                           f"isOffDay must be a boolean, got {off!r}"))
    if day is not None and day in seen:
        errors.append(_bad(index, f"日期 {day} 重复（已见于第 {seen[day]} 项）",
                           f"date {day} listed twice (first at days[{seen[day]}])"))
    elif day is not None:
        seen[day] = index
    return (None if errors else day), errors


def _parse(data) -> tuple[WorkYear | None, list[str]]:
    """The WorkYear of a holiday-cn document and every error found in it (the year is None
    when there is any)."""
    if not isinstance(data, dict):
        return None, [_bad(None, "顶层应为对象", "top level must be an object")]
    errors = [_bad(None, f"缺少字段 {key!r}", f"missing key {key!r}") for key in ("year", "days") if key not in data]
    year = data.get("year")
    if "year" in data and (isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999):
        errors.append(_bad(None, f"year 应为四位整数，实为 {year!r}", f"year must be a 4-digit integer, got {year!r}"))
        year = None
    papers = data.get("papers", [])
    if not isinstance(papers, list) or not all(isinstance(p, str) for p in papers):
        errors.append(_bad(None, "papers 应为字符串列表", "papers must be a list of strings"))
        papers = []
    days = data.get("days", [])
    if not isinstance(days, list):
        errors.append(_bad(None, "days 应为列表", "days must be a list"))
        days = []
    days_off: set[date] = set()
    makeup: set[date] = set()
    seen: dict[date, int] = {}
    for index, entry in enumerate(days):
        day, bad = _entry_day(index, entry, year, seen)
        errors += bad
        if day is not None:
            (days_off if entry["isOffDay"] else makeup).add(day)
    if errors:
        return None, errors
    source = "; ".join(papers) if papers else "holiday-cn"
    return WorkYear(year, frozenset(days_off), frozenset(makeup), estimated=False, source=source), []


def parse_holiday_cn(data: dict) -> WorkYear:
    """Parse one year of holiday-cn JSON into an official WorkYear.

    Format: {"year": 2027, "papers": ["https://..."], "days": [{"name": "元旦",
    "date": "2027-01-01", "isOffDay": true}, ...]}. isOffDay true is a day off, false a make-up
    working day. Strict: HolidayFileError (a ValueError) listing every bad entry (days[i],
    0-based) and why. A well-formed file is not yet a notice: see read_notice.
    """
    parsed, errors = _parse(data)
    if errors:
        raise HolidayFileError(errors)
    return parsed


def notice_problems(data, parsed: WorkYear, filename: str | None = None) -> list[str]:
    """Why a well-formed holiday-cn file is not the State Council's notice of its year: no
    days at all (holiday-cn publishes such a placeholder before the notice exists), a file
    name or `$id` naming another year, or days off that leave out a statutory day off."""
    year = parsed.year
    problems = []
    if not parsed.days_off and not parsed.makeup_days:
        problems.append(f"文件中没有任何放假或调休日期：这是国务院办公厅放假通知发布前的占位文件，{year} 年仍按估计排期"
                        f" / the file lists no days: it is a placeholder published before the notice")
    for label, text in (("文件名", filename or ""), ("$id", str(data.get("$id", "")))):
        named = {int(y) for y in _FILE_YEAR.findall(text.rsplit("/", 1)[-1])}
        if named and year not in named:
            problems.append(f"{label} {text.rsplit('/', 1)[-1]} 表示 {min(named)} 年，与文件中的 year {year} 不符"
                            f" / {label} names another year than {year}")
    if parsed.days_off or parsed.makeup_days:
        missing = sorted(set(calendar_rules.statutory_days_off(year)) - parsed.days_off)
        if missing:
            names = calendar_rules.statutory_days_off(year)
            listed = "、".join(f"{d:%m-%d}（{names[d]}）" for d in missing)
            problems.append(f"放假日期未包含法定节假日 {listed}：按《全国年节及纪念日放假办法》这些日期应放假"
                            f" / the days off leave out statutory days off: {', '.join(map(str, missing))}")
    return problems


def read_notice(data, filename: str | None = None) -> WorkYear:
    """The official WorkYear of a holiday-cn file that is a real notice, or HolidayFileError
    with every problem of the file (its format, then notice_problems)."""
    parsed, errors = _parse(data)
    if parsed is not None:
        errors = notice_problems(data, parsed, filename)
    if errors:
        raise HolidayFileError(errors)
    return parsed
