from datetime import date, timedelta

import pytest

from scheduling.workdays import (
    WorkYear,
    estimated_year,
    from_chinese_calendar,
    is_working_day,
    parse_holiday_cn,
    working_days,
)

OFFICIAL_2026 = from_chinese_calendar(2026)
# What chinese_calendar 1.11 (the State Council's 2026 notice) says: six weekend working days.
MAKE_UP_DAYS_2026 = {
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
}


def days_of(year):
    first = date(year, 1, 1)
    return [first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)]


def test_2026_comes_from_chinese_calendar_as_official():
    assert OFFICIAL_2026.year == 2026
    assert not OFFICIAL_2026.estimated
    assert OFFICIAL_2026.source.startswith("chinese-calendar ")
    assert OFFICIAL_2026.makeup_days == MAKE_UP_DAYS_2026


@pytest.mark.parametrize("day", [date(2026, 10, d) for d in range(1, 8)])
def test_national_day_week_is_not_working(day):
    assert day in OFFICIAL_2026.days_off
    assert not is_working_day(day, OFFICIAL_2026)


@pytest.mark.parametrize("day", [date(2026, 9, 20), date(2026, 10, 10)])
def test_the_national_day_make_up_days_are_working_days(day):
    assert day.weekday() >= 5
    assert is_working_day(day, OFFICIAL_2026)


def test_every_other_weekend_day_of_2026_is_off():
    for day in days_of(2026):
        if day.weekday() >= 5 and day not in MAKE_UP_DAYS_2026:
            assert not is_working_day(day, OFFICIAL_2026), day


def test_an_ordinary_weekday_works_and_a_weekday_holiday_does_not():
    assert is_working_day(date(2026, 10, 8), OFFICIAL_2026)
    assert not is_working_day(date(2026, 1, 1), OFFICIAL_2026)  # 元旦, a Thursday
    assert not is_working_day(date(2026, 2, 16), OFFICIAL_2026)  # 春节, a Monday


def test_2027_is_not_in_chinese_calendar_so_it_is_estimated_from_the_statutory_days():
    assert from_chinese_calendar(2027) is None
    year = estimated_year(2027)
    assert year.estimated and year.source == "估计：按法定节假日推算"
    assert year.makeup_days == frozenset()  # which weekends the notice will move is unknown
    statutory = {date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8),
                 date(2027, 4, 5), date(2027, 5, 1), date(2027, 5, 2), date(2027, 6, 9), date(2027, 9, 15),
                 date(2027, 10, 1), date(2027, 10, 2), date(2027, 10, 3)}
    assert year.days_off == statutory
    for day in days_of(2027):
        assert is_working_day(day, year) == (day.weekday() < 5 and day not in statutory), day
    assert not is_working_day(date(2027, 1, 1), year)  # 元旦, a Friday: off even before the notice


def test_an_estimate_stored_without_its_statutory_days_still_gets_them():
    """A 2027 estimate saved before the rule existed (no days): still never planned on 春节."""
    year = WorkYear(2027, frozenset(), frozenset(), estimated=True, source="estimated: Monday–Friday")
    assert not is_working_day(date(2027, 2, 8), year)  # 初三, a Monday
    assert date(2027, 2, 9) in year.possible_bridge_days and is_working_day(date(2027, 2, 9), year)
    assert WorkYear(2027, frozenset(), frozenset(), estimated=False, source="x").possible_bridge_days == frozenset()


def test_working_days_span_years_and_estimate_a_missing_year():
    days = working_days(date(2026, 12, 30), date(2027, 1, 5), {2026: OFFICIAL_2026})
    assert days == [date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 4), date(2027, 1, 5)]  # 元旦 2027 off


def test_working_days_around_national_day_2026():
    days = working_days(date(2026, 9, 19), date(2026, 10, 11), {2026: OFFICIAL_2026})
    assert days == [
        date(2026, 9, 20), date(2026, 9, 21), date(2026, 9, 22), date(2026, 9, 23), date(2026, 9, 24),
        date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30),
        date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10),
    ]  # fmt: skip


def test_a_day_of_another_year_is_refused():
    with pytest.raises(ValueError):
        is_working_day(date(2027, 1, 4), OFFICIAL_2026)


def test_a_work_year_refuses_dates_of_another_year():
    with pytest.raises(ValueError):
        WorkYear(2027, frozenset({date(2026, 1, 1)}), frozenset(), estimated=False, source="x")


HOLIDAY_CN_2027 = {
    "year": 2027,
    "papers": ["https://www.gov.cn/zhengce/content/2026-11/example.htm"],
    "days": [
        {"name": "元旦", "date": "2027-01-01", "isOffDay": True},
        {"name": "春节", "date": "2027-02-06", "isOffDay": True},
        {"name": "春节", "date": "2027-02-08", "isOffDay": True},
        {"name": "春节", "date": "2027-02-20", "isOffDay": False},
    ],
}


def test_parse_holiday_cn():
    year = parse_holiday_cn(HOLIDAY_CN_2027)
    assert year == WorkYear(
        2027,
        frozenset({date(2027, 1, 1), date(2027, 2, 6), date(2027, 2, 8)}),
        frozenset({date(2027, 2, 20)}),
        estimated=False,
        source="https://www.gov.cn/zhengce/content/2026-11/example.htm",
    )
    assert not is_working_day(date(2027, 2, 8), year)  # a Monday off
    assert is_working_day(date(2027, 2, 20), year)  # a Saturday at work


def test_parse_holiday_cn_lists_every_bad_entry_at_once():
    data = with_entry({"name": "清明", "date": "2027-02-30", "isOffDay": True})
    data["days"].append({"name": "x", "date": "2027-04-05", "isOffDay": "yes"})
    data["days"].append("2027-05-01")
    with pytest.raises(ValueError) as error:
        parse_holiday_cn(data)
    assert error.value.errors == [
        "节假日数据无效：第 1 项（days[1]）：日期无效 '2027-02-30'（应为 YYYY-MM-DD） / invalid holiday data: "
        "days[1]: bad date '2027-02-30' (expected YYYY-MM-DD)",
        "节假日数据无效：第 5 项（days[5]）：isOffDay 应为 true/false，实为 'yes' / invalid holiday data: "
        "days[5]: isOffDay must be a boolean, got 'yes'",
        "节假日数据无效：第 6 项（days[6]）：应为对象 / invalid holiday data: days[6]: entry must be an object",
    ]


def test_parse_holiday_cn_without_papers_names_holiday_cn():
    assert parse_holiday_cn({"year": 2027, "days": []}).source == "holiday-cn"


def with_entry(entry, *, at=1):
    days = [dict(d) for d in HOLIDAY_CN_2027["days"]]
    days.insert(at, entry)
    return {**HOLIDAY_CN_2027, "days": days}


@pytest.mark.parametrize(
    "entry, reason",
    [
        ({"name": "清明", "isOffDay": True}, "missing key 'date'"),
        ({"name": "清明", "date": "2027-04-05"}, "missing key 'isOffDay'"),
        ({"date": "2027-04-05", "isOffDay": True}, "missing key 'name'"),
        ({"name": "清明", "date": "2027-02-30", "isOffDay": True}, "bad date '2027-02-30'"),
        ({"name": "清明", "date": "2027/04/05", "isOffDay": True}, "bad date '2027/04/05'"),
        ({"name": "清明", "date": 20270405, "isOffDay": True}, "bad date 20270405"),
        ({"name": "元旦", "date": "2026-12-31", "isOffDay": True}, "outside the year 2027"),
        ({"name": "清明", "date": "2027-04-05", "isOffDay": "true"}, "isOffDay must be a boolean"),
        ({"name": "清明", "date": "2027-04-05", "isOffDay": 1}, "isOffDay must be a boolean"),
        ({"name": "元旦", "date": "2027-01-01", "isOffDay": True}, "date 2027-01-01 listed twice"),
        ("2027-04-05", "entry must be an object"),
    ],
)
def test_parse_holiday_cn_names_the_bad_entry_and_why(entry, reason):
    with pytest.raises(ValueError) as error:
        parse_holiday_cn(with_entry(entry))
    message = str(error.value)
    assert "days[1]" in message and "第 1 项" in message
    assert reason in message
    assert "节假日数据无效" in message


@pytest.mark.parametrize(
    "data, reason",
    [
        ({"days": []}, "missing key 'year'"),
        ({"year": 2027}, "missing key 'days'"),
        ({"year": "2027", "days": []}, "year must be a 4-digit integer"),
        ({"year": 2027, "days": {}}, "days must be a list"),
        ({"year": 2027, "papers": "https://x", "days": []}, "papers must be a list of strings"),
        ([], "top level must be an object"),
    ],
)
def test_parse_holiday_cn_refuses_a_bad_document(data, reason):
    with pytest.raises(ValueError, match=reason):
        parse_holiday_cn(data)
