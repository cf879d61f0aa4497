"""Restore of a backup older than a migration that creates a table (PostgreSQL)."""

import os

import pytest
from django.core.management import call_command

from mch_link.models import Region


@pytest.mark.django_db(transaction=True)
def test_a_backup_from_before_a_table_existed_is_restored_and_migrated(tmp_path):
    """A backup taken before reports 0002 (the DataVersion table). pg_restore --clean drops only
    what the archive holds, so the live reports_dataversion stays, and the migrate that restore
    now runs fails creating it ("already exists") after the data were replaced."""
    from reports import freshness

    Region.objects.create(code="330600", name="绍兴市", level="city")
    before = freshness.versions()
    quiet = open(os.devnull, "w")
    call_command("migrate", "reports", "0001", stdout=quiet)
    try:
        path = tmp_path / "older.backup"
        call_command("backup", str(path), stdout=quiet)
    finally:
        call_command("migrate", "reports", stdout=quiet)
    call_command("restore", str(path), "--noinput", stdout=quiet)
    assert list(Region.objects.values_list("code", "name")) == [("330600", "绍兴市")]
    n, registry = freshness.versions()
    assert n > before[0] and registry == n
