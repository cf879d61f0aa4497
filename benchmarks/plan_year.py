"""Benchmark: plan a province-scale year with scheduling.services.schedule_generate.

    .venv/bin/python benchmarks/plan_year.py [--centres 10000] [--db PATH] [--profile]

Builds a registry in a throwaway SQLite database (bulk_create, deterministic: random.Random(1)),
then times, in one process:

1. the plan: schedule_generate(year=2027, today=2026-12-01), which syncs the obligations,
   plans the sessions and saves them;
2. the idempotent re-run of the same call (everything kept, nothing created);
3. the baseline: the very rows the plan saved (Obligation, Session, Session.obligations),
   read back as tuples, deleted, and inserted again by a raw `cursor.executemany` per table
   in one transaction: the floor any plan's write can reach.

Steps 1 and 3 are repeated in --rounds paired rounds (the planned rows deleted before each);
it prints each round and the median of the ratios plan / baseline (the target is at most 2.0
on SQLite, 1.5 on PostgreSQL). DATABASE_URL=postgres://... runs it on an empty PostgreSQL
database. It asserts nothing about time: it is a benchmark, not a test. See benchmarks/README.md.
"""

import argparse
import cProfile
import datetime
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # as a script or imported by gunicorn
from common import benchmark_database, uscc  # noqa: E402

YEAR = 2027
TODAY = datetime.date(2026, 12, 1)
REGISTRY_DAY = datetime.date(YEAR, 1, 1)

CITY_CODE = "330600"
COUNTIES = 11
TOWNSHIPS = 1000
SUBDISTRICT_SHARE = 0.4  # townships that are 街道 (served by a 社区卫生服务中心)
CITY_MODEL_SHARE = 0.01  # centres graded 市级示范
LEVEL_2_UP_SHARE = 0.08  # centres graded 一级 or 二级 (with 市级示范: "二级 or above")
LEVEL_3_SHARE = 0.05  # centres graded 三级 (no county contract)




# --------------------------------------------------------------------------- the registry




def build_registry(centres_wanted, rng):
    """Regions, providers (with doctor accounts), centres, grades and the signed contracts the
    tier rules require on REGISTRY_DAY. Returns a dict of counts."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from mch_link.models import (
        Centre,
        CentreGrade,
        Contract,
        Grade,
        Membership,
        Ownership,
        Provider,
        Region,
        Role,
    )
    from mch_link.selectors import registry_as_of
    from mch_link.tiers import required_pairs

    User = get_user_model()
    with transaction.atomic():
        city = Region.objects.create(code=CITY_CODE, name="示范市", level=Region.Level.CITY)
        Region.objects.bulk_create([
            Region(code=f"3306{i + 1:02d}", name=f"第{i + 1}区", level=Region.Level.COUNTY, parent=city)
            for i in range(COUNTIES)
        ])
        counties = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
        townships = []
        for i in range(TOWNSHIPS):
            county = counties[i % COUNTIES]
            suffix = "街道" if rng.random() < SUBDISTRICT_SHARE else rng.choice(["镇", "乡"])
            townships.append(Region(code=f"{county.code}{i // COUNTIES + 1:03d}", name=f"第{i + 1}{suffix}",
                                    level=Region.Level.TOWNSHIP, parent=county))
        Region.objects.bulk_create(townships, batch_size=1000)
        townships = list(Region.objects.filter(level=Region.Level.TOWNSHIP).select_related("parent")
                         .order_by("code"))

        providers = [Provider(code="P-CITY", name="示范市妇幼保健院", kind=Provider.Kind.CITY_MCH,
                              region=city, doctors=rng.randint(2, 4))]
        providers += [Provider(code=f"P-{c.code}", name=f"{c.name}妇幼保健院", kind=Provider.Kind.COUNTY_MCH,
                               region=c, doctors=rng.randint(2, 4)) for c in counties]
        providers += [
            Provider(code=f"P-{t.code}",
                     name=f"{t.name}{'社区卫生服务中心' if t.is_subdistrict else '卫生院'}",
                     kind=Provider.Kind.COMMUNITY if t.is_subdistrict else Provider.Kind.TOWNSHIP,
                     region=t, doctors=rng.randint(2, 4))
            for t in townships
        ]
        Provider.objects.bulk_create(providers, batch_size=1000)
        providers = list(Provider.objects.order_by("code"))

        # One account per doctor, so that sessions get a named doctor as in production.
        users = [User(username=f"doc-{p.code}-{i + 1}", password="!") for p in providers for i in range(p.doctors)]
        User.objects.bulk_create(users, batch_size=1000)
        user_ids = dict(User.objects.values_list("username", "pk"))
        Membership.objects.bulk_create([
            Membership(user_id=user_ids[f"doc-{p.code}-{i + 1}"], role=Role.DOCTOR, provider=p)
            for p in providers for i in range(p.doctors)
        ], batch_size=1000)

        ownerships = list(Ownership.objects.order_by("pk"))
        centres = []
        for n in range(1, centres_wanted + 1):
            township = rng.choice(townships)
            centres.append(Centre(
                code=uscc(n, township.parent.code, rng), name=f"托育机构{n:05d}", township=township,
                ownership=rng.choice(ownerships), places=rng.randint(20, 150),
                filed_on=datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randint(0, 6 * 365)),
            ))
        Centre.objects.bulk_create(centres, batch_size=1000)
        centres = list(Centre.objects.order_by("pk").values_list("pk", "filed_on"))

        grades = {g.rank: g for g in Grade.objects.all()}
        centre_grades = []
        for pk, filed_on in centres:
            draw = rng.random()
            if draw < CITY_MODEL_SHARE:
                rank = 4
            elif draw < CITY_MODEL_SHARE + LEVEL_2_UP_SHARE:
                rank = rng.choice([3, 2])
            elif draw < CITY_MODEL_SHARE + LEVEL_2_UP_SHARE + LEVEL_3_SHARE:
                rank = 1
            else:
                continue
            awarded = min(filed_on + datetime.timedelta(days=rng.randint(90, 720)), datetime.date(2026, 6, 30))
            centre_grades.append(CentreGrade(centre_id=pk, grade=grades[rank], awarded_on=awarded))
        CentreGrade.objects.bulk_create(centre_grades, batch_size=1000)

        registry = registry_as_of(REGISTRY_DAY)
        pairs = sorted(required_pairs(registry.centres, registry.providers))
        Contract.objects.bulk_create([
            Contract(provider_id=p.provider_id, centre_id=p.centre_id, status=Contract.Status.SIGNED,
                     signed_on=datetime.date(2026, 11, 15), valid_from=REGISTRY_DAY,
                     valid_to=datetime.date(YEAR, 12, 31))
            for p in pairs
        ], batch_size=1000)
    tiers = {}
    for p in pairs:
        tiers[p.tier] = tiers.get(p.tier, 0) + 1
    return {
        "regions": 1 + len(counties) + len(townships), "providers": len(providers), "doctors": len(users),
        "centres": len(centres), "graded": len(centre_grades), "contracts": len(pairs), "by_tier": tiers,
    }


# --------------------------------------------------------------------------- the measurements


def saved_counts():
    from scheduling.models import Obligation, Session

    return {
        "obligations": Obligation.objects.count(),
        "sessions": Session.objects.count(),
        "links": Session.obligations.through.objects.count(),
    }


class Clock:
    """Wall and CPU seconds of this process (SQLite works in the process, so its CPU seconds
    are the plan's own work whatever else loads the machine; on PostgreSQL the server's CPU
    is not in them: read the wall ratio there)."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return self

    def __str__(self):
        return f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"


def run_plan(profile=False):
    """schedule_generate for the year; returns (Clock, report, profile stats or None)."""
    from scheduling.services import schedule_generate

    profiler = cProfile.Profile() if profile else None
    clock = Clock()
    if profiler:
        profiler.enable()
    report = schedule_generate(year=YEAR, today=TODAY)
    if profiler:
        profiler.disable()
    return clock.stop(), report, pstats.Stats(profiler) if profiler else None


TABLES = ("obligation", "session", "link")


def _models():
    from scheduling.models import Obligation, Session

    return {"obligation": Obligation, "session": Session, "link": Session.obligations.through}


def clear_plan():
    """Delete the planned rows (one plain DELETE per table, no cascade collection, untimed)."""
    from django.db import transaction

    models = _models()
    with transaction.atomic():
        for name in ("link", "session", "obligation"):
            models[name].objects.all()._raw_delete(models[name].objects.db)


def read_rows():
    """The saved rows of the three tables as plain tuples of database values, ids included."""
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for name, model in _models().items():
            fields = model._meta.concrete_fields
            columns = [f.column for f in fields]
            cursor.execute(f"SELECT {', '.join(connection.ops.quote_name(c) for c in columns)} "
                           f"FROM {connection.ops.quote_name(model._meta.db_table)}")
            # as the database takes them back (SQLite reads times as time objects, binds text)
            out[name] = (columns, [tuple(f.get_db_prep_value(_aware(v), connection)
                                         for f, v in zip(fields, row, strict=True))
                                   for row in cursor.fetchall()])
    return out


def _aware(value):
    """SQLite's cursor reads a stored UTC datetime back naive."""
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value


def run_baseline(rows):
    """The floor: the same rows the plan saved, inserted as plain tuples by one prepared
    INSERT per table with cursor.executemany, in one transaction. Returns a Clock."""
    from django.db import connection, transaction

    qn = connection.ops.quote_name
    clock = Clock()
    with transaction.atomic(), connection.cursor() as cursor:
        for name in TABLES:
            columns, values = rows[name]
            table = _models()[name]._meta.db_table
            cursor.executemany(f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in columns)}) "
                               f"VALUES ({', '.join(['%s'] * len(columns))})", values)
    return clock.stop()


def print_hotspots(stats, limit=25):
    print("\nProfile of the first schedule_generate: time per step")
    stats.sort_stats("cumulative").print_callees(r"plan.py:\d+\(_schedule_generate\)")
    print("Cumulative time, top entries:")
    stats.sort_stats("cumulative").print_stats(limit)
    print("Own time (tottime), top entries:")
    stats.sort_stats("tottime").print_stats(limit)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--centres", type=int, default=10000, help="centres to register (default 10000)")
    parser.add_argument("--db", help="SQLite file to use (kept); default: a temporary file, removed after")
    parser.add_argument("--orm-write", action="store_true",
                        help="save the plan with the ORM's bulk_create (the write path before the fast one)")
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds plan/baseline (default 3)")
    parser.add_argument("--profile", action="store_true",
                        help="run the first plan under cProfile and print the hotspots (slows it down)")
    args = parser.parse_args(argv)

    with benchmark_database(args.db, "mch-bench-"):
        from django.db import DatabaseError

        from scheduling.services import bulk

        bulk.FAST_WRITE = not args.orm_write
        print(f"write path: {'ORM bulk_create' if args.orm_write else 'fast (tuples, executemany/COPY)'}")

        started = time.perf_counter()
        built = build_registry(args.centres, random.Random(1))
        print(f"registry built in {time.perf_counter() - started:.1f} s: {built['regions']} regions, "
              f"{built['providers']} providers ({built['doctors']} doctors), {built['centres']} centres "
              f"({built['graded']} graded), {built['contracts']} signed contracts {built['by_tier']}")

        plan_seconds, report, stats = run_plan(profile=args.profile)
        counts = saved_counts()
        try:
            rerun_seconds, rerun, _ = run_plan()
            rerun_error = None
        except DatabaseError as exc:  # reported, not raised: the figures above still stand
            rerun_error = f"{type(exc).__name__}: {exc}"
        print(f"obligations:          {counts['obligations']} (created {report.obligations_created})")
        print(f"sessions:             {counts['sessions']} (created {report.created}, "
              f"warnings {len(report.warnings)})")
        for warning in report.warnings[:3]:
            print(f"  warning: {warning}")
        print(f"session-obligations:  {counts['links']}")
        if rerun_error:
            print(f"re-run:               FAILED ({rerun_error})")
        else:
            print(f"re-run:               {rerun_seconds} (kept {rerun.kept}, created {rerun.created}, "
                  f"moved {len(rerun.moved)}, cancelled {len(rerun.cancelled)}, "
                  f"obligations created {rerun.obligations_created})")
        ratios, cpu_ratios = [], []
        for n in range(1, args.rounds + 1):
            if n > 1:
                clear_plan()
                plan_seconds, _report, _ = run_plan()
            rows = read_rows()
            clear_plan()
            baseline = run_baseline(rows)
            ratios.append(plan_seconds.wall / baseline.wall)
            cpu_ratios.append(plan_seconds.cpu / baseline.cpu)
            print(f"round {n}: plan {plan_seconds}{' (under cProfile)' if args.profile and n == 1 else ''}, "
                  f"raw executemany {baseline}, ratio {ratios[-1]:.2f} (CPU {cpu_ratios[-1]:.2f})")
        print(f"ratio plan/raw insert, median of {len(ratios)}: {statistics.median(ratios):.2f} wall, "
              f"{statistics.median(cpu_ratios):.2f} CPU (target <= 2.0 SQLite, <= 1.5 PostgreSQL)")
        if stats is not None:
            print_hotspots(stats)


if __name__ == "__main__":
    main()
