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


def writes_watched(sql):
    """Whether `sql` writes a watched table (TRUNCATE may name several: any of them)."""
    m = _WRITE.match(sql)
    if m is None:
        return False
    if m.group(1) in watched_tables():
        return True
    return sql.lstrip()[:8].upper() == "TRUNCATE" and any(t in sql for t in watched_tables())


def current():
    """The data version now (one query), or None when there is none (its row is missing:
    then nothing is cached). Read it BEFORE the data a cached value is built from."""
    from .models import DataVersion

    return DataVersion.objects.filter(pk=1).values_list("n", flat=True).first()


def _fresh_start():
    """A new counter starts at the clock (milliseconds), above any value an earlier counter of
    this installation reached (one bump a millisecond on average would be needed to pass it):
    a flushed and re-created row does not give old versions again."""
    return int(time.time() * 1000)


def bump():
    """Raise the version now (one UPDATE; an INSERT when the row is missing). Called after
    commits (bump_on_commit); never fails the caller: a lost bump is bounded by the cache's
    timeout."""
    from .models import DataVersion

    try:
        if not DataVersion.objects.filter(pk=1).update(n=F("n") + 1):
            DataVersion.objects.bulk_create([DataVersion(pk=1, n=_fresh_start())], ignore_conflicts=True)
    except DatabaseError:  # e.g. the table does not exist yet
        log.warning("the report data version could not be raised", exc_info=True)


def bump_on_commit():
    """Raise the version once the current transaction commits (at once outside one). One bump
    a transaction: not again while one is pending at this savepoint level or an outer one (a
    bump asked inside a savepoint that is rolled back is dropped with it, so it is asked again)."""
    if _migrating:
        return
    if connection.in_atomic_block:
        current_sids = set(connection.savepoint_ids)
        if any(func is bump and sids <= current_sids for sids, func, _robust in connection.run_on_commit):
            return
    elif not connection.get_autocommit():
        return  # manual transaction management (not used here): nothing to hook the commit to
    transaction.on_commit(bump)


def restored(before):
    """After a restore replaced the database (and its counter, with the backup's value): a
    version above both the one before (`before`, read then) and the backup's, so no value a
    process cached under is given again."""
    from .models import DataVersion

    after = current() or 0
    n = max(before or 0, after, _fresh_start()) + 1
    DataVersion.objects.update_or_create(pk=1, defaults={"n": n})


def _watch(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if context["connection"].alias == connection.alias and writes_watched(sql):
        bump_on_commit()
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
