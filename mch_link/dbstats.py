"""The planner's statistics after bulk writes (PostgreSQL): one rule for every writer of many rows."""

from django.db import connection, transaction

BULK_ROWS = 1000  # rows written from which the planner's statistics are refreshed (PostgreSQL)


def analyze_after_bulk_write(rows, *models):
    """ANALYZE the tables of `models` once the transaction commits, on PostgreSQL, when `rows`
    (the rows just written) is a bulk write: the reports' plans then see the new rows at once
    instead of at autovacuum's next pass (a report on stale statistics took 20 times longer;
    the demo's dashboard statement 58 ms instead of 25 ms with its centres, contracts and
    records never analyzed). Outside the transaction: its lock is not held while the write's
    transaction runs on. Used by the plan and the status refresh (scheduling.services), the
    registry import (mch_link.importer) and the demo's records."""
    if rows >= BULK_ROWS and connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        transaction.on_commit(lambda: connection.cursor().execute(f"ANALYZE {tables}"))
