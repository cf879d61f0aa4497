"""The registry's and the coverage's statements kept per process (mch_link.statements): asked
again, or for other inputs (another day, region, a region that moved county, the long-list
form of "inside a region"), each gives what the same call gives compiled afresh, and a kept
statement reads the data as it is now (statements are kept, never their rows)."""

import datetime
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mch_link import selectors, statements
from mch_link.selectors import coverage, registry_as_of
from tests import factories as f

pytestmark = pytest.mark.django_db
D = datetime.date


def read(day, region):
    """What registry_as_of and coverage give, and the SQL they ran (with its parameters)."""
    with CaptureQueriesContext(connection) as queries:
        registry = registry_as_of(day, region)
        cov = coverage(day, region, registry=registry)
    figures = (sorted(registry.centres), sorted(registry.providers, key=lambda p: p.id), registry.region_id,
               cov.as_json(),
               [(r.code, r.centres, r.signed_centres, r.required_pairs, r.covered_pairs) for r in cov.children])
    return figures, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("max_ids", [2000, 0])  # an IN list, or the stored tree corrected
def test_a_kept_statement_is_never_of_other_inputs(moved, max_ids, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_REGION_IDS", max_ids)
    w = moved
    f.signed_contract(w.tashan_chc, w.sunny, year=2025)
    f.signed_contract(w.yc_mch, w.sea, year=2026)
    variants = list(itertools.product((D(2025, 6, 1), D(2026, 6, 1)), (None, w.city, w.yc, w.kq, w.tashan)))
    statements.STATEMENTS.clear()
    for _round in range(2):  # the second round runs every statement kept
        kept = {v: read(*v) for v in variants}
    for v in variants:
        statements.STATEMENTS.clear()
        assert kept[v] == read(*v), v
    # the inputs did change the figures: the comparison could tell them apart
    assert kept[(D(2025, 6, 1), w.yc)][0] != kept[(D(2026, 6, 1), w.yc)][0]
    assert kept[(D(2026, 6, 1), w.yc)][0] != kept[(D(2026, 6, 1), w.kq)][0]


def test_a_kept_statement_reads_the_data_as_it_is_now(world):
    day = D(2026, 6, 1)
    statements.STATEMENTS.clear()
    before = coverage(day, world.yc).totals.centres
    f.centre("新苗托育", world.tashan)
    assert coverage(day, world.yc).totals.centres == before + 1


# --------------------------------------------------------------------------- prepared on PostgreSQL

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")


def _prepared():
    """The text of each statement prepared on this connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return sorted(row[0] for row in cursor.fetchall())


def _report(world):
    from reports.rows import completion_rows

    return completion_rows(region=world.city, period="2026", as_of=D(2026, 6, 1)).as_json()


@pytest.fixture
def contracts(world):
    f.signed_contract(world.tashan_chc, world.sunny, year=2026)
    f.signed_contract(world.yc_mch, world.little, year=2026)
    return world


@on_postgresql
@pytest.mark.parametrize("prepared", [True, False])
def test_on_postgresql_a_reports_statements_are_prepared_once_per_connection(contracts, settings, prepared):
    """The report's and the registry's kept statements are planned once per connection, then
    only executed: a second report prepares nothing more, and gives the same figures."""
    settings.PREPARED_STATEMENTS = prepared
    statements.STATEMENTS.clear()
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # psycopg forgets its own prepared statements with it
    first = _report(contracts)
    after_first = _prepared()
    with CaptureQueriesContext(connection) as queries:
        assert _report(contracts) == first
    assert _prepared() == after_first  # nothing prepared again
    if not prepared:
        assert after_first == []
        return
    # each of the report's statements (the regions, the centres, the providers, the
    # freshness probe, the tallies), and no other
    assert len(after_first) == len(queries.captured_queries) == 5
    assert sorted(q["sql"] for q in queries.captured_queries) == after_first  # logged as run
    settings.PREPARED_STATEMENTS = False
    statements.STATEMENTS.clear()
    assert _report(contracts) == first  # the same figures, compiled and run afresh, not prepared


def _migration_connection():
    """A connection of its own, in autocommit, as a deploy's `migrate` on another host."""
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"],
                           password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True)


@on_postgresql
@pytest.mark.django_db(transaction=True)  # as served: autocommit, the migration on another connection
def test_a_migration_changing_a_column_a_report_reads_does_not_break_reports_on_open_connections(contracts,
                                                                                                  settings):
    """A rolling deploy migrates while workers keep their connections (CONN_MAX_AGE): the
    report's prepared statements return a column whose type changed (a provider's name made
    longer), which PostgreSQL refuses on every execution ("cached plan must not change result
    type"); they are prepared again once."""
    settings.PREPARED_STATEMENTS = True
    first = _report(contracts)
    migration = _migration_connection()
    try:
        migration.execute("ALTER TABLE mch_link_provider ALTER COLUMN name TYPE varchar(200)")
        assert _report(contracts) == first
        assert _report(contracts) == first
    finally:
        migration.execute("ALTER TABLE mch_link_provider ALTER COLUMN name TYPE varchar(100)")
        migration.close()
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")  # the next tests' statements prepared afresh


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_stale_prepared_statement_fails_once_and_its_connection_is_let_go(contracts,
                                                                                                   settings):
    """Inside a transaction (a county's filing reads its report in one) the failed statement
    has aborted it, so nothing can be prepared again there: the error is raised, and the
    connection is closed at the end of the request, so the next request prepares afresh."""
    from django.db import DatabaseError, close_old_connections, transaction

    settings.PREPARED_STATEMENTS = True
    first = _report(contracts)
    migration = _migration_connection()
    try:
        migration.execute("ALTER TABLE mch_link_provider ALTER COLUMN name TYPE varchar(200)")
        with pytest.raises(DatabaseError, match="cached plan must not change result type"):
            with transaction.atomic():
                _report(contracts)
        close_old_connections()  # the end of the request (request_finished)
        assert connection.connection is None
        with transaction.atomic():
            assert _report(contracts) == first
    finally:
        migration.execute("ALTER TABLE mch_link_provider ALTER COLUMN name TYPE varchar(100)")
        migration.close()
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")


@on_postgresql
@pytest.mark.django_db(transaction=True)  # a connection of its own, configured at its first prepared statement
def test_a_connection_keeps_at_most_prepared_statements_max_prepared(contracts, settings):
    """Each prepared statement holds server memory for the life of the connection (a city
    report's five about 1.5 MB): a connection keeps at most PREPARED_STATEMENTS_MAX, the least
    recently used deallocated first, and the reports are the same."""
    from reports.rows import completion_rows

    settings.PREPARED_STATEMENTS = True
    settings.PREPARED_STATEMENTS_MAX = 6
    connection.close()
    statements.STATEMENTS.clear()
    try:
        reports = {p: completion_rows(region=contracts.city, period=p, as_of=D(2026, 6, 1)).as_json()
                   for p in ("2026", "2026Q1", "2026Q2")}  # 3 x 5 statements, the registry's shared
        assert 0 < len(_prepared()) <= 6
        settings.PREPARED_STATEMENTS = False
        statements.STATEMENTS.clear()
        assert reports == {p: completion_rows(region=contracts.city, period=p, as_of=D(2026, 6, 1)).as_json()
                           for p in reports}
    finally:
        connection.close()  # the next tests' connection configured afresh


@pytest.mark.parametrize("value", ["0", "-5"])
def test_a_prepared_statements_max_below_one_is_refused_at_start(value):
    """0 would have psycopg deallocate each statement it just prepared: every run planned again,
    in three round trips. The settings refuse it at start, saying how to turn preparing off."""
    from tests.mch_link.test_security import settings_in_a_clean_environment

    result = settings_in_a_clean_environment("print(settings.PREPARED_STATEMENTS_MAX)", DEBUG="1",
                                             PREPARED_STATEMENTS_MAX=value)
    assert result.returncode != 0
    assert "PREPARED_STATEMENTS_MAX must be at least 1" in result.stderr
    ok = settings_in_a_clean_environment("print(settings.PREPARED_STATEMENTS_MAX)", DEBUG="1",
                                         PREPARED_STATEMENTS_MAX="8")
    assert ok.returncode == 0 and ok.stdout.split() == ["8"], ok.stderr
