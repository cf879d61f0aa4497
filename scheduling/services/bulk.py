"""The database's fast path for the plan's bulk writes: rows as plain tuples, one prepared
INSERT run by executemany on SQLite (no per-batch SQL compiling, no parameter cap), COPY on
PostgreSQL. The rows are the ones the ORM's bulk_create would write (defaults, auto_now and
callable defaults included): tests/scheduling/test_fast_write.py compares them.
"""

from django.db import connection
from django.db.models import DateField

# False: the ORM's bulk_create instead (the reference the fast path is tested against).
FAST_WRITE = True


def _memo(field):
    """field.get_db_prep_save, remembered per value: a plan repeats a few hundred dates, times
    and ids over tens of thousands of rows."""
    cache = {}

    def prep(value):
        try:
            return cache[value]
        except KeyError:
            prepared = cache[value] = field.get_db_prep_save(value, connection)
            return prepared

    return prep


def _columns(model, names):
    """(fields, row builder): the concrete fields but the primary key, `names` (attnames) first,
    then those with a callable default (called per row, as Model() does), then the rest with
    their one prepared default; auto_now / auto_now_add stamps are taken once."""
    by_name = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    given = [by_name.pop(n) for n in names]
    per_row = [f for f in by_name.values() if f.has_default() and callable(f.default)]
    fixed = [f for f in by_name.values() if f not in per_row]
    template = model()
    constants = []
    for f in fixed:
        value = f.pre_save(template, True) if isinstance(f, DateField) else getattr(template, f.attname)
        constants.append(f.get_db_prep_save(value, connection))
    constants = tuple(constants)
    preps = [_memo(f) for f in given]

    def build(values):
        return (tuple(p(v) for p, v in zip(preps, values, strict=True))
                + tuple(f.get_db_prep_save(f.get_default(), connection) for f in per_row) + constants)

    return given + per_row + fixed, build


def insert_rows(model, names, rows, *, ids=False):
    """Insert one row of `model` per tuple of `rows` (the values of the fields `names`, by
    attname; every other field as Model() would set it). Returns the new primary keys in the
    order of `rows` when `ids`, else None. Inside the caller's transaction."""
    rows = list(rows)
    if not rows:
        return [] if ids else None
    fields, build = _columns(model, names)
    values = [build(r) for r in rows]
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    pk_column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            new_ids = None
            columns = [f.column for f in fields]
            if ids:
                # reserve the keys from the table's sequence, then COPY them with the rows
                cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                               [model._meta.db_table, pk_column, len(values)])
                new_ids = sorted(pk for (pk,) in cursor.fetchall())
                columns = [pk_column, *columns]
                values = [(pk, *v) for pk, v in zip(new_ids, values, strict=True)]
            with cursor.cursor.copy(f"COPY {table} ({', '.join(qn(c) for c in columns)}) FROM STDIN") as copy:
                for v in values:
                    copy.write_row(v)
            return new_ids
        sql = (f"INSERT INTO {table} ({', '.join(qn(f.column) for f in fields)}) "
               f"VALUES ({', '.join(['%s'] * len(fields))})")
        if not ids:
            cursor.executemany(sql, values)
            return None
        # SQLite: the transaction holds the write lock (IMMEDIATE) and keys only grow
        # (AUTOINCREMENT), so the rows after the largest key before are these, in order.
        cursor.execute(f"SELECT COALESCE(MAX({qn(pk_column)}), 0) FROM {table}")
        before = cursor.fetchone()[0]
        cursor.executemany(sql, values)
        cursor.execute(f"SELECT {qn(pk_column)} FROM {table} WHERE {qn(pk_column)} > %s ORDER BY 1", [before])
        new_ids = [pk for (pk,) in cursor.fetchall()]
    if len(new_ids) != len(values):
        raise RuntimeError(f"another writer inserted into {model._meta.db_table} meanwhile")
    return new_ids


def orm_insert_rows(model, names, rows, *, ids=False, batch_size=1000):
    """insert_rows through the ORM's bulk_create (the reference path)."""
    objs = [model(**dict(zip(names, r, strict=True))) for r in rows]
    model.objects.bulk_create(objs, batch_size=batch_size)
    if not ids:
        return None
    if objs and objs[0].pk is None:  # a backend that does not return keys
        raise RuntimeError("bulk_create returned no keys")
    return [o.pk for o in objs]


def insert(model, names, rows, *, ids=False, batch_size=1000):
    """The fast path or, with FAST_WRITE off, the ORM's: the same rows either way."""
    if FAST_WRITE:
        return insert_rows(model, names, rows, ids=ids)
    return orm_insert_rows(model, names, rows, ids=ids, batch_size=batch_size)
