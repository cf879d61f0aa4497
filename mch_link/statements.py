"""Statements compiled once per process and input, then run again as they are.

Django building and compiling a query (filters, IN lists of ~100 region ids, aggregates) cost
a 1,000-centre report more than SQLite or PostgreSQL running it (docs/reports.md, "fourth
round"). The reports' statements (reports.rows) and the registry's (mch_link.selectors) are
kept here under a key that holds every input of their text and parameters, so the one
definition of each rule stays the ORM code that compiled them.

At most 512 statements (least recently used first out), each a few KB.
"""

import threading
from collections import OrderedDict

from django.core.exceptions import EmptyResultSet
from django.db import connections

EMPTY = ("empty",)  # a statement that can match nothing (EmptyResultSet): no rows


class Kept:
    """A bounded, thread-safe map kept for the life of a process: at most `size` entries, the
    least recently used dropped first. What the compile-once reads keep (here, the reports'
    and the registry's statements; scheduling.feed_reads, the feeds' fingerprints)."""

    def __init__(self, size):
        self.size = size
        self.kept = OrderedDict()
        self.lock = threading.Lock()

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
        with self.lock:
            self.kept[key] = value
            self.kept.move_to_end(key)
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)

    def clear(self):
        with self.lock:
            self.kept.clear()

    def drop(self, where):
        """Let go of every entry whose key `where(key)` is true."""
        with self.lock:
            for key in [k for k in self.kept if where(k)]:
                del self.kept[key]


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
    connection = connections[db]  # this thread's: the converters get it as the ORM's would
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return convert(cursor.fetchall(), converters, connection)


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
