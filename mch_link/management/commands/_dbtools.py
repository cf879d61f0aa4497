"""The database's own tools for backup and restore: SQLite's online backup API, or
pg_dump / pg_restore for PostgreSQL (the password goes by PGPASSWORD, never on the command line)."""

import os
import shutil
import sqlite3
import subprocess
import tempfile

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection


def pg_tool(tool, *args, env=None):
    """Run a PostgreSQL client tool; a clear CommandError when it is missing or fails."""
    if shutil.which(tool) is None:
        raise CommandError(f"{tool} not found: install postgresql-client (make system-deps)")
    done = subprocess.run([tool, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise CommandError(f"{tool} failed: {done.stderr.strip()[-2000:]}")


def pg_command(tool, *args):
    """pg_tool() against this installation's database (its name, host, port, user, password)."""
    db = connection.settings_dict
    argv = ["--no-password", "--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            argv += [flag, str(db[key])]
    env = {**os.environ, **({"PGPASSWORD": db["PASSWORD"]} if db.get("PASSWORD") else {})}
    pg_tool(tool, *argv, *args, env=env)


# Every table of the schema, dropped in the restore's own transaction: pg_restore --clean drops
# only what the archive holds, so a table a later migration made would stay (with this
# database's rows) and the migrate after the restore fail creating it.
DROP_TABLES = """DO $$ DECLARE t record; BEGIN
FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', t.tablename); END LOOP; END $$;"""


def pg_replace(path):
    """The database replaced by the archive at `path` in one transaction: every table dropped,
    then the archive's script (pg_restore to SQL) run by psql, stopping at the first error."""
    fd, script = tempfile.mkstemp(suffix=".sql")
    os.close(fd)
    try:
        pg_tool("pg_restore", "--no-owner", "--clean", "--if-exists", "--file", script, str(path))
        pg_command("psql", "--single-transaction", "--set", "ON_ERROR_STOP=1", "--quiet",
                   "--command", DROP_TABLES, "--file", script)
    finally:
        os.remove(script)


def sqlite_copy(source, target):
    """Copy page by page with the online backup API: writers may go on meanwhile."""
    source.backup(target)


def backup(path):
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(path)
        try:
            sqlite_copy(connection.connection, target)
        finally:
            target.close()
    elif connection.vendor == "postgresql":
        pg_command("pg_dump", "--format=custom", "--file", str(path))
    else:
        raise CommandError(f"no backup for {connection.vendor}")


def restore(path):
    if not os.path.exists(path):
        raise CommandError(f"{path}: no such file")
    from reports import freshness

    try:
        before = freshness.current()
    except DatabaseError:  # an empty database (no tables yet)
        before = None
        connection.close()
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            sqlite_copy(source, connection.connection)
        finally:
            source.close()
    elif connection.vendor == "postgresql":
        connection.close()  # pg_restore drops the tables this connection may hold
        pg_replace(path)
    else:
        raise CommandError(f"no restore for {connection.vendor}")
    # A backup of an older release holds an older schema: bring it to this release's
    # (the migrations a newer backup already has are not run again).
    call_command("migrate", interactive=False, verbosity=0)
    # The restored counter is the backup's: raised above both, so that no process's cached
    # report keyed by a version given before is shown again (reports.freshness).
    freshness.restored(before)
