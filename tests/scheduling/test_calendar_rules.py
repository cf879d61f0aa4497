"""The estimate of a year without a notice, checked against the published arrangements.

Second sources: the real holiday-cn files of 2025, 2026 and the 2027 placeholder (copied into
tests/scheduling/holiday_cn/ as published on 2026-08-07), the `chinese-calendar` package for
the years it knows (its holiday names and its solar terms), and the lunar dates written down
here from the published calendars (春节 2027-02-06 etc.).
"""

import json
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from scheduling import calendar_rules
from scheduling.workdays import HolidayFileError, estimated_year, is_working_day, read_notice

FILES = Path(__file__).parent / "holiday_cn"

# 除夕, 清明, 端午, 中秋 of each year, from the published calendars (not from a lunar library).
LUNAR = {
    2025: (date(2025, 1, 28), date(2025, 4, 4), date(2025, 5, 31), date(2025, 10, 6)),
    2026: (date(2026, 2, 16), date(2026, 4, 5), date(2026, 6, 19), date(2026, 9, 25)),
    2027: (date(2027, 2, 5), date(2027, 4, 5), date(2027, 6, 9), date(2027, 9, 15)),
}
# chinese-calendar's names for the holidays.
PACKAGE_NAMES = {
    "元旦": "New Year's Day", "春节": "Spring Festival", "清明节": "Tomb-sweeping Day", "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival", "中秋节": "Mid-autumn Festival", "国庆节": "National Day",
}


def published(year):
    return json.loads((FILES / f"{year}.json").read_text(encoding="utf-8"))


def published_days_off(year):
    return {date.fromisoformat(d["date"]) for d in published(year)["days"] if d["isOffDay"]}


def expected_statutory(year):
    """The 2024 revision of the national rules, from the dates above."""
    eve, qingming, dragon, autumn = LUNAR[year]
    return {
        date(year, 1, 1): "元旦",
        **{eve + timedelta(days=i): "春节" for i in range(4)},
        qingming: "清明节",
        date(year, 5, 1): "劳动节", date(year, 5, 2): "劳动节",
        dragon: "端午节",
        autumn: "中秋节",
        **{date(year, 10, d): "国庆节" for d in (1, 2, 3)},
    }


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_the_statutory_days_off_follow_the_2024_rules(year):
    assert calendar_rules.statutory_days_off(year) == expected_statutory(year)


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_statutory_day_is_a_day_off_in_the_published_notice(year):
    statutory = calendar_rules.statutory_days_off(year)
    assert len(statutory) == 13
    assert set(statutory) <= published_days_off(year)


@pytest.mark.parametrize("year", [2025, 2026])
def test_chinese_calendar_names_every_statutory_day_the_same_holiday(year):
    for day, name in calendar_rules.statutory_days_off(year).items():
        on_holiday, package_name = chinese_calendar.get_holiday_detail(day)
        assert on_holiday and package_name == PACKAGE_NAMES[name], (day, name, package_name)


def test_2027_qingming_is_the_solar_term_chinese_calendar_knows():
    terms = dict(chinese_calendar.get_solar_terms(date(2027, 4, 1), date(2027, 4, 10)))
    qingming = [d for d, name in calendar_rules.statutory_days_off(2027).items() if name == "清明节"]
    assert qingming == [d for d, term in terms.items() if term == "清明"] == [date(2027, 4, 5)]


def test_the_estimate_of_2027_keeps_the_statutory_days_off_and_marks_the_bridges():
    year = estimated_year(2027)
    statutory = set(expected_statutory(2027))
    assert {d for d in year.days_off} == statutory
    assert not any(is_working_day(d, year) for d in statutory)
    # 春节 from Friday 5 February: the next week's weekdays; 劳动节 on a weekend: 3–5 May; 国庆节
    # from Friday 1 October: 4–7 October.
    assert sorted(year.possible_bridge_days) == [
        date(2027, 2, 9), date(2027, 2, 10), date(2027, 2, 11), date(2027, 2, 12),
        date(2027, 5, 3), date(2027, 5, 4), date(2027, 5, 5),
        date(2027, 10, 4), date(2027, 10, 5), date(2027, 10, 6), date(2027, 10, 7),
    ]
    assert all(is_working_day(d, year) for d in year.possible_bridge_days)  # a guess, not a day off


def test_the_bridge_days_of_2026_are_the_weekdays_the_notice_gave_off():
    weekdays_off = {d for d in published_days_off(2026) if d.weekday() < 5}
    statutory = set(calendar_rules.statutory_days_off(2026))
    assert set(calendar_rules.possible_bridge_days(2026)) == weekdays_off - statutory


def test_the_rules_before_2025_are_the_older_ones_and_none_before_2008():
    spring_2024 = [d for d, n in calendar_rules.statutory_days_off(2024).items() if n == "春节"]
    assert spring_2024 == [date(2024, 2, 10), date(2024, 2, 11), date(2024, 2, 12)]  # 初一 to 初三
    assert [d for d, n in calendar_rules.statutory_days_off(2024).items() if n == "劳动节"] == [date(2024, 5, 1)]
    assert calendar_rules.statutory_days_off(2007) == {}


# --------------------------------------------------------------------------- the notice


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_published_notices_are_accepted(year):
    work_year = read_notice(published(year), f"{year}.json")
    assert not work_year.estimated and work_year.days_off == published_days_off(year)


def test_the_2027_placeholder_is_no_notice():
    with pytest.raises(HolidayFileError) as refused:
        read_notice(published(2027), "2027.json")
    (error,) = refused.value.errors
    assert "没有任何放假或调休日期" in error and "占位文件" in error and "2027 年仍按估计排期" in error


def test_a_notice_of_another_year_is_refused_by_its_name_and_id():
    with pytest.raises(HolidayFileError) as refused:
        read_notice(published(2026), "2027.json")
    assert refused.value.errors == [
        "文件名 2027.json 表示 2027 年，与文件中的 year 2026 不符 / 文件名 names another year than 2026"]
    data = {**published(2026), "$id": "https://raw.githubusercontent.com/NateScarlet/holiday-cn/master/2025.json"}
    with pytest.raises(HolidayFileError, match=r"\$id 2025.json 表示 2025 年"):
        read_notice(data, "notice.json")


def test_a_notice_without_every_statutory_day_lists_them_all_with_the_other_errors():
    data = published(2026)
    data["days"] = [d for d in data["days"] if d["date"] not in ("2026-02-16", "2026-10-03")]
    data["days"].append({"name": "x", "date": "2026-02-30", "isOffDay": True})
    with pytest.raises(HolidayFileError) as refused:
        read_notice(data, "2026.json")
    (bad_date,) = refused.value.errors  # the format first: the days cannot be counted yet
    assert "bad date '2026-02-30'" in bad_date
    data["days"].pop()
    with pytest.raises(HolidayFileError) as refused:
        read_notice(data, "2026.json")
    (missing,) = refused.value.errors
    assert missing.startswith("放假日期未包含法定节假日 02-16（春节）、10-03（国庆节）")
