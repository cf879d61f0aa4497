"""The data version: one counter in the database, raised after every committed write to the
data the reports read. The dashboard caches its rendered report under it (reports.views), so
a cached report can be stale only between a write's commit and its bump (docs/reports.md,
"The dashboard's cache").

How every write is seen: a database execute wrapper (installed on each connection as it is
created) looks at every statement Django's cursors run — the ORM's save/delete/update,
bulk_create, the admin, raw SQL through connection.cursor(), executemany — and, for an INSERT,
UPDATE, DELETE or TRUNCATE of a watched table (every table of the mch_link and scheduling apps
except those the reports never read, IGNORED), asks for one bump when the transaction commits.
So no receiver list can miss a model or a bulk path. The two writes Django's cursor does not
run call bump_on_commit() themselves: PostgreSQL's COPY (scheduling.services.bulk) and a
restore (mch_link/management/commands/_dbtools.py, restored()).

The registry version (DataVersion.registry): the value the data version took at the last
committed write to a registry table (REGISTRY: regions, providers, grades, centres and their
grades, contracts), raised by the same bump. The registry part of a report (the registry as of
the day and its coverage: mch_link.selectors.registry_as_of and coverage) reads only those
tables, so it is kept under this narrower version (reports.views): a record, a confirmation or
a re-plan, the usual writes, leave it, and the next report reuses it.

Why after the commit, never inside it: a reader reads the version, then the data. A bump
before the writer's commit would let a reader read the new version and then the old data,
and cache that old data under the new version until it expires. Bumped after the commit, a
reader that sees the new version reads data committed before it (docs/reports.md).
"""

import logging
import re
import time

from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.db.backends.signals import connection_created
from django.db.models import F
from django.db.models.signals import post_migrate, pre_migrate

log = logging.getLogger(__name__)

WATCHED_APPS = ("mch_link", "scheduling")
# Tables of the watched apps whose rows no report reads: their writes do not change a report.
IGNORED = frozenset({
    "mch_link_auditevent",  # the audit trail, written beside most changes
    "mch_link_importjob",  # an import's progress (its rows are written to watched tables)
    "mch_link_membership",  # who a user is: read fresh on every request, part of the cache key
    "scheduling_notification",
    "scheduling_calendarfeed",
    "scheduling_attachment",  # a record's photos
})
# What the registry part of a report reads (tests/reports/test_dashboard_cache.py checks that it
# reads nothing else): a write to one of these raises the registry version too.
REGISTRY = frozenset({
    "mch_link_region", "mch_link_provider", "mch_link_provider_also_covers", "mch_link_grade",
    "mch_link_centre", "mch_link_centregrade", "mch_link_contract",
})
# INSERT OR IGNORE / OR REPLACE: SQLite's bulk_create(ignore_conflicts=True) and m2m add().
_WRITE = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)'
                    r'\s+(?:ONLY\s+)?"?(\w+)"?', re.IGNORECASE)
_watched = None
_migrating = False


def watched_tables():
    global _watched
    if _watched is None:
        _watched = frozenset(
            model._meta.db_table for app in WATCHED_APPS
            for model in apps.get_app_config(app).get_models(include_auto_created=True)) - IGNORED
    return _watched


def written(sql):
    """None when `sql` writes no watched table; else "registry" when it writes a table of
    REGISTRY, "data" otherwise. A TRUNCATE may name several tables (Django's flush on
    PostgreSQL, in set order): all of them count."""
    m = _WRITE.match(sql)
    if m is None:
        return None
    if sql.lstrip()[:8].upper() == "TRUNCATE":
        named = {t for t in watched_tables() if t in sql}
    else:
        named = {m.group(1)} & watched_tables()
    if not named:
        return None
    return "registry" if named & REGISTRY else "data"


def current():
    """The data version now (one query), or None when there is none (its row is missing:
    then nothing is cached). Read it BEFORE the data a cached value is built from."""
    return (versions() or (None,))[0]


def versions():
    """(the data version, the registry version) now, in one query; None when the row is
    missing. Read them BEFORE the data a cached value is built from."""
    from .models import DataVersion

    return DataVersion.objects.filter(pk=1).values_list("n", "registry").first()


def _fresh_start():
    """A new counter starts at the clock (milliseconds), above any value an earlier counter of
    this installation reached (one bump a millisecond on average would be needed to pass it):
    a flushed and re-created row does not give old versions again."""
    return int(time.time() * 1000)


def bump(registry=False):
    """Raise the version now (one UPDATE; an INSERT when the row is missing); with `registry`,
    the registry version too (to the new value). Called after commits (bump_on_commit); never
    fails the caller: a lost bump is bounded by the cache's timeout."""
    from .models import DataVersion

    changes = {"n": F("n") + 1, **({"registry": F("n") + 1} if registry else {})}
    try:
        if not DataVersion.objects.filter(pk=1).update(**changes):
            start = _fresh_start()
            DataVersion.objects.bulk_create([DataVersion(pk=1, n=start, registry=start)], ignore_conflicts=True)
    except DatabaseError:  # e.g. the table does not exist yet
        log.warning("the report data version could not be raised", exc_info=True)


def bump_registry():
    """bump(registry=True): what a transaction that wrote a registry table asks for."""
    bump(registry=True)


def bump_on_commit(registry=True):
    """Raise the version once the current transaction commits (at once outside one); with
    `registry` (what a caller that does not say which tables it wrote gets), the registry
    version too. One bump a transaction: not again while one that covers it is pending at
    this savepoint level or an outer one (a bump asked inside a savepoint that is rolled back
    is dropped with it, so it is asked again). A registry bump asked after a plain one is
    pending is added (the data version then rises by 2: it only has to rise)."""
    if _migrating:
        return
    func = bump_registry if registry else bump
    covering = (bump_registry,) if registry else (bump, bump_registry)
    if connection.in_atomic_block:
        current_sids = set(connection.savepoint_ids)
        if any(f in covering and sids <= current_sids for sids, f, _robust in connection.run_on_commit):
            return
    elif not connection.get_autocommit():
        return  # manual transaction management (not used here): nothing to hook the commit to
    transaction.on_commit(func)


def restored(before):
    """After a restore replaced the database (and its counter, with the backup's value): a
    version above both the one before (`before`, read then) and the backup's, so no value a
    process cached under is given again."""
    from .models import DataVersion

    after = current() or 0
    n = max(before or 0, after, _fresh_start()) + 1
    DataVersion.objects.update_or_create(pk=1, defaults={"n": n, "registry": n})


def _watch(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if context["connection"].alias == connection.alias:
        kind = written(sql)
        if kind is not None:
            bump_on_commit(registry=kind == "registry")
    return result


def install(sender=None, connection=None, **kwargs):
    """Watch `connection`'s writes (connection_created; again on a reconnect: once)."""
    if connection is not None and _watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch)


def _pre_migrate(**kwargs):
    global _migrating
    _migrating = True  # the counter's table may not exist yet


def _post_migrate(**kwargs):
    global _migrating
    if _migrating:
        _migrating = False
        bump_on_commit()  # data migrations may have changed what reports show


def connect():
    """Called from ReportsConfig.ready()."""
    connection_created.connect(install, dispatch_uid="reports.freshness.install")
    if connection.connection is not None:  # already open (not usual at start-up)
        install(connection=connection)
    pre_migrate.connect(_pre_migrate, dispatch_uid="reports.freshness.pre_migrate")
    post_migrate.connect(_post_migrate, dispatch_uid="reports.freshness.post_migrate")
