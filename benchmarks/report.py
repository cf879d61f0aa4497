"""Benchmark: the completion report (reports.rows.completion_rows) at province scale.

    .venv/bin/python benchmarks/report.py [--centres 10000] [--runs 7] [--db PATH [--reuse]] [--profile]

Builds, in a throwaway SQLite database or DATABASE_URL's (bulk_create, deterministic: random.Random(1)), a
province: 11 cities, 88 counties, 1,000 townships, one provider per township plus the county
and city MCH agencies, `--centres` centres with grades, and the signed contracts the tier rules
require, in force 2025-01-01..2027-12-31. Then three years of obligations (2025..2027) built
directly with bulk_create (not planned): done_on drawn per obligation (on time, late, not done),
a few cancelled or waived, each fact with the day it was entered; for 2026, one held session
with a submitted record and its centre's confirmation per done guidance obligation; for 2027,
a planned session per open quarterly obligation of Q2 and Q3. The stored statuses and
confirmations are then refreshed as of TODAY (statuses_refresh, as the nightly job leaves them).

It times, in one process, `--runs` paired rounds (warm cache), for a city and the province:

1. completion_rows() as the dashboard gives it, as of TODAY: the finished year 2026 (with its
   records) and the running quarter 2027Q2; and the year 2026 as of a past day (2026-12-31),
   whose statuses are computed from the facts rather than read;
2. the part of each spent in mch_link.selectors (registry_as_of + coverage), which the report
   reuses for the signed-guidance rate and the required pairs;
3. the baseline: one raw SQL statement of the same figures (`baseline()`: the completion counts
   by sub-region, provider, kind and status with the confirmations and the trend quarters; the
   signed-guidance rate and the centres not covered; the coverage by tier and the missing
   pairs; the overdue and missed obligations), through connection.cursor(). As of TODAY it
   counts the stored statuses; as of a past day it computes each status in the statement from
   the facts as known that day (`past_day_ctes()`, written by hand from the rules). For every
   report it asserts, untimed, that the baseline's rows give exactly the report's figures and
   lists, and for those as of TODAY that the stored-status report equals the one computed
   from the facts. The data has knowledge time (records entered a few days after they were
   held, some late entries, resolutions and confirmations stamped), so that a past day's
   figures differ from today's in each of its rules;
4. for reference, the bare GROUP BY kind, status of the same obligations (`bare_aggregate()`).

The measurements are interleaved (report, coverage, baseline, bare, report, ...), each after a
gc.collect(); the medians count, and each ratio is the median of the rounds' own ratios (on
a loaded machine the best runs flatter whichever measurement was lucky). It prints the
seconds, the ratio report / baseline (target: at most 1.5), the same without the coverage
part, and the ratio to the bare GROUP BY. Nothing about time is asserted: this is a
benchmark, not a test. `--db PATH` keeps the database; `--db PATH --reuse` times it again
without rebuilding. On PostgreSQL: DATABASE_URL=postgres://.../an_empty_db (built there,
kept), then the same with --reuse.
"""

import argparse
import cProfile
import datetime
import gc
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # as a script or imported by gunicorn
from common import benchmark_database, uscc  # noqa: E402

YEARS = (2025, 2026, 2027)
TODAY = datetime.date(2027, 5, 20)
REGISTRY_DAY = datetime.date(2025, 1, 1)
CITIES = 11
COUNTIES_PER_CITY = 8
TOWNSHIPS = 1000
SUBDISTRICT_SHARE = 0.4
CITY_MODEL_SHARE = 0.01
LEVEL_2_UP_SHARE = 0.08
LEVEL_3_SHARE = 0.05
DONE_ON_TIME_SHARE = 0.82
DONE_LATE_SHARE = 0.08  # the rest of the finished periods: missed
CANCELLED_SHARE = 0.01
WAIVED_SHARE = 0.01
CONFIRMED_SHARE = 0.7
DISPUTED_SHARE = 0.03
LATE_ENTRY_SHARE = 0.03  # records entered more than LATE_ENTRY_DAYS after they were held (补录)






# --------------------------------------------------------------------------- the province


def build_registry(centres_wanted, rng):
    from django.db import transaction

    from mch_link.models import Centre, CentreGrade, Contract, Grade, Provider, Region
    from mch_link.selectors import registry_as_of
    from mch_link.tiers import required_pairs

    with transaction.atomic():
        Region.objects.bulk_create([
            Region(code=f"33{i + 1:02d}00", name=f"第{i + 1}市", level=Region.Level.CITY) for i in range(CITIES)])
        cities = list(Region.objects.filter(level=Region.Level.CITY).order_by("code"))
        Region.objects.bulk_create([
            Region(code=f"{city.code[:4]}{j + 1:02d}", name=f"{city.name}第{j + 1}区", level=Region.Level.COUNTY,
                   parent=city)
            for city in cities for j in range(COUNTIES_PER_CITY)])
        counties = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
        townships = []
        for i in range(TOWNSHIPS):
            county = counties[i % len(counties)]
            suffix = "街道" if rng.random() < SUBDISTRICT_SHARE else rng.choice(["镇", "乡"])
            townships.append(Region(code=f"{county.code}{i // len(counties) + 1:03d}", name=f"第{i + 1}{suffix}",
                                    level=Region.Level.TOWNSHIP, parent=county))
        Region.objects.bulk_create(townships, batch_size=1000)
        townships = list(Region.objects.filter(level=Region.Level.TOWNSHIP).select_related("parent").order_by("code"))

        providers = [Provider(code=f"P-{c.code}", name=f"{c.name}妇幼保健院", kind=Provider.Kind.CITY_MCH, region=c)
                     for c in cities]
        providers += [Provider(code=f"P-{c.code}", name=f"{c.name}妇幼保健院", kind=Provider.Kind.COUNTY_MCH,
                               region=c) for c in counties]
        providers += [
            Provider(code=f"P-{t.code}", name=f"{t.name}{'社区卫生服务中心' if t.is_subdistrict else '卫生院'}",
                     kind=Provider.Kind.COMMUNITY if t.is_subdistrict else Provider.Kind.TOWNSHIP, region=t)
            for t in townships]
        Provider.objects.bulk_create(providers, batch_size=1000)

        centres = []
        for n in range(1, centres_wanted + 1):
            township = rng.choice(townships)
            filed_on = datetime.date(2019, 1, 1) + datetime.timedelta(days=rng.randint(0, 5 * 365))
            centres.append(Centre(code=uscc(n, township.parent.code, rng), name=f"托育机构{n:05d}", township=township,
                                  places=rng.randint(20, 150), filed_on=filed_on))
        Centre.objects.bulk_create(centres, batch_size=1000)
        grades = {g.rank: g for g in Grade.objects.all()}
        centre_grades = []
        for pk, filed_on in Centre.objects.order_by("pk").values_list("pk", "filed_on"):
            draw = rng.random()
            if draw < CITY_MODEL_SHARE:
                rank = 4
            elif draw < CITY_MODEL_SHARE + LEVEL_2_UP_SHARE:
                rank = rng.choice([3, 2])
            elif draw < CITY_MODEL_SHARE + LEVEL_2_UP_SHARE + LEVEL_3_SHARE:
                rank = 1
            else:
                continue
            centre_grades.append(CentreGrade(centre_id=pk, grade=grades[rank],
                                             awarded_on=min(filed_on + datetime.timedelta(days=90), REGISTRY_DAY)))
        CentreGrade.objects.bulk_create(centre_grades, batch_size=1000)

        registry = registry_as_of(REGISTRY_DAY)
        pairs = sorted(required_pairs(registry.centres, registry.providers))
        Contract.objects.bulk_create([
            Contract(provider_id=p.provider_id, centre_id=p.centre_id, status=Contract.Status.SIGNED,
                     signed_on=datetime.date(2024, 12, 1), valid_from=REGISTRY_DAY,
                     valid_to=datetime.date(YEARS[-1], 12, 31))
            for p in pairs], batch_size=1000)
    return {"cities": len(cities), "counties": len(counties), "townships": len(townships),
            "providers": len(providers), "centres": centres_wanted, "graded": len(centre_grades),
            "contracts": len(pairs)}


def _done_on(rng, first, last, grace):
    """A record date drawn for a period: on time, late (within grace) or none."""
    draw = rng.random()
    if draw < DONE_ON_TIME_SHARE:
        return first + datetime.timedelta(days=rng.randint(0, (last - first).days))
    if draw < DONE_ON_TIME_SHARE + DONE_LATE_SHARE:
        return last + datetime.timedelta(days=rng.randint(1, grace))
    return None


def _entered(known, first, done_on, resolution):
    """(done_known_on, resolved_at): the day a record was entered (within 3 days of being held,
    a late entry for LATE_ENTRY_SHARE of them) and when a resolution was, none after TODAY."""
    from django.conf import settings

    done_known_on = resolved_at = None
    if done_on is not None:
        late = known.random() < LATE_ENTRY_SHARE
        days = known.randint(settings.LATE_ENTRY_DAYS + 1, 40) if late else known.randint(0, 3)
        done_known_on = min(done_on + datetime.timedelta(days=days), TODAY)
    if resolution:
        resolved_at = _at(min(first + datetime.timedelta(days=known.randint(0, 120)), TODAY))
    return done_known_on, resolved_at


def _at(day):
    """10:00 local time on `day`, as the app stamps an entry (aware)."""
    from django.utils import timezone

    return datetime.datetime.combine(day, datetime.time(10), tzinfo=timezone.get_current_timezone())


def build_obligations(rng):
    """Three years of obligations, with done_on as of TODAY, resolutions and stored statuses;
    records for 2026's done guidance; planned sessions for 2027's open Q2/Q3 obligations."""
    from django.conf import settings
    from django.db import transaction

    from mch_link.models import Contract
    from scheduling import periods
    from scheduling.models import Obligation, Record, RecordCentre, Session
    from scheduling.status import ObligationFacts, obligation_status

    grace = settings.GRACE_DAYS
    # Knowledge time (when each fact was entered) drawn from a stream of its own, so that the
    # rest of the data is what it was before these facts were drawn
    known = random.Random(2)
    contracts = list(Contract.objects.order_by("pk").values_list("pk", "provider_id", "centre_id"))
    counts = {"obligations": 0, "sessions": 0, "records": 0, "planned": 0}
    Through = Session.obligations.through
    nine, eleven = datetime.time(9), datetime.time(11)
    for year in YEARS:
        with transaction.atomic():
            rows = []
            for pk, _provider_id, _centre_id in contracts:
                for kind, code in periods.owed_periods(REGISTRY_DAY, datetime.date(YEARS[-1], 12, 31), year):
                    first, last = periods.period_bounds(code)
                    draw = rng.random()
                    resolution = "cancelled" if draw < CANCELLED_SHARE else (
                        "waived" if draw < CANCELLED_SHARE + WAIVED_SHARE else "")
                    done_on = _done_on(rng, first, last, grace)
                    if done_on is not None and done_on > TODAY:
                        done_on = None
                    done_known_on, resolved_at = _entered(known, first, done_on, resolution)
                    status = obligation_status(ObligationFacts(first, last, resolution == "cancelled",
                                                               resolution == "waived", done_on), TODAY, grace)
                    rows.append(Obligation(contract_id=pk, kind=kind, period=code, start=first, end=last,
                                           resolution=resolution, done_on=done_on, done_known_on=done_known_on,
                                           resolved_at=resolved_at, status=status, status_on=TODAY))
            Obligation.objects.bulk_create(rows, batch_size=1000)
            counts["obligations"] += len(rows)
        provider_of = {pk: provider_id for pk, provider_id, _c in contracts}
        centre_of = {pk: centre_id for pk, _p, centre_id in contracts}
        if year == 2026:  # held sessions with submitted records for the done guidance
            with transaction.atomic():
                done = list(Obligation.objects.filter(period__startswith="2026", kind="guidance",
                                                      done_on__isnull=False).values_list("pk", "contract_id",
                                                                                         "done_on", "done_known_on"))
                sessions = [Session(provider_id=provider_of[c], kind="guidance", date=d, start=nine, end=eleven,
                                    status=Session.Status.HELD, pinned=True) for _pk, c, d, _k in done]
                Session.objects.bulk_create(sessions, batch_size=1000)
                Through.objects.bulk_create([Through(session_id=s.pk, obligation_id=pk)
                                             for s, (pk, _c, _d, _k) in zip(sessions, done, strict=True)],
                                            batch_size=2000)
                records = [Record(session_id=s.pk, held_on=s.date, start=nine, end=eleven,
                                  status=Record.Status.SUBMITTED, submitted_at=_at(entered_on))
                           for s, (_pk, _c, _d, entered_on) in zip(sessions, done, strict=True)]
                Record.objects.bulk_create(records, batch_size=1000)
                parts = []
                for r, (_pk, c, _d, entered_on) in zip(records, done, strict=True):
                    draw = rng.random()
                    confirmation = "confirmed" if draw < CONFIRMED_SHARE else (
                        "disputed" if draw < CONFIRMED_SHARE + DISPUTED_SHARE else "unconfirmed")
                    confirmed_at = None if confirmation == "unconfirmed" else _at(
                        min(entered_on + datetime.timedelta(days=known.randint(0, 30)), TODAY))
                    parts.append(RecordCentre(record_id=r.pk, centre_id=centre_of[c], confirmation=confirmation,
                                              confirmed_at=confirmed_at))
                RecordCentre.objects.bulk_create(parts, batch_size=1000)
                counts["sessions"] += len(sessions)
                counts["records"] += len(records)
        if year == 2027:  # planned sessions for the open quarterly obligations of Q2 and Q3
            with transaction.atomic():
                open_ = list(Obligation.objects.filter(period__in=["2027Q2", "2027Q3"], done_on__isnull=True,
                                                       resolution="").values_list("pk", "contract_id", "period"))
                sessions = []
                for _pk, c, code in open_:
                    first, last = periods.period_bounds(code)
                    day = first + datetime.timedelta(days=rng.randint(0, (last - first).days - 14))
                    sessions.append(Session(provider_id=provider_of[c], kind="guidance", date=day, start=nine,
                                            end=eleven))
                Session.objects.bulk_create(sessions, batch_size=1000)
                Through.objects.bulk_create([Through(session_id=s.pk, obligation_id=pk)
                                             for s, (pk, _c, _p) in zip(sessions, open_, strict=True)],
                                            batch_size=2000)
                counts["planned"] += len(sessions)
    # The stored statuses as the nightly job leaves them: with the planned sessions, as of TODAY.
    from django.db import connection

    from scheduling.services import statuses_refresh

    statuses_refresh(TODAY)
    if connection.vendor == "postgresql":  # the planner's statistics as autovacuum leaves them
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return counts


# --------------------------------------------------------------------------- the measurements


def bare_aggregate(region, period_codes):
    """The simplest count of the same obligations: one GROUP BY by kind and stored status
    (joined to the centre's township and county for a city). For reference only."""

    placeholders = ", ".join(["%s"] * len(period_codes))
    if region is None:
        sql = (f"SELECT o.kind, o.status, COUNT(*) FROM scheduling_obligation o "
               f"WHERE o.period IN ({placeholders}) GROUP BY o.kind, o.status")
        params = list(period_codes)
    else:
        sql = (f"SELECT o.kind, o.status, COUNT(*) FROM scheduling_obligation o "
               f"JOIN mch_link_contract c ON c.id = o.contract_id "
               f"JOIN mch_link_centre ce ON ce.id = c.centre_id "
               f"JOIN mch_link_region t ON t.id = ce.township_id "
               f"JOIN mch_link_region co ON co.id = t.parent_id "
               f"WHERE o.period IN ({placeholders}) AND co.parent_id = %s GROUP BY o.kind, o.status")
        params = [*period_codes, region.pk]
    return run_raw(sql, params)


def run_raw(sql, params):
    """The rows of a raw statement, run as the app runs its kept statements: on PostgreSQL with
    PREPARED_STATEMENTS (the default), its text (parameters merged, as the app's kept statements
    are) is prepared on the server once per connection, then only executed; elsewhere through
    connection.cursor(). So the floor plans its statement no more often than the app does."""
    from django.conf import settings
    from django.db import connection

    from mch_link import statements

    if connection.vendor == "postgresql" and settings.PREPARED_STATEMENTS:
        return statements.fetchall(connection.alias, connection.ops.compose_sql(sql, params), None)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def baseline(region, counted, trend, day, as_of, past=False):
    """One raw SQL statement of the report's figures, through connection.cursor(), on today's
    region tree (the benchmark has no boundary changes). Its parts (UNION ALL):

    - the completion counts by sub-region (the counties of a city, the cities of the province),
      provider, kind and status over the `counted` periods, with how many are confirmed
      and disputed, how many were late entries (补录: the report's `backfilled`, the same
      condition as reports.rows._backfilled_q), and per quarter of the `trend`: the per-kind,
      per-region, per-provider and per-quarter figures are sums of these;
    - the signed-guidance numerator and denominator on `day`, and the centres not covered;
    - the required-pair coverage by tier on `day` (each centre's grade held on `day`, the latest
      award winning), and the missing pairs;
    - the overdue and missed obligations of the counted periods, with their planned day (none
      once a record is dated by `as_of`).

    As of today (`past` false) the statuses and confirmations are the stored ones (the nightly
    job's, as of today). As of a past day (`past`) each status is computed in the statement
    from the facts as known on `as_of` (past_day_ctes: the rules of
    scheduling.status.obligation_status, written here by hand).

    Rows: (what, key, provider, kind, status, n, m1, m2, x1, x2, x3, backfilled, *n of each trend quarter):
    see assert_same_figures for each part's columns. Each column has one type in every part
    (numbers, or text: the sub-region id and the planned day are cast to text), as
    PostgreSQL's UNION requires."""
    from django.conf import settings
    from django.db import connection

    from mch_link.models import RANK_CITY_MODEL, RANK_LEVEL_2, Provider

    read = sorted(set(counted) | set(trend))
    marks = ", ".join(["%s"] * len(read))
    counted_marks = ", ".join(["%s"] * len(counted))
    in_counted = f"o.period IN ({counted_marks})"
    sub = "co.parent_id" if region is None else "co.id"
    inside = "" if region is None else "AND co.parent_id = %s"
    where = [] if region is None else [region.pk]
    open_on = "ce.filed_on <= %s AND (ce.closed_on IS NULL OR ce.closed_on > %s)"
    in_force = ("c.status IN ('signed', 'terminated') AND c.valid_from <= %s AND c.valid_to >= %s "
                "AND (c.terminated_on IS NULL OR c.terminated_on > %s)")
    per_trend = "".join(", COUNT(*) FILTER (WHERE o.period = %s)" for _q in trend)
    padding = ", NULL" * (1 + len(trend))  # the backfilled count and the trend quarters
    days = ("CAST(julianday(o.done_known_on) - julianday(o.done_on) AS INTEGER)" if connection.vendor == "sqlite"
            else "(o.done_known_on - o.done_on)")
    backfilled = (f"COUNT(*) FILTER (WHERE {in_counted} AND o.status IN ('done_on_time', 'done_late') "
                  f"AND o.done_known_on IS NOT NULL AND o.done_on >= o.start AND {days} > %s)")
    joins = ("JOIN mch_link_contract c ON c.id = o.contract_id "
             "JOIN mch_link_centre ce ON ce.id = c.centre_id JOIN mch_link_region t ON t.id = ce.township_id "
             "JOIN mch_link_region co ON co.id = t.parent_id")
    # the open centres with their township, county, city and grade rank on the day
    ctes = (
        f"WITH oc AS (SELECT ce.id, ce.code, ce.name, ce.township_id AS township, t.parent_id AS county, "
        f"co.parent_id AS city, "
        f"(SELECT g.rank FROM mch_link_centregrade cg JOIN mch_link_grade g ON g.id = cg.grade_id "
        f"WHERE cg.centre_id = ce.id AND cg.awarded_on <= %s AND (cg.valid_until IS NULL OR cg.valid_until >= %s) "
        f"ORDER BY cg.awarded_on DESC, cg.id DESC LIMIT 1) AS rank "
        f"FROM mch_link_centre ce JOIN mch_link_region t ON t.id = ce.township_id "
        f"JOIN mch_link_region co ON co.id = t.parent_id WHERE {open_on} {inside}), "
        # the pairs the tier rules require, each with whether a contract in force covers it
        f"rp AS (SELECT tier, provider_id, centre_id, code, EXISTS (SELECT 1 FROM mch_link_contract c "
        f"WHERE c.provider_id = pairs.provider_id AND c.centre_id = pairs.centre_id AND {in_force}) AS covered "
        f"FROM (SELECT 'grassroots' AS tier, p.id AS provider_id, oc.id AS centre_id, oc.code FROM oc "
        f"JOIN mch_link_provider p ON p.region_id = oc.township AND p.kind IN (%s, %s) "
        f"UNION ALL SELECT 'county', p.id, oc.id, oc.code FROM oc JOIN mch_link_provider p "
        f"ON p.region_id = oc.county AND p.kind = %s WHERE oc.rank >= %s "
        f"UNION ALL SELECT 'city', p.id, oc.id, oc.code FROM oc JOIN mch_link_provider p "
        f"ON p.region_id = oc.city AND p.kind = %s WHERE oc.rank >= %s) AS pairs)")
    params = [day, day, day, day, *where, day, day, day,
              Provider.Kind.COMMUNITY, Provider.Kind.TOWNSHIP, Provider.Kind.COUNTY_MCH, RANK_LEVEL_2,
              Provider.Kind.CITY_MCH, RANK_CITY_MODEL]
    counts = (f"COUNT(*) FILTER (WHERE {in_counted}), "
              f"COUNT(*) FILTER (WHERE {in_counted} AND o.confirmation = 'confirmed'), "
              f"COUNT(*) FILTER (WHERE {in_counted} AND o.confirmation = 'disputed'), NULL, NULL, NULL, "
              f"{backfilled}{per_trend} ")
    counts_params = [*counted, *counted, *counted, *counted, settings.LATE_ENTRY_DAYS, *trend]
    if not past:
        sql = (
            f"{ctes} SELECT 'completion', CAST({sub} AS TEXT), c.provider_id, o.kind, o.status, {counts}"
            f"FROM scheduling_obligation o {joins} WHERE o.period IN ({marks}) {inside} "
            f"GROUP BY {sub}, c.provider_id, o.kind, o.status "
            f"UNION ALL SELECT 'overdue', ce.code, c.provider_id, o.kind, o.status, o.id, NULL, NULL, ce.name, "
            f"o.period, CAST(CASE WHEN o.done_on IS NOT NULL AND o.done_on <= %s THEN NULL ELSE (SELECT MIN(s.date) "
            f"FROM scheduling_session s JOIN scheduling_session_obligations so ON so.session_id = s.id "
            f"WHERE so.obligation_id = o.id AND s.status = 'planned') END AS TEXT){padding} "
            f"FROM scheduling_obligation o {joins} WHERE o.period IN ({counted_marks}) "
            f"AND o.status IN ('overdue', 'missed') {inside} ")
        params += [*counts_params, *read, *where, as_of, *counted, *where]
    else:
        known, known_params = past_day_ctes(sub, joins, (marks, read), (inside, where), as_of)
        sql = (
            f"{ctes}, {known} SELECT 'completion', CAST(o.sub AS TEXT), o.provider_id, o.kind, o.status, {counts}"
            f"FROM ko o GROUP BY o.sub, o.provider_id, o.kind, o.status "
            f"UNION ALL SELECT 'overdue', o.centre_code, o.provider_id, o.kind, o.status, o.id, NULL, NULL, "
            f"o.centre_name, o.period, CAST(CASE WHEN o.known_done IS NOT NULL THEN NULL ELSE o.planned_on END "
            f"AS TEXT){padding} FROM ko o WHERE o.period IN ({counted_marks}) AND o.status IN ('overdue', 'missed') ")
        params += [*known_params, *counts_params, *counted]
    sql += (
        f"UNION ALL SELECT 'centres', NULL, NULL, NULL, NULL, COUNT(*), NULL, NULL, NULL, NULL, NULL{padding} FROM oc "
        f"UNION ALL SELECT 'signed', NULL, NULL, NULL, NULL, COUNT(DISTINCT c.centre_id), NULL, NULL, NULL, NULL, NULL"
        f"{padding} FROM mch_link_contract c JOIN oc ON oc.id = c.centre_id WHERE {in_force} "
        f"UNION ALL SELECT 'uncovered', oc.code, NULL, NULL, NULL, NULL, NULL, NULL, oc.name, NULL, NULL{padding} "
        f"FROM oc "
        f"WHERE NOT EXISTS (SELECT 1 FROM mch_link_contract c WHERE c.centre_id = oc.id AND {in_force}) "
        f"UNION ALL SELECT 'tier', tier, NULL, NULL, NULL, COUNT(*), COUNT(*) FILTER (WHERE covered), NULL, NULL, "
        f"NULL, NULL{padding} FROM rp GROUP BY tier "
        f"UNION ALL SELECT 'missing', tier, provider_id, NULL, NULL, NULL, NULL, NULL, code, NULL, NULL{padding} "
        f"FROM rp "
        f"WHERE NOT covered"
    )
    params += [day, day, day, day, day, day]
    return run_raw(sql, params)


def past_day_ctes(sub, joins, periods_read, region_filter, as_of):
    """The obligations of a report as of a past day with their status computed from the facts as
    known on `as_of` (knowledge time), as CTEs ending in `ko` (one row per obligation: id,
    kind, period, start, done_on, done_known_on, provider_id, centre code and name, sub, the
    record's day as known (known_done), planned_on, confirmation, status); (sql, params).
    `periods_read`: (marks, periods), `region_filter`: (SQL, params) of the region, as baseline()
    writes them.

    Written by hand from the rules (scheduling/status.py's docstrings), not from the app's query
    builders: a resolution entered (resolved_at) after `as_of` is not known; a record counts
    when dated by `as_of` and entered (done_known_on) by then; the planned day is the earliest
    session still planned on `as_of` (planned, or held with its record submitted after it);
    the centre's answer counts when stamped by `as_of` (confirmed beats disputed); then
    cancelled, waived, done on time (by the period's last day), done late (by its last grace
    day), missed (a later record, or the grace days over), planned (a session on or after
    `as_of`), overdue (one before), unplanned. The last grace day is the period's last day plus
    GRACE_DAYS by the database's date arithmetic."""
    from django.conf import settings
    from django.db import connection

    from scheduling.selectors import end_of_day

    (marks, read), (inside, where) = periods_read, region_filter
    grace = settings.GRACE_DAYS
    grace_end = (f"date(o.\"end\", '+{grace} days')" if connection.vendor == "sqlite"
                 else f"(o.\"end\" + {grace})")
    entered_after = connection.ops.adapt_datetimefield_value(end_of_day(as_of))  # the first instant after as_of
    sql = (
        f"ob AS (SELECT o.id, o.kind, o.period, o.start, o.\"end\" AS last_day, {grace_end} AS grace_end, o.done_on, "
        f"o.done_known_on, CASE WHEN o.resolved_at >= %s THEN '' ELSE o.resolution END AS resolution, "
        f"CASE WHEN o.done_on <= %s AND (o.done_known_on IS NULL OR o.done_known_on <= %s) THEN o.done_on END "
        f"AS known_done, c.provider_id, c.centre_id, ce.code AS centre_code, ce.name AS centre_name, {sub} AS sub "
        f"FROM scheduling_obligation o {joins} WHERE o.period IN ({marks}) {inside}), "
        f"se AS (SELECT ob.id, "
        f"MIN(CASE WHEN s.status = 'planned' OR (s.status = 'held' AND r.submitted_at >= %s) THEN s.date END) "
        f"AS planned_on, "
        f"MAX(CASE WHEN r.status = 'submitted' AND rc.centre_id = ob.centre_id "
        f"AND (rc.confirmed_at IS NULL OR rc.confirmed_at < %s) "
        f"THEN (CASE rc.confirmation WHEN 'confirmed' THEN 2 WHEN 'disputed' THEN 1 ELSE 0 END) ELSE 0 END) AS answer "
        f"FROM ob JOIN scheduling_session_obligations so ON so.obligation_id = ob.id "
        f"JOIN scheduling_session s ON s.id = so.session_id "
        f"LEFT JOIN scheduling_record r ON r.session_id = s.id "
        f"LEFT JOIN scheduling_recordcentre rc ON rc.record_id = r.id GROUP BY ob.id), "
        f"ko AS (SELECT ob.*, se.planned_on, "
        f"CASE se.answer WHEN 2 THEN 'confirmed' WHEN 1 THEN 'disputed' ELSE 'unconfirmed' END AS confirmation, "
        f"CASE WHEN ob.resolution = 'cancelled' THEN 'cancelled' WHEN ob.resolution = 'waived' THEN 'waived' "
        f"WHEN ob.known_done IS NOT NULL THEN (CASE WHEN ob.known_done <= ob.last_day THEN 'done_on_time' "
        f"WHEN ob.known_done <= ob.grace_end THEN 'done_late' ELSE 'missed' END) "
        f"WHEN %s > ob.grace_end THEN 'missed' "
        f"WHEN se.planned_on IS NOT NULL THEN (CASE WHEN %s <= se.planned_on THEN 'planned' ELSE 'overdue' END) "
        f"ELSE 'unplanned' END AS status "
        f"FROM ob LEFT JOIN se ON se.id = ob.id)")
    return sql, [entered_after, as_of, as_of, *read, *where, entered_after, entered_after, as_of, as_of]


def trend_periods(period):
    """The quarters of a report's trend: those of its year, up to its own."""
    from scheduling import periods

    year, quarter = periods.parse_period(period)
    return periods.quarters_of_year(year)[: quarter or 4]


def assert_same_figures(report, rows, region):
    """The baseline's rows give the report's figures: per kind, per sub-region and per provider
    (owed, on time, late, missed, pending, confirmed), the trend, the signed-guidance rate,
    the coverage by tier, and the lists: overdue obligations, uncovered centres, missing pairs."""
    from mch_link.models import Provider, Region
    from reports.rows import CONFIRMED, DISPUTED, UNCONFIRMED, Completion

    by_kind, by_sub, by_provider, sg, tiers = {}, {}, {}, {}, {}
    overdue, uncovered, missing = [], [], []
    providers = {pk: (code, name) for pk, code, name in Provider.objects.values_list("pk", "code", "name")}
    trend_codes = trend_periods(report.period)
    trend = {code: Completion() for code in trend_codes}
    for what, key, provider_id, kind, status, n, m1, m2, x1, x2, x3, late_entries, *per_trend in rows:
        if what == "completion":
            key = int(key) if key is not None else None
            for code, m in zip(trend_codes, per_trend, strict=True):
                trend[code].add(status, n=m)
            for k, table in ((kind, by_kind), ((key, kind), by_sub), ((provider_id, kind), by_provider)):
                c = table.setdefault(k, Completion())
                c.add(status, CONFIRMED, m1)
                c.add(status, DISPUTED, m2)
                c.add(status, UNCONFIRMED, n - m1 - m2)
                c.backfilled += late_entries
        elif what == "overdue":
            overdue.append({"period": x2, "kind": kind, "provider": providers[provider_id][0],
                            "provider_name": providers[provider_id][1], "centre": key, "centre_name": x1,
                            "planned_on": x3, "status": status})
        elif what == "uncovered":
            uncovered.append({"code": key, "name": x1})
        elif what == "tier":
            tiers[key] = {"required": n, "covered": m1, "missing": n - m1}
        elif what == "missing":
            missing.append((key, providers[provider_id][0], x1))
        else:
            sg[what] = n
    as_json = report.as_json()
    assert {key: c.as_json() for key, c in by_kind.items()} == as_json["completion"], "completion differs"
    region_ids = dict(Region.objects.values_list("code", "pk"))
    for row in report.by_region:
        for kind, c in row.completion.items():
            expected = by_sub.get((region_ids[row.code], kind), Completion())
            assert c.as_json() == expected.as_json(), f"by region {row.code} {kind} differs"
    got = {(providers[pid][0], kind): c.as_json() for (pid, kind), c in by_provider.items()
           if c.owed or c.cancelled or c.waived}
    assert got == {(row.code, kind): c.as_json() for row in report.by_provider for kind, c in row.completion.items()
                   if c.owed or c.cancelled or c.waived}, "by provider differs"
    assert [(t.period, t.owed, t.done) for t in report.trend] == [
        (code, trend[code].owed, trend[code].done) for code in trend_codes], "trend differs"
    assert {tier: {k: v for k, v in t.items() if k != "label"} for tier, t in report.by_tier.items()
            if t["required"]} == tiers, "coverage by tier differs"
    assert (as_json["signed_guidance_rate"]["numerator"], as_json["signed_guidance_rate"]["denominator"]) == (
        sg["signed"], sg["centres"]), "signed-guidance rate differs"

    def in_order(items, key):
        return sorted(items, key=key)

    assert in_order(overdue, lambda o: (o["period"], o["kind"], o["provider"], o["centre"])) == in_order(
        as_json["overdue"], lambda o: (o["period"], o["kind"], o["provider"], o["centre"])), "overdue list differs"
    assert sorted(uncovered, key=lambda c: c["code"]) == as_json["uncovered_centres"], "uncovered centres differ"
    assert sorted(missing) == sorted((m["tier"], m["provider"], m["centre"]) for m in as_json["missing_pairs"]), \
        "missing pairs differ"


def interleaved(runs, *fns):
    """Paired rounds: each of `fns` run once per round, in turn, so that a busy machine slows
    the members of a round alike. Returns [(seconds of each round, last result)] in order."""
    times = [[] for _ in fns]
    results = [None] * len(fns)
    for _ in range(runs):
        for i, fn in enumerate(fns):
            results[i] = None  # no garbage of the last run left for this one's collections
            gc.collect()
            started = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - started)
    return list(zip(times, results, strict=True))


def paired_ratio(times, base_times):
    """The median over the rounds of one measurement over another of the same round."""
    return statistics.median(t / b for t, b in zip(times, base_times, strict=True))


def coverage_part(region, period, as_of):
    """What the report spends in mch_link.selectors (registry_as_of + coverage), which it reuses."""
    from mch_link.selectors import coverage, registry_as_of
    from scheduling import periods

    day = min(periods.period_bounds(period)[1], as_of)
    return coverage(day, region, registry=registry_as_of(day, region), drill_down=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--centres", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=9,
                        help="paired rounds (each measurement once per round); the medians count")
    parser.add_argument("--db", help="SQLite file to use (kept); default: a temporary file, removed after")
    parser.add_argument("--reuse", action="store_true",
                        help="time the database given with --db as it is, built by an earlier run")
    parser.add_argument("--profile", action="store_true", help="cProfile one province report and print hotspots")
    args = parser.parse_args(argv)

    with benchmark_database(args.db, "mch-report-bench-", reuse=args.reuse):
        from mch_link.models import Region
        from reports.rows import completion_rows, report_periods
        from scheduling import periods
        from scheduling.models import Obligation

        started = time.perf_counter()
        if not args.reuse:
            rng = random.Random(1)
            built = build_registry(args.centres, rng)
            counts = build_obligations(rng)
            print(f"built in {time.perf_counter() - started:.1f} s: {built['cities']} cities, {built['counties']} "
                  f"counties, {built['townships']} townships, {built['providers']} providers, "
                  f"{built['centres']} centres ({built['graded']} graded), {built['contracts']} contracts; "
                  f"{counts['obligations']} obligations ({YEARS[0]}–{YEARS[-1]}), {counts['sessions']} held "
                  f"sessions with {counts['records']} records, "
                  f"{counts['planned']} planned sessions")
        print(f"obligations in the database: {Obligation.objects.count()}")

        city = Region.objects.filter(level=Region.Level.CITY).order_by("code").first()
        past = datetime.date(2026, 12, 31)
        cases = [  # (label, region, period, as_of): the reports as the dashboard gives them (as of today)
            (f"city {city.name} 2026", city, "2026", TODAY),
            ("province 2026", None, "2026", TODAY),
            (f"city {city.name} 2027Q2", city, "2027Q2", TODAY),
            ("province 2027Q2", None, "2027Q2", TODAY),
            # as of a past day: statuses computed from the facts (no stored figures to aggregate)
            (f"city {city.name} 2026 @{past}", city, "2026", past),
            (f"province 2026 @{past}", None, "2026", past),
        ]
        print(f"\n{'report':30} {'obligations':>11} {'report s':>9} {'coverage s':>10} {'baseline s':>10} "
              f"{'ratio':>6} {'w/o coverage':>12} {'bare s':>7} {'/ bare':>6}  "
              f"(medians of {args.runs} paired rounds; ratios: median of the rounds' ratios; target <= 1.5)")
        for label, region, period, as_of in cases:
            codes, trend = report_periods(period), trend_periods(period)
            read = sorted(set(codes) | set(trend))
            day = min(periods.period_bounds(period)[1], as_of)
            completion_rows(region=region, period=period, as_of=as_of)  # warm the page cache
            (report_t, report), (coverage_t, _cov), (base_t, rows), (bare_t, _bare) = interleaved(
                args.runs,
                lambda r=region, p=period, a=as_of: completion_rows(region=r, period=p, as_of=a),
                lambda r=region, p=period, a=as_of: coverage_part(r, p, a),
                lambda r=region, c=codes, t=trend, d=day, a=as_of: baseline(r, c, t, d, a, past=a != TODAY),
                lambda r=region, c=read: bare_aggregate(r, c),
            )
            report_s, coverage_s, base_s, bare_s = map(statistics.median, (report_t, coverage_t, base_t, bare_t))
            without = [r - c for r, c in zip(report_t, coverage_t, strict=True)]
            n = sum(row[5] for row in rows if row[0] == "completion")
            total = report.total
            assert total.owed + total.cancelled + total.waived == n  # the same obligations
            assert report.used_stored_statuses == (as_of == TODAY)  # a past day: computed statuses
            assert_same_figures(report, rows, region)
            print(f"{label:30} {n:>11} {report_s:>9.3f} {coverage_s:>10.3f} {base_s:>10.3f} "
                  f"{paired_ratio(report_t, base_t):>6.2f} {paired_ratio(without, base_t):>12.2f} {bare_s:>7.3f} "
                  f"{paired_ratio(report_t, bare_t):>6.1f}")
            if report.used_stored_statuses:  # the same figures as computed statuses (not timed)
                from reports import rows as rows_module

                fresh = rows_module._stored_statuses_fresh
                rows_module._stored_statuses_fresh = lambda *a, **k: False
                try:
                    slow = completion_rows(region=region, period=period, as_of=as_of)
                finally:
                    rows_module._stored_statuses_fresh = fresh
                assert slow.as_json() == report.as_json(), "stored statuses differ from computed ones"
            sg = report.signed_guidance
            how = ("stored statuses (SQL)" if report.used_stored_statuses
                   else f"statuses computed as of {as_of} (SQL); so are the baseline's")
            how += ", the same figures and lists as the baseline's"
            print(f"    figures: signed-guidance {sg['numerator']}/{sg['denominator']} = {sg['rate']}; owed "
                  f"{total.owed}, on time {total.done_on_time}, late {total.done_late}, missed {total.missed}, "
                  f"pending {total.pending}, confirmed {total.confirmed}, disputed {total.disputed}; "
                  f"{len(report.by_region)} sub-regions, {len(report.by_provider)} providers, "
                  f"{len(report.overdue)} overdue/missed; "
                  f"{how}")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            completion_rows(region=None, period="2026", as_of=TODAY)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
