"""The report's statements kept per process (reports.rows.STATEMENTS): a report asked again
runs the statements compiled the first time, and gives the same figures; a report of other
inputs (another user's scope, a provider, a quarter instead of a year, another day, another
region, a limited overdue list) never runs a statement kept for different ones."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import rows
from reports.rows import STATEMENTS, completion_rows
from scheduling.services import statuses_refresh

from .conftest import AS_OF, D
from .test_report_cases import CASES, FIELDS, set_up

pytestmark = pytest.mark.django_db


def _never_built(*args, **kwargs):
    raise AssertionError("a statement was built again instead of being taken from STATEMENTS")


def run(**inputs):
    """The report's JSON, its used_stored_statuses, and the SQL it ran (with its parameters)."""
    with CaptureQueriesContext(connection) as queries:
        report = completion_rows(**inputs)
    return report.as_json(), report.used_stored_statuses, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("stored", ["none", "of the day", "of a later day"])
@pytest.mark.parametrize(("situation", "period", "as_of", "expected"), CASES,
                         ids=[f"{s}-{p}-{a}" for s, p, a, _e in CASES])
def test_each_case_again_from_the_kept_statements(world, situation, period, as_of, expected, stored, monkeypatch):
    set_up(world, situation, as_of, stored)
    STATEMENTS.clear()
    first = run(region=world.city, period=period, as_of=as_of)

    for builder in ("_freshness_statement", "_stored_statement", "_computed_statement"):
        monkeypatch.setattr(rows, builder, _never_built)
    again = completion_rows(region=world.city, period=period, as_of=as_of)

    assert again.as_json() == first[0]
    assert again.used_stored_statuses == (stored == "of the day")
    c = again.completion["guidance"]
    assert tuple(getattr(c, name) for name in FIELDS) == expected


def test_a_kept_statement_is_never_of_other_inputs(case):
    """Many reports one after the other, each statement kept: each gives the figures and runs the
    very SQL (text and parameters) of the same report compiled afresh."""
    w = case
    statuses_refresh(AS_OF)  # stored statuses of AS_OF; another day computes them
    variants = list(itertools.product(
        (w.city, w.yc, w.tashan, None),  # region
        ("2026Q1", "2026"),  # period
        (None, w.tashan_chc),  # provider
        (None, w.alice, w.bob, w.carol, w.fay),  # user (scoping)
        (AS_OF, D(2026, 3, 20)),  # as_of: the stored statuses, computed ones
        (None, 1),  # overdue_limit
    ))
    STATEMENTS.clear()
    for _round in range(2):  # the second round runs every statement from STATEMENTS
        kept = {v: run(region=v[0], period=v[1], provider=v[2], user=v[3], as_of=v[4], overdue_limit=v[5])
                for v in variants}
    assert len(STATEMENTS.kept) > 1
    for v in variants:
        STATEMENTS.clear()
        fresh = run(region=v[0], period=v[1], provider=v[2], user=v[3], as_of=v[4], overdue_limit=v[5])
        assert kept[v] == fresh, v
    # and the inputs did change the figures (the comparison above could tell them apart)
    everything = kept[(w.city, "2026Q1", None, None, AS_OF, None)][0]
    assert everything != kept[(w.city, "2026Q1", None, w.carol, AS_OF, None)][0]
    assert everything != kept[(w.city, "2026Q1", w.tashan_chc, None, AS_OF, None)][0]
    assert everything != kept[(w.city, "2026", None, None, AS_OF, None)][0]
    assert everything != kept[(w.city, "2026Q1", None, None, D(2026, 3, 20), None)][0]


def test_the_user_scope_provider_and_period_each_select_their_own_statement(case):
    """Asked in turn with the statements kept: the report of everything, of a provider manager's
    scope, of a provider, and of the year, each as it is when asked first in a fresh process."""
    w = case
    statuses_refresh(AS_OF)
    asks = [dict(user=None), dict(user=w.carol), dict(user=w.fay), dict(provider=w.yc_mch), dict(period="2026")]
    fresh = []
    for ask in asks:
        STATEMENTS.clear()
        fresh.append(completion_rows(**{"region": w.city, "period": "2026Q1", "as_of": AS_OF, **ask}).as_json())
    STATEMENTS.clear()
    for _round in range(2):
        for ask, expected in zip(asks, fresh, strict=True):
            report = completion_rows(**{"region": w.city, "period": "2026Q1", "as_of": AS_OF, **ask})
            assert report.as_json() == expected, ask
    assert len({str(f) for f in fresh}) == len(asks)  # five different reports
