"""The registry part kept by the dashboard: a multi-table TRUNCATE raises the registry
version, and a lost registry bump is bounded by the cache timeout."""

import time

import pytest
import time_machine
from django.core.cache import cache, caches
from django.db import OperationalError, connection

from reports import freshness
from scheduling.models import RecordCentre
from scheduling.services import record_confirm
from tests.reports.conftest import AS_OF, at, sign
from tests.reports.test_dashboard_cache import Q1, get

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def report_cache(settings):
    settings.REPORT_CACHE_SECONDS = 300
    cache.clear()
    caches["reports"].clear()
    yield
    cache.clear()
    caches["reports"].clear()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def committing():
        connection.run_on_commit[:] = [c for c in connection.run_on_commit
                                       if c[1] not in (freshness.bump, freshness.bump_registry)]
        return django_capture_on_commit_callbacks(execute=True)
    return committing


@pytest.mark.parametrize("sql", [
    'TRUNCATE "scheduling_obligation", "mch_link_contract"',
    'TRUNCATE TABLE "mch_link_membership", "mch_link_region" CASCADE',
])
def test_a_truncate_naming_a_registry_table_after_another_raises_the_registry_version(sql):
    """freshness.written()'s docstring: a TRUNCATE naming a REGISTRY table among others is a
    registry write. When the first table named is a watched non-registry one, it returns "data"."""
    assert freshness.written(sql) == "registry"


def test_a_lost_registry_bump_is_bounded_by_the_cache_timeout(client, case, commit):
    """bump()'s promise: a lost bump (a DatabaseError after the commit) is bounded by the
    cache's timeout. The registry part kept in the process has no timeout: after the report
    cache expired and the data version rose (a confirmation), the page is rebuilt (a miss)
    with the old coverage, and stays so until the next registry write."""
    first = get(client, case.alice, Q1)
    assert "签约指导率（4 / 5）" in first.content.decode()  # 稻香 unsigned

    def fail_the_bump(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith('UPDATE "REPORTS_DATAVERSION"'):
            raise OperationalError("database is locked")  # e.g. a lock timeout after the commit
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_the_bump), commit():
        sign(case.fusheng_thc, case.rice)
    # bump() runs after the commit in autocommit; here inside the test's transaction, which
    # QuerySet.update()'s mark_for_rollback_on_error flagged: clear what production has not
    connection.needs_rollback = False
    part = RecordCentre.objects.get(centre=case.little, record__session__kind="guidance")
    with at(AS_OF), commit():  # a later, ordinary write: the data version rises
        record_confirm(part=part, user=case.fay, confirm=True)
    caches["reports"].clear()  # REPORT_CACHE_SECONDS later
    with time_machine.travel(time.time() + 301):
        shown = get(client, case.alice, Q1)
    assert shown["X-Report-Cache"] == "miss"
    assert "签约指导率（5 / 5）" in shown.content.decode()
