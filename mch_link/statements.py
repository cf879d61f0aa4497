"""Statements compiled once per process and input, then run again as they are.

Django building and compiling a query (filters, IN lists of ~100 region ids, aggregates) cost
a 1,000-centre report more than SQLite or PostgreSQL running it (docs/reports.md, "fourth
round"). The reports' statements (reports.rows) and the registry's (mch_link.selectors) are
kept here under a key that holds every input of their text and parameters, so the one
definition of each rule stays the ORM code that compiled them.

At most 512 statements (least recently used first out), each a few KB.

**Prepared on PostgreSQL** (`PREPARED_STATEMENTS`, on by default; `rows()`, `fetchall()`): a
kept statement is parsed and planned by the server once per connection, then only executed.
Planning a report's five statements cost a city report about 5 ms of its 17 (IN lists of
~100 region ids, the tallies' joins), more than running some of them. The same holds for
the feeds' statements (scheduling.feed_reads). Each takes server memory for the life of the
connection (CONN_MAX_AGE): measured 30-400 KB, about 1.5 MB for a city report's five, 31 MB for
psycopg's default of 100 a connection. So at most PREPARED_STATEMENTS_MAX (32, ~10 MB) are kept
prepared on a connection, the least recently used deallocated first.
Off behind a transaction-pooling pgbouncer older than 1.22 (docs/deploy.md).
"""

import functools
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, connections

EMPTY = ("empty",)  # a statement that can match nothing (EmptyResultSet): no rows


class Kept:
    """A bounded, thread-safe map kept for the life of a process: at most `size` entries, the
    least recently used dropped first. What the compile-once reads keep (here, the reports'
    and the registry's statements; scheduling.feed_reads, the feeds' fingerprints)."""

    def __init__(self, size, weigh=None, max_weight=None):
        """At most `size` entries; with `weigh` (value -> a number, say its rows), also at most
        `max_weight` of their weights together: the least recently used dropped first, and a
        value heavier than that alone is not kept."""
        self.size = size
        self.kept = OrderedDict()
        self.lock = threading.Lock()
        self.weigh, self.max_weight = weigh, max_weight
        self.weights, self.weight = {}, 0

    def get(self, key, build=None):
        """What is kept for `key`; else what `build()` returns, kept now (None without `build`).
        A key of None, or one that cannot be hashed, is never kept (build() every time)."""
        try:
            hash(key)
        except TypeError:  # an input that cannot be compared: nothing kept
            key = None
        if key is not None:
            with self.lock:
                found = self.kept.get(key, self)
                if found is not self:
                    self.kept.move_to_end(key)
                    return found
        if build is None:
            return None
        built = build()
        if key is not None:
            self.keep(key, built)
        return built

    def keep(self, key, value):
        weight = self.weigh(value) if self.weigh is not None else 0
        with self.lock:
            self._forget(key)
            if self.weigh is not None and weight > self.max_weight:
                return  # heavier than the whole budget: not kept
            self.kept[key] = value
            self.weights[key] = weight
            self.weight += weight
            while len(self.kept) > self.size or (self.weigh is not None and self.weight > self.max_weight):
                self._forget(next(iter(self.kept)))

    def _forget(self, key):
        if key in self.kept:
            del self.kept[key]
            self.weight -= self.weights.pop(key)

    def clear(self):
        with self.lock:
            self.kept.clear()
            self.weights.clear()
            self.weight = 0

    def drop(self, where):
        """Let go of every entry whose key `where(key)` is true."""
        with self.lock:
            for key in [k for k in self.kept if where(k)]:
                self._forget(key)


STATEMENTS = Kept(512)


def bound(db, statement):
    """`statement` ((sql, params), or None) as it is to be kept and run on database `db`. On
    PostgreSQL with client-side binding (Django's default with psycopg 3: its ClientCursor),
    the driver merges the parameters into the text at every execute (a city's registry reads
    have IN lists of ~100 region ids: ~0.3 ms each); merged once here, the text is kept and
    run without parameters, and the same bytes go to the server. Elsewhere (SQLite,
    server-side binding) the statement is kept as it is."""
    if statement is None:
        return None
    sql, params = statement
    connection = connections[db]
    if (not params or connection.vendor != "postgresql"
            or connection.settings_dict["OPTIONS"].get("server_side_binding") is True):
        return sql, params
    return connection.ops.compose_sql(sql, params), None


def values_statement(values_list_qs):
    """(db, sql, params, compiler, converters) of a values_list() queryset (not flat), or EMPTY
    when it can match nothing: what its rows are read and converted with, as the ORM reads
    and converts them (the compiler's converters, e.g. a date read from SQLite's text)."""
    compiler = values_list_qs.query.get_compiler(values_list_qs.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return EMPTY
    converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
    return values_list_qs.db, sql, tuple(params), compiler, converters


def kept_rows(key, build):
    """The rows (tuples) of the values_list() queryset `build()` returns (not flat), its
    statement compiled once per `key`: `key` must hold every input of the queryset (the
    database too); None keeps nothing."""
    statement = STATEMENTS.get(key, lambda: _bound_values(values_statement(build())))
    if statement is EMPTY:
        return []
    db, sql, params, _compiler, converters = statement
    # this thread's connection: the converters get it as the ORM's would
    return convert(fetchall(db, sql, params), converters, connections[db])


def _bound_values(statement):
    """A values_statement() with its SQL and parameters bound (bound()), to be kept."""
    if statement is EMPTY:
        return EMPTY
    db, sql, params, compiler, converters = statement
    return (db, *bound(db, (sql, params)), compiler, converters)


def convert(rows, converters, connection):
    """`rows` (tuples) with the compiler's `converters` applied, as SQLCompiler.apply_converters
    does, but with `connection`: this thread's, not the one the statement was compiled with."""
    if not converters:
        return rows
    converted = []
    for row in rows:
        row = list(row)
        for pos, (convs, expression) in converters.items():
            value = row[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            row[pos] = value
        converted.append(tuple(row))
    return converted


# --------------------------------------------------------------------------- prepared statements


@functools.cache
def _prepared_cursor_class():
    """A psycopg 3 cursor class with server-side binding that prepares each statement it runs
    (parsed and planned once per connection, then only executed). Defined on first use: the
    PostgreSQL backend is imported only where it is used."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        logged = False  # queries logged (DEBUG, the tests' query captures): keep the text

        def execute(self, query, params=None, **kwargs):
            result = super().execute(query, params, prepare=True, **kwargs)
            if self.logged and self._query is None:  # psycopg keeps no text of a prepared one,
                self._query = self._convert_query(query, params)  # which Django's log reads
            return result

    return PreparedCursor


def _prepared_cursor(connection):
    """A prepared-statement cursor of Django's `connection` (connected), with the time zone as
    Django's own cursors have it (DatabaseWrapper.create_cursor)."""
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, Format, register_tzloader

    cursor = _prepared_cursor_class()(connection.connection)
    cursor.logged = connection.queries_logged
    tzloader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != tzloader.timezone:
        register_tzloader(connection.timezone, cursor)
    return cursor


@contextmanager
def cursor(db):
    """A cursor of `db` for statements run again and again (the kept ones, the feeds'): on
    PostgreSQL (psycopg 3) with PREPARED_STATEMENTS, one whose statements are prepared on the
    server; else Django's own cursor. Either way through Django's cursor wrapper (query
    logging, execute wrappers such as reports.freshness's, the tests' query counts)."""
    connection = connections[db]
    if not (connection.vendor == "postgresql" and getattr(settings, "PREPARED_STATEMENTS", False)):
        with connection.cursor() as plain:
            yield plain
        return
    connection.close_if_health_check_failed()  # what connection.cursor() does first
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    if not hasattr(raw, "prepare_threshold"):  # psycopg 2: no prepared statements
        with connection.cursor() as plain:
            yield plain
        return
    if raw.prepare_threshold is None:  # Django's default: prepare nothing on its own
        raw.prepare_threshold = 2**31 - 1  # still nothing but what asks for it (prepare=True)
        raw.prepared_max = settings.PREPARED_STATEMENTS_MAX  # the server's memory, see above
    prepared = _prepared_cursor(connection)
    with connection.make_debug_cursor(prepared) if connection.queries_logged else connection.make_cursor(prepared) as c:
        yield c


# A prepared statement the server no longer takes on this connection: a migration changed the
# type of a column it returns ("cached plan must not change result type", which psycopg does not
# recover from: every later execution fails the same way), or it was deallocated behind psycopg.
_STALE_PREPARED = {"0A000": "cached plan must not change result type", "26000": "prepared statement"}


def _stale_prepared(error):
    cause = error.__cause__
    words = _STALE_PREPARED.get(getattr(cause, "sqlstate", None))
    return words is not None and words in str(cause)


def rows(db, sql, params):
    """The rows of `sql` run on a cursor(), one by one (each freed once read). A prepared
    statement gone stale is prepared again, once: DEALLOCATE ALL, through which psycopg forgets
    its own too. Inside a transaction, which the failed statement has aborted, the error is
    raised instead, and the connection is closed at the end of the request (Django's
    close_if_unusable_or_obsolete, through `close_at`): the next request prepares afresh."""
    for retry in (False, True):
        with cursor(db) as c:
            try:
                c.execute(sql, params)
            except DatabaseError as error:
                connection = connections[db]
                if retry or not _stale_prepared(error):
                    raise
                if connection.in_atomic_block:
                    connection.close_at = time.monotonic()
                    raise
            else:
                yield from c
                return
        with connection.cursor() as plain:
            plain.execute("DEALLOCATE ALL")


def fetchall(db, sql, params):
    """rows() as a list."""
    return list(rows(db, sql, params))
