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
