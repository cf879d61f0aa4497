"""The report's figures for the hand-built quarter (tests/reports/conftest.py), number by number."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.rows import completion_rows
from scheduling.services import schedule_generate
from tests import factories as f

from .conftest import AS_OF, D, grow, obligation, sign

pytestmark = pytest.mark.django_db

FIELDS = ("owed", "done_on_time", "done_late", "missed", "pending", "confirmed", "disputed", "cancelled", "waived")


def figures(c):
    return tuple(getattr(c, name) for name in FIELDS)


def by_code(groups):
    return {g.code: {kind: figures(c) for kind, c in g.completion.items()} for g in groups}


@pytest.fixture
def city_q1(case):
    return completion_rows(region=case.city, period="2026Q1", as_of=AS_OF)


def test_the_quarter_counts_its_three_quarterly_kinds(city_q1):
    assert city_q1.kinds == ("guidance", "staff_training", "parent_lecture")
    assert list(city_q1.completion) == ["guidance", "staff_training", "parent_lecture"]


def test_completion_per_kind(city_q1):
    #                                 owed on_time late missed pending confirmed disputed cancelled waived
    assert figures(city_q1.completion["guidance"]) == (6, 4, 1, 1, 0, 1, 1, 1, 1)
    assert figures(city_q1.completion["staff_training"]) == (8, 7, 0, 1, 0, 1, 0, 0, 0)
    assert figures(city_q1.completion["parent_lecture"]) == (8, 0, 1, 7, 0, 0, 0, 0, 0)
    total = city_q1.total
    assert (total.owed, total.done, total.rate) == (22, 13, round(13 / 22, 4))
    assert city_q1.completion["guidance"].rate == round(5 / 6, 4)
    assert city_q1.completion["guidance"].confirmed_rate == 0.2


def test_the_stored_status_is_not_read(case, city_q1):
    # schedule_generate stored "planned"; as of 2026-04-20 the missed one is missed.
    assert obligation(case.c.c4, "guidance").status == "planned"
    assert [(o.kind, o.status) for o in city_q1.overdue if o.centre_code == case.little.code
            and o.provider_code == "P-YC" and o.kind == "guidance"] == [("guidance", "missed")]


def test_the_signed_guidance_rate_counts_centres_open_on_the_periods_last_day(case, city_q1):
    # 5 centres open on 2026-03-31: 暮云 closed on 03-01, 晨曦 filed on 02-10 counts; 稻香 unsigned.
    assert city_q1.coverage_day == D(2026, 3, 31)
    assert city_q1.signed_guidance == {"numerator": 4, "denominator": 5, "rate": 0.8}
    assert [c.code for c in city_q1.uncovered_centres] == [case.rice.code]


def test_required_pair_coverage_by_tier_with_the_missing_pairs(case, city_q1):
    assert {t: (r["required"], r["covered"], r["missing"]) for t, r in city_q1.by_tier.items()} == {
        "city": (1, 1, 0), "county": (3, 2, 1), "grassroots": (5, 4, 1)}
    assert [(m["tier"], m["provider"], m["centre"]) for m in city_q1.missing_pairs] == [
        ("county", "P-KQ", case.bamboo.code), ("grassroots", "P-FS", case.rice.code)]


def test_per_county(city_q1):
    assert [(g.code, g.name) for g in city_q1.by_region] == [("330602", "越城区"), ("330603", "柯桥区")]
    assert by_code(city_q1.by_region) == {
        "330602": {"guidance": (6, 4, 1, 1, 0, 1, 1, 1, 0), "staff_training": (7, 6, 0, 1, 0, 1, 0, 0, 0),
                   "parent_lecture": (7, 0, 1, 6, 0, 0, 0, 0, 0)},
        "330603": {"guidance": (0, 0, 0, 0, 0, 0, 0, 0, 1), "staff_training": (1, 1, 0, 0, 0, 0, 0, 0, 0),
                   "parent_lecture": (1, 0, 0, 1, 0, 0, 0, 0, 0)},
    }


def test_per_provider(city_q1):
    assert [g.code for g in city_q1.by_provider] == ["P-CITY", "P-FS", "P-KQJD", "P-TS", "P-YC"]
    assert by_code(city_q1.by_provider) == {
        "P-CITY": {"guidance": (0, 0, 0, 0, 0, 0, 0, 1, 0), "staff_training": (1, 1, 0, 0, 0, 0, 0, 0, 0),
                   "parent_lecture": (1, 0, 0, 1, 0, 0, 0, 0, 0)},
        "P-FS": {"guidance": (1, 1, 0, 0, 0, 0, 0, 0, 0), "staff_training": (1, 1, 0, 0, 0, 0, 0, 0, 0),
                 "parent_lecture": (1, 0, 0, 1, 0, 0, 0, 0, 0)},
        "P-KQJD": {"guidance": (0, 0, 0, 0, 0, 0, 0, 0, 1), "staff_training": (1, 1, 0, 0, 0, 0, 0, 0, 0),
                   "parent_lecture": (1, 0, 0, 1, 0, 0, 0, 0, 0)},
        "P-TS": {"guidance": (3, 3, 0, 0, 0, 1, 1, 0, 0), "staff_training": (3, 3, 0, 0, 0, 1, 0, 0, 0),
                 "parent_lecture": (3, 0, 1, 2, 0, 0, 0, 0, 0)},
        "P-YC": {"guidance": (2, 0, 1, 1, 0, 0, 0, 0, 0), "staff_training": (2, 1, 0, 1, 0, 0, 0, 0, 0),
                 "parent_lecture": (2, 0, 0, 2, 0, 0, 0, 0, 0)},
    }


def test_the_overdue_and_missed_list(case, city_q1):
    rows = [(o.period, o.kind, o.provider_code, o.centre_name, o.status) for o in city_q1.overdue]
    assert len(rows) == 9
    assert rows[:2] == [("2026Q1", "guidance", "P-YC", "小星星托育", "missed"),
                        ("2026Q1", "staff_training", "P-YC", "小星星托育", "missed")]
    assert sorted(r[3] for r in rows if r[1] == "parent_lecture") == sorted(
        ["小星星托育", "阳光托育园", "小星星托育", "阳光托育园", "竹韵托育", "晨曦托育", "暮云托育"])
    assert {r[4] for r in rows} == {"missed"}
    # The closed centre keeps its name in the list though it is no longer in the registry.
    assert ("2026Q1", "parent_lecture", "P-FS", "暮云托育", "missed") in rows
    assert city_q1.overdue[0].planned_on == D(2026, 3, 2)


def test_the_county_report(case):
    report = completion_rows(region=case.yc, period="2026Q1", as_of=AS_OF)
    assert report.signed_guidance == {"numerator": 3, "denominator": 4, "rate": 0.75}
    assert [g.name for g in report.by_region] == ["塔山街道", "富盛镇"]
    assert by_code(report.by_region)["330602017"] == {
        "guidance": (1, 1, 0, 0, 0, 0, 0, 0, 0), "staff_training": (1, 1, 0, 0, 0, 0, 0, 0, 0),
        "parent_lecture": (1, 0, 0, 1, 0, 0, 0, 0, 0)}
    assert figures(report.completion["guidance"]) == (6, 4, 1, 1, 0, 1, 1, 1, 0)
    assert [(m["provider"], m["centre"]) for m in report.missing_pairs] == [("P-FS", case.rice.code)]


def test_a_township_report_lists_its_centres(case):
    report = completion_rows(region=case.tashan, period="2026Q1", as_of=AS_OF)
    assert report.by_region == []
    assert [g.name for g in report.by_centre] == ["小星星托育", "晨曦托育", "阳光托育园"]
    sunny = next(g for g in report.by_centre if g.name == "阳光托育园")
    assert figures(sunny.total) == (8, 4, 2, 2, 0, 2, 0, 1, 0)


def test_one_providers_report(case):
    report = completion_rows(region=case.yc, period="2026Q1", provider=case.tashan_chc, as_of=AS_OF)
    assert [g.code for g in report.by_provider] == ["P-TS"]
    assert figures(report.completion["guidance"]) == (3, 3, 0, 0, 0, 1, 1, 0, 0)
    assert figures(report.completion["parent_lecture"]) == (3, 0, 1, 2, 0, 0, 0, 0, 0)
    assert report.missing_pairs == []  # P-TS signed every centre it must
    assert report.signed_guidance["denominator"] == 4  # the region's centres, whoever serves them


def test_the_year_report_adds_the_later_quarters_and_supervision_and_a_trend(case):
    report = completion_rows(region=case.city, period="2026", as_of=AS_OF)
    assert report.kinds == ("guidance", "staff_training", "parent_lecture", "supervision")
    assert report.coverage_day == AS_OF  # the year is still running: as of the report's day
    # Q2..Q4: c1..c7 owe 7 of each kind a quarter (c8 ended on 03-01), all still pending.
    assert figures(report.completion["guidance"])[:5] == (27, 4, 1, 1, 21)
    assert figures(report.completion["staff_training"])[:5] == (29, 7, 0, 1, 21)
    assert figures(report.completion["parent_lecture"])[:5] == (29, 0, 1, 7, 21)
    # Supervision: c1..c7 (晨曦 in force 325 days; 暮云 59 days < 90 owes none).
    assert figures(report.completion["supervision"])[:5] == (7, 0, 0, 0, 7)
    assert [(t.period, t.owed, t.done, t.rate) for t in report.trend] == [
        ("2026Q1", 22, 13, round(13 / 22, 4)), ("2026Q2", 21, 0, 0.0), ("2026Q3", 21, 0, 0.0),
        ("2026Q4", 21, 0, 0.0)]


def test_a_report_as_of_an_earlier_day_sees_only_what_was_known_then(case):
    report = completion_rows(region=case.city, period="2026Q1", as_of=D(2026, 3, 20))
    assert report.coverage_day == D(2026, 3, 20)
    # c3's late record (04-10) and the 03-25 trainings had not happened yet.
    assert figures(report.completion["guidance"])[:5] == (6, 4, 0, 0, 2)
    assert figures(report.completion["staff_training"])[:6] == (8, 0, 0, 0, 8, 0)
    assert report.completion["guidance"].overdue >= 1
    c4 = [o for o in report.overdue if o.provider_code == "P-YC" and o.kind == "guidance"
          and o.centre_code == case.little.code]
    assert [(o.status, o.planned_on) for o in c4] == [("overdue", D(2026, 3, 2))]
    assert {o.status for o in report.overdue} == {"overdue"}
    assert [(t.period, t.owed, t.done) for t in report.trend] == [("2026Q1", 22, 4)]


def test_a_confirmation_stamped_after_the_day_is_not_known_yet(case):
    from django.utils import timezone

    from scheduling.models import RecordCentre

    RecordCentre.objects.filter(confirmation="confirmed").update(
        confirmed_at=timezone.make_aware(datetime.datetime(2026, 4, 25, 10)))
    report = completion_rows(region=case.city, period="2026Q1", as_of=AS_OF)
    assert report.completion["guidance"].confirmed == 0
    report = completion_rows(region=case.city, period="2026Q1", as_of=D(2026, 4, 30))
    assert report.completion["guidance"].confirmed == 1


def test_the_whole_installation(case):
    report = completion_rows(region=None, period="2026Q1", as_of=AS_OF)
    assert report.region is None and report.region_name == "全部地区"
    assert [g.name for g in report.by_region] == ["绍兴市"]
    assert report.total.owed == 22


@pytest.mark.parametrize("stored", [False, True])  # statuses computed, or the stored ones counted in SQL
def test_the_whole_installations_quarter_trends_as_its_year(case, stored):
    """A quarter's trend reads the year's earlier quarters (at the whole installation counted in
    a GROUP BY of their own): each quarter as the year report's trend has it."""
    from scheduling.services import statuses_refresh

    if stored:
        statuses_refresh(AS_OF)
    year = completion_rows(region=None, period="2026", as_of=AS_OF)
    q3 = completion_rows(region=None, period="2026Q3", as_of=AS_OF)
    assert q3.used_stored_statuses == year.used_stored_statuses == stored
    assert [(t.period, t.owed, t.done) for t in q3.trend] == [
        ("2026Q1", 22, 13), ("2026Q2", 21, 0), ("2026Q3", 21, 0)] == [
        (t.period, t.owed, t.done) for t in year.trend[:3]]
    assert q3.total.owed == 21  # the quarter's own counts: the earlier quarters only trend


def test_the_default_day_is_today_and_the_coverage_day_the_periods_last_day(case, monkeypatch):
    """A finished quarter is reported with what is known now: its late records count."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: D(2026, 5, 1))
    finished = completion_rows(region=case.city, period="2026Q1")
    assert (finished.as_of, finished.coverage_day) == (D(2026, 5, 1), D(2026, 3, 31))
    assert finished.as_json() == completion_rows(region=case.city, period="2026Q1", as_of=D(2026, 5, 1)).as_json()
    assert finished.total.done_late > 0  # known only after the quarter's last day
    running = completion_rows(region=case.city, period="2026Q2")
    assert (running.as_of, running.coverage_day) == (D(2026, 5, 1), D(2026, 5, 1))


def test_a_bad_period_is_a_value_error(case):
    with pytest.raises(ValueError):
        completion_rows(region=case.city, period="2026Q5")


def queries_for(region):
    with CaptureQueriesContext(connection) as ctx:
        completion_rows(region=region, period="2026", as_of=AS_OF)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("stored", [False, True])  # statuses computed, or the stored ones counted in SQL
def test_the_query_count_does_not_grow_with_the_region(case, django_assert_max_num_queries, stored):
    from scheduling.services import statuses_refresh

    if stored:
        statuses_refresh(AS_OF)
    small = queries_for(case.city)
    grow(case)  # ten times the centres, contracts, obligations, sessions and records
    if stored:
        statuses_refresh(AS_OF)
    with django_assert_max_num_queries(small):
        report = completion_rows(region=case.city, period="2026", as_of=AS_OF)
    assert report.used_stored_statuses == stored
    assert report.completion["guidance"].confirmed + report.completion["guidance"].disputed == 2 + 20
    # registry_as_of 3 (the coverage's contracts in force with its centres), the freshness probe 1;
    # then one statement, counting the stored statuses or computing them as of the day in SQL (no
    # longer the obligations one row each, their planned sessions, their confirmations and the
    # centres' names: 11; then 8 with the providers' also-covered townships in a query of their
    # own; 7 with the grades and 6 with the contracts in force in queries of their own)
    assert small == 5


@pytest.mark.parametrize("stored", [False, True])  # statuses computed, or the stored ones counted in SQL
@pytest.mark.parametrize("max_ids", [2000, 0])  # an IN list of townships, or today's tree plus moved-in
def test_a_township_that_moved_county_counts_in_its_new_county(case, monkeypatch, max_ids, stored):
    from mch_link import selectors
    from scheduling.services import statuses_refresh

    monkeypatch.setattr(selectors, "MAX_REGION_IDS", max_ids)
    new = f.region("330603100", "沥海街道", parent=case.kq, valid_from=D(2026, 1, 1))
    old = f.region("330602100", "沥海街道", parent=case.yc, valid_to=D(2025, 12, 31), successor=new)
    sea = f.centre("海韵托育", old)  # still filed under the old row
    sign(case.keqiao_chc, sea)
    schedule_generate(year=2026, today=D(2026, 1, 5))
    if stored:
        statuses_refresh(AS_OF)
    kq = completion_rows(region=case.kq, period="2026Q1", as_of=AS_OF)
    assert kq.used_stored_statuses == stored
    assert kq.total.owed == 2 + 3
    assert "沥海街道" in [g.name for g in kq.by_region]
    assert kq.signed_guidance == {"numerator": 2, "denominator": 2, "rate": 1.0}  # 竹韵 and 海韵
    yc = completion_rows(region=case.yc, period="2026Q1", as_of=AS_OF)
    assert yc.total.owed == 20
    city = completion_rows(region=case.city, period="2026Q1", as_of=AS_OF)
    assert [(g.code, g.total.owed) for g in city.by_region] == [("330602", 20), ("330603", 5)]
    assert city.used_stored_statuses == stored
    everything = completion_rows(region=None, period="2026Q1", as_of=AS_OF)
    assert [(g.code, g.total.owed) for g in everything.by_region] == [("330600", 25)]


@pytest.mark.parametrize("stored", [False, True])
def test_a_county_merged_into_another_counts_its_townships_in_the_successor(case, stored):
    """柯桥区 replaced by a new county 330699 from 2026-01-01 (撤并): its townships, still filed
    under the old row, count in the new county's report and coverage, and the city's report
    lists the new county."""
    from mch_link.models import Region
    from mch_link.selectors import coverage
    from scheduling.services import statuses_refresh

    merged = f.region("330699", "新柯桥区", parent=case.city, valid_from=D(2026, 1, 1))
    Region.objects.filter(pk=case.kq.pk).update(valid_to=D(2025, 12, 31), successor=merged)
    if stored:
        statuses_refresh(AS_OF)
    new = completion_rows(region=merged, period="2026Q1", as_of=AS_OF)
    assert new.used_stored_statuses == stored
    old = completion_rows(region=case.kq, period="2026Q1", as_of=AS_OF)
    assert new.region.code == old.region.code == "330699"  # the old code resolves to its successor
    assert new.total.owed == 2  # 竹韵 with 柯桥社区: staff training and parent lecture (guidance waived)
    assert [g.code for g in new.by_region] == ["330603001"]
    assert new.signed_guidance == {"numerator": 1, "denominator": 1, "rate": 1.0}
    city = completion_rows(region=case.city, period="2026Q1", as_of=AS_OF)
    assert [(g.code, g.total.owed) for g in city.by_region] == [("330602", 20), ("330699", 2)]
    assert [c.code for c in coverage(D(2026, 3, 31), merged).children] == ["330603001"]


@pytest.mark.parametrize("stored", [False, True])
def test_a_county_without_townships_reports_nothing_owed(case, monkeypatch, stored):
    """A county just created, before its townships are filed: an empty report, not an error,
    from the stored statuses (vacuously fresh) or computed."""
    from reports import rows

    empty = f.region("330698", "新设区", parent=case.city)
    if not stored:
        monkeypatch.setattr(rows, "_stored_statuses_fresh", lambda *a, **k: False)
    report = completion_rows(region=empty, period="2026Q1", as_of=AS_OF)
    assert report.used_stored_statuses == stored
    assert (report.total.owed, report.by_region, report.overdue) == (0, [], [])
    assert report.signed_guidance == {"numerator": 0, "denominator": 0, "rate": None}
