"""The one lock order of every write that touches the plan (docs/concurrency.md).

Every write path takes its row locks in this order, and only in this order, so no two paths
can wait for each other in a cycle (a deadlock):

    1. the provider            lock_provider(): exclusive for the plan, a move, drafting
                               contracts; shared for a record, a confirmation, a resolution
    2. the sessions            by primary key (select_for_update)
    3. the record              of the session
    4. the record's parts      (RecordCentre)
    5. the obligations         written last (done_on, statuses), never locked before a session

The provider row stands for "the provider's plan": the planner holds it exclusively while it
reads the sessions, plans and writes, so a second plan of the same provider (another gunicorn
process, another django-q worker, the command) waits and then sees the first plan's sessions:
planning is single-flight. A move holds it exclusively too, so two moves to one day count each
other and the day's capacity holds. Records and confirmations take it shared: they never wait
for each other, only for a running plan or move of that provider.

PostgreSQL takes the locks with SELECT … FOR NO KEY UPDATE / FOR SHARE (NO KEY, so inserts
that merely reference the provider, like a new contract, are not blocked). SQLite has no row
locks: there the settings open every transaction with BEGIN IMMEDIATE, which takes the
database's write lock at once, so write transactions already run one at a time.
"""

from django.db import connection, transaction

from mch_link.models import Provider


def lock_providers(provider_ids, *, shared=False):
    """Lock the rows of `provider_ids` (ascending, so two callers of overlapping sets cannot
    deadlock) until the end of the current transaction. Exclusive unless `shared`."""
    ids = sorted({int(pk) for pk in provider_ids})
    if not ids:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_providers() outside a transaction locks nothing")
    if connection.vendor != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already serialises writers (see the settings)
    mode = "FOR SHARE" if shared else "FOR NO KEY UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Provider._meta.db_table} WHERE id = ANY(%s) ORDER BY id {mode}", [ids])


def lock_provider(provider_id, *, shared=False):
    lock_providers([provider_id], shared=shared)
