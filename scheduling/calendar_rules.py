"""The days off the national rules fix, for a year whose State Council notice is not out yet.

《全国年节及纪念日放假办法》 (as revised in 2024, in force from 2025): 元旦 1 day, 春节 4 days
(除夕 to 初三), 清明节 1 day (the day of the solar term), 劳动节 2 days (5月1日–2日), 端午节 1 day
(五月初五), 中秋节 1 day (八月十五), 国庆节 3 days (10月1日–3日). Earlier versions: 2014–2024 春节
初一–初三 and 劳动节 1 day; 2008–2013 春节 除夕–初二 and 劳动节 1 day. Before 2008 (and after 2100,
where the lunar tables end) no rule is known here: nothing is returned.

The notice then moves weekends around the statutory days (调休); which weekdays it will give off
cannot be known, only guessed: `possible_bridge_days` are the likely ones (可能调休). Pure: the
lunar calendar and the solar terms come from `borax` (pure Python, tables for 1900–2100).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

NEW_YEAR = "元旦"
SPRING = "春节"
QINGMING = "清明节"
LABOUR = "劳动节"
DRAGON_BOAT = "端午节"
MID_AUTUMN = "中秋节"
NATIONAL = "国庆节"

FIRST_RULE_YEAR, LAST_RULE_YEAR = 2008, 2100

# Days the notices usually give off in one stretch from a holiday's first statutory day (春节
# from 除夕 or 初一, 劳动节 from 5月1日, 国庆节 from 10月1日), weekends included; every weekday of
# that stretch is a possible bridge day.
LONG_BREAKS = {SPRING: 8, LABOUR: 5, NATIONAL: 7}


def _lunar(year: int, month: int, day: int) -> date:
    from borax.calendars.lunardate import LunarDate

    return LunarDate(year, month, day).to_solar_date()


def _qingming(year: int) -> date:
    from borax.calendars.lunardate import TermUtils

    return TermUtils.day_start_from_term(year, "清明")


@lru_cache(maxsize=64)
def _statutory(year: int) -> tuple[tuple[date, str], ...]:
    if not FIRST_RULE_YEAR <= year <= LAST_RULE_YEAR:
        return ()
    new_year = _lunar(year, 1, 1)  # 正月初一
    if year >= 2025:
        spring = [new_year + timedelta(days=i) for i in range(-1, 3)]
    elif year >= 2014:
        spring = [new_year + timedelta(days=i) for i in range(3)]
    else:
        spring = [new_year + timedelta(days=i) for i in range(-1, 2)]
    labour = [date(year, 5, 1), date(year, 5, 2)] if year >= 2025 else [date(year, 5, 1)]
    blocks = [
        (NEW_YEAR, [date(year, 1, 1)]),
        (SPRING, spring),
        (QINGMING, [_qingming(year)]),
        (LABOUR, labour),
        (DRAGON_BOAT, [_lunar(year, 5, 5)]),
        (MID_AUTUMN, [_lunar(year, 8, 15)]),
        (NATIONAL, [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)]),
    ]
    names: dict[date, str] = {}
    for name, days in blocks:
        for day in days:
            names[day] = f"{names[day]}、{name}" if day in names else name  # 中秋 on 国庆: both
    return tuple(sorted(names.items()))


def statutory_days_off(year: int) -> dict[date, str]:
    """{day: holiday name} of the statutory days off of `year`, weekend days included (a
    statutory day on a weekend is still one); empty where no rule is known (see the module)."""
    return dict(_statutory(year))


def _weekday(day: date) -> bool:
    return day.weekday() < 5


@lru_cache(maxsize=64)
def _bridges(year: int) -> tuple[tuple[date, str], ...]:
    statutory = statutory_days_off(year)
    found: dict[date, str] = {}

    def add(day: date, name: str) -> None:
        if day.year == year and _weekday(day) and day not in statutory:
            found.setdefault(day, name)

    blocks: list[tuple[str, list[date]]] = []
    for day, name in sorted(statutory.items()):
        if blocks and blocks[-1][0] == name and blocks[-1][1][-1] + timedelta(days=1) == day:
            blocks[-1][1].append(day)
        else:
            blocks.append((name, [day]))
    for name, days in blocks:
        first, last = days[0], days[-1]
        # A long holiday: the weekdays of its usual stretch.
        for key, length in LONG_BREAKS.items():
            if key in name:
                for offset in range(length):
                    add(first + timedelta(days=offset), name)
        # A statutory day on a weekend is made up by the next weekday (补休).
        on_weekend = sum(1 for d in days if not _weekday(d))
        day = last
        while on_weekend:
            day += timedelta(days=1)
            if _weekday(day) and day not in statutory:
                add(day, name)
                on_weekend -= 1
        # A single weekday between the holiday and a weekend (Tuesday → Monday, Thursday → Friday).
        if first.weekday() == 1:
            add(first - timedelta(days=1), name)
        if last.weekday() == 3:
            add(last + timedelta(days=1), name)
    return tuple(sorted(found.items()))


def possible_bridge_days(year: int) -> dict[date, str]:
    """{weekday: holiday name} the notice of `year` will likely give off (可能调休): the weekdays
    of the usual stretch of 春节, 劳动节 and 国庆节, the weekday after a statutory day that falls
    on a weekend, and a lone weekday between a holiday and a weekend. A guess, never a day off:
    the planner avoids these days while it has others."""
    return dict(_bridges(year))
