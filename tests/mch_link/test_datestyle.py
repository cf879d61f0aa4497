"""The reports read dates and times back from SQL text (CAST(... AS TEXT), reports.rows), which
is ISO only while the connection's DateStyle is ISO. A PostgreSQL server or database set to
another style (``datestyle = 'SQL, DMY'`` in postgresql.conf, or ALTER DATABASE) must not change
what the app reads: every connection asks for ISO when it starts (settings, DATABASES OPTIONS)."""

import os

import psycopg
import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="DateStyle is PostgreSQL's"),
    pytest.mark.django_db,
]


def test_a_database_defaulting_to_another_datestyle_still_gives_iso_dates():
    params = connection.get_connection_params()
    name = params["dbname"]
    plain = {k: v for k, v in params.items() if k not in ("options", "cursor_factory", "context")}
    admin = psycopg.connect(**plain, autocommit=True)
    try:
        admin.execute(f'ALTER DATABASE "{name}" SET datestyle = \'SQL, DMY\'')
        # a connection that does not ask gets the database's default: the reports would misread it
        with psycopg.connect(**plain) as bare:
            assert bare.execute("SELECT CAST(DATE '2026-07-03' AS TEXT)").fetchone()[0] == "03/07/2026"
        # a connection of the app asks for ISO whatever the default
        fresh = connections.create_connection("default")
        try:
            with fresh.cursor() as cursor:
                cursor.execute("SELECT CAST(DATE '2026-07-03' AS TEXT), CAST(TIME '09:05' AS TEXT)")
                assert cursor.fetchone() == ("2026-07-03", "09:05:00")
        finally:
            fresh.close()
    finally:
        admin.execute(f'ALTER DATABASE "{name}" RESET datestyle')
        admin.close()
