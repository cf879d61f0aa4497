"""The fast path of completion_rows: when every stored status was computed as of `as_of`
(statuses_refresh), the statuses are counted with one GROUP BY, and the report is the same."""

import datetime

import pytest

from reports import rows
from reports.rows import completion_rows
from scheduling.models import Obligation
from scheduling.services import statuses_refresh

D = datetime.date


def figures(report):
    return {
        "json": report.as_json(),
        "trend": [(t.period, t.owed, t.done) for t in report.trend],
        "by_centre": [g.as_json() for g in report.by_centre],
        "by_region": [g.as_json() for g in report.by_region],
    }


def both_ways(monkeypatch, **kw):
    fast = completion_rows(**kw)
    with monkeypatch.context() as m:
        m.setattr(rows, "_count_stored", lambda *a, **k: False)
        slow = completion_rows(**kw)
    assert not slow.used_stored_statuses
    return fast, slow


@pytest.mark.parametrize("as_of", [D(2026, 2, 20), D(2026, 3, 10), D(2026, 4, 20), D(2026, 12, 31)])
@pytest.mark.parametrize("period", ["2026Q1", "2026"])
@pytest.mark.parametrize("where", [None, "city", "yc", "tashan"])
def test_the_stored_statuses_give_the_same_report(case, monkeypatch, as_of, period, where):
    statuses_refresh(as_of)
    region = getattr(case, where) if where else None
    fast, slow = both_ways(monkeypatch, region=region, period=period, as_of=as_of)
    assert fast.used_stored_statuses
    assert figures(fast) == figures(slow)
    assert fast.total.owed > 0


def test_a_provider_report_too(case, monkeypatch):
    statuses_refresh(D(2026, 4, 20))
    fast, slow = both_ways(monkeypatch, region=case.city, period="2026", as_of=D(2026, 4, 20),
                           provider=case.tashan_chc)
    assert fast.used_stored_statuses
    assert figures(fast) == figures(slow)


def test_statuses_of_another_day_are_not_used(case):
    statuses_refresh(D(2026, 4, 20))
    assert not completion_rows(region=case.city, period="2026Q1", as_of=D(2026, 4, 21)).used_stored_statuses
    # one obligation left behind: the slow path, for every obligation
    Obligation.objects.filter(pk=Obligation.objects.order_by("pk").first().pk).update(status_on=D(2026, 4, 19))
    report = completion_rows(region=None, period="2026", as_of=D(2026, 4, 20))
    assert not report.used_stored_statuses
