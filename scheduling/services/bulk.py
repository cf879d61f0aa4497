"""The database's fast path for the plan's bulk writes: rows as plain tuples, one prepared
INSERT run by executemany on SQLite (no per-batch SQL compiling, no parameter cap), COPY on
PostgreSQL. The rows are the ones the ORM's bulk_create would write (defaults, auto_now and
callable defaults included): tests/scheduling/test_fast_write.py compares them.
"""

import gc
import os
import uuid
from contextlib import contextmanager
from itertools import repeat

from django.db import connection
from django.db.models import DateField, UUIDField

from reports import freshness

# False: the ORM's bulk_create instead (the reference the fast path is tested against).
FAST_WRITE = True


_INTEGER_TYPES = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField",
                  "SmallIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
                  "PositiveBigIntegerField"}


def _prepared_column(field, values):
    """field.get_db_prep_save of each of `values`, by column: the ints of an integer column
    (an integer field or a key to one) as they are, other values prepared once per distinct
    value (a plan repeats a few hundred dates, times and flags over tens of thousands of rows)."""
    target = field.target_field if field.is_relation else field
    if target.get_internal_type() in _INTEGER_TYPES and all(type(v) is int for v in values):
        return values
    prepared = {v: field.get_db_prep_save(v, connection) for v in set(values)}
    return list(map(prepared.__getitem__, values))


def _per_row(field, count):
    """`count` values of a callable default, each called and prepared (a UUID: as the backend
    stores it)."""
    if isinstance(field, UUIDField) and field.default is uuid.uuid4 and not connection.features.has_native_uuid_field:
        return _uuid4_hexes(count)
    return [field.get_db_prep_save(field.get_default(), connection) for _ in range(count)]


def _uuid4_hexes(count):
    """`count` uuid.uuid4().hex, from one read of os.urandom: the random bits and the version
    and variant fields of uuid.UUID(bytes=os.urandom(16), version=4), as uuid4() makes them."""
    random = os.urandom(16 * count)
    hexes = []
    for i in range(0, 16 * count, 16):
        value = int.from_bytes(random[i:i + 16], "big")
        value = (value & _UUID_RANDOM_BITS) | _UUID_V4_BITS
        hexes.append(f"{value:032x}")
    return hexes


_UUID_RANDOM_BITS = ~((0xc000 << 48) | (0xf000 << 64)) & ((1 << 128) - 1)
_UUID_V4_BITS = (0x8000 << 48) | (4 << 76)  # RFC 4122 variant, version 4


def _prepared_rows(model, names, rows, ids=None):
    """(fields, tuples of database values): the concrete fields but the primary key, `names`
    (attnames) first, then those with a callable default (called per row, as Model() does),
    then the rest with their one prepared default; auto_now / auto_now_add stamps are taken
    once. Built column by column; with `ids`, the primary keys come first."""
    by_name = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    given = [by_name.pop(n) for n in names]
    per_row = [f for f in by_name.values() if f.has_default() and callable(f.default)]
    fixed = [f for f in by_name.values() if f not in per_row]
    template = model()
    constants = []
    for f in fixed:
        value = f.pre_save(template, True) if isinstance(f, DateField) else getattr(template, f.attname)
        constants.append(repeat(f.get_db_prep_save(value, connection), len(rows)))
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(given)
    values = [_prepared_column(f, list(c)) for f, c in zip(given, columns, strict=True)]
    values += [_per_row(f, len(rows)) for f in per_row]
    keys = [ids] if ids is not None else []
    if ids is not None and len(ids) != len(rows):
        raise ValueError(f"{len(ids)} keys for {len(rows)} rows")
    fields = [model._meta.pk] * len(keys) + given + per_row + fixed
    return fields, list(zip(*keys, *values, *constants, strict=False))  # constants: repeat()


def reserve_ids(model, count):
    """`count` new primary keys of `model`, ascending, that no other row has or will get: from
    the table's sequence on PostgreSQL; on SQLite above the largest key ever given (the
    transaction holds the write lock: IMMEDIATE). The rows are then inserted with them."""
    if not count:
        return []
    table, pk_column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, pk_column, count])
            return sorted(pk for (pk,) in cursor.fetchall())
        qn = connection.ops.quote_name
        cursor.execute(f"SELECT COALESCE(MAX({qn(pk_column)}), 0) FROM {qn(table)}")
        largest = cursor.fetchone()[0]
        # AUTOINCREMENT: the keys of deleted rows are never given again
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        largest = max(largest, row[0] if row else 0)
    return list(range(largest + 1, largest + 1 + count))


def insert_rows(model, names, rows, *, ids=None):
    """Insert one row of `model` per tuple of `rows` (the values of the fields `names`, by
    attname; every other field as Model() would set it), with the primary keys `ids` (same
    order; reserve_ids) if given. Inside the caller's transaction."""
    rows = list(rows)
    if not rows:
        return
    fields, values = _prepared_rows(model, names, rows, ids)
    columns = [f.column for f in fields]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(qn(c) for c in columns)}) FROM STDIN") as copy:
                for v in values:
                    copy.write_row(v)
            # COPY bypasses Django's cursor, so the reports' data version does not see it
            freshness.bump_on_commit(registry=model._meta.db_table in freshness.REGISTRY)
        else:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) "
                               f"VALUES ({', '.join(['%s'] * len(columns))})", values)


def orm_insert_rows(model, names, rows, *, ids=None, batch_size=1000):
    """insert_rows through the ORM's bulk_create (the reference path)."""
    objs = [model(**dict(zip(names, r, strict=True))) for r in rows]
    if ids is not None:
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
    model.objects.bulk_create(objs, batch_size=batch_size)


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector for a bulk job, then restore it as it was.

    A year's plan allocates hundreds of thousands of small objects (tuples, dataclasses, dates)
    that live until it ends; with the collector on, each 700 allocations trigger a pass and
    the older generations' passes walk the whole heap again and again: about a third of the
    plan's CPU time at 2,000 centres. The plan makes no reference cycles that must be freed
    before it ends (reference counting frees the rest as usual); the collector runs again on
    its own after it. The switch is the process's: in a threaded server another request runs
    without collection meanwhile (only slower to free cycles), and of two overlapping plans the
    first to end turns it on for both (only slower). A nested pause leaves it as it found it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def insert(model, names, rows, *, ids=None, batch_size=1000):
    """The fast path or, with FAST_WRITE off, the ORM's: the same rows either way."""
    if FAST_WRITE:
        insert_rows(model, names, rows, ids=ids)
    else:
        orm_insert_rows(model, names, rows, ids=ids, batch_size=batch_size)
