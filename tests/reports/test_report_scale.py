"""Reports at every scale: a small region reads only its own regions and providers, the
stored-status statement has no correlated subquery, and bulk writes refresh PostgreSQL's
statistics."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mch_link import dbstats, selectors
from mch_link.models import Region
from mch_link.selectors import RegionTree, registry_as_of
from reports.rows import completion_rows
from scheduling.models import Obligation
from scheduling.services import schedule_generate, statuses_refresh

from .conftest import AS_OF, sign

D = datetime.date


def test_a_county_loads_its_own_regions_and_the_providers_it_can_name(case):
    registry = registry_as_of(AS_OF, case.yc)
    assert not registry.tree.whole
    assert set(registry.tree.rows) == {case.city.pk, case.yc.pk, case.tashan.pk, case.fusheng.pk}
    assert {p.code for p in registry.providers} == {"P-CITY", "P-YC", "P-TS", "P-FS"}
    assert registry_as_of(AS_OF).tree.whole  # the whole installation: every region


@pytest.mark.parametrize("where", ["city", "yc", "kq", "tashan"])
def test_the_report_of_a_region_is_the_one_of_the_whole_tree(case, monkeypatch, where):
    """A provider of another county with a contract in the region (柯桥社区 at 阳光, 越城区) is
    named in the report as with the whole tree loaded."""
    sign(case.keqiao_chc, case.sunny)
    schedule_generate(year=2026, today=D(2026, 1, 5))
    region = getattr(case, where)
    scoped = completion_rows(region=region, period="2026", as_of=AS_OF)
    load = RegionTree.load.__func__
    monkeypatch.setattr(selectors.RegionTree, "load", classmethod(lambda cls, day, within=None: load(cls, day)))
    whole = completion_rows(region=region, period="2026", as_of=AS_OF)
    assert scoped.as_json() == whole.as_json()
    assert [r.as_json() for r in scoped.by_region] == [r.as_json() for r in whole.by_region]
    if where in ("city", "yc", "tashan"):
        assert "P-KQJD" in [p.code for p in scoped.by_provider]


def test_a_boundary_change_by_the_day_loads_the_whole_tree(case):
    new = Region.objects.create(code="330603002", name="新街道", level=Region.Level.TOWNSHIP, parent=case.kq,
                                valid_from=D(2026, 3, 1))
    Region.objects.filter(pk=case.fusheng.pk).update(valid_to=D(2026, 2, 28), successor=new)
    tree = RegionTree.load(AS_OF, within=case.yc)
    assert tree.whole and new.pk in tree.rows
    assert RegionTree.load(D(2026, 2, 1), within=case.kq).whole  # 新街道 has not begun yet: a change too


def test_the_stored_status_statement_has_no_correlated_subquery(case):
    statuses_refresh(AS_OF)
    with CaptureQueriesContext(connection) as queries:
        report = completion_rows(region=case.city, period="2026Q1", as_of=AS_OF)
    assert report.used_stored_statuses and report.overdue
    (statement,) = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    # On SQLite each branch reads the region's obligations as those of the region's contracts
    # (reports.rows._in_region): an uncorrelated subquery, which names none of the statement's
    # own tables (only its aliases U0, U1); taken out, as on PostgreSQL, which has none
    region_contracts = []
    while (start := statement.find(' IN (SELECT U0."id" FROM "mch_link_contract" U0')) >= 0:
        depth, opening = 0, start + len(" IN ")
        for end in range(opening, len(statement)):
            depth += {"(": 1, ")": -1}.get(statement[end], 0)
            if depth == 0:
                break
        region_contracts.append(statement[start:end + 1])
        statement = statement[:start] + statement[end + 1:]
    assert len(region_contracts) == (2 if connection.vendor == "sqlite" else 0)
    assert not [s for s in region_contracts if '"scheduling_obligation"' in s or '"mch_link_region"' in s]
    # every SELECT a branch of the UNION (the GROUP BY, the late obligations): none nested in another
    assert statement.upper().count("SELECT") == statement.upper().count("UNION ALL") + 1 == 2


@pytest.mark.parametrize("analyzed", [True, False])
def test_a_bulk_refresh_analyzes_on_postgresql(case, monkeypatch, django_capture_on_commit_callbacks, analyzed):
    monkeypatch.setattr(dbstats, "BULK_ROWS", 1 if analyzed else 10 ** 9)
    Obligation.objects.update(status_on=None)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert statuses_refresh(AS_OF) > 0
    ran = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    expected = analyzed and connection.vendor == "postgresql"
    assert ran == (['ANALYZE "scheduling_obligation"'] if expected else [])
