"""The report pages run a fixed number of queries whatever the number of rows (the dashboard,
its drill-down to a centre, every download), on the stored and the past-day path; and the
dashboard reads the overdue list only as far as it shows it."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports import views
from reports.rows import completion_rows
from scheduling.services import statuses_refresh
from tests.factories import PASSWORD
from tests.reports.conftest import AS_OF, grow

pytestmark = pytest.mark.django_db
D = datetime.date
DASHBOARD = reverse("reports:dashboard")
DOWNLOAD = reverse("reports:download")
STORED = {"period": "2026", "as_of": AS_OF.isoformat()}  # the stored statuses are refreshed as of AS_OF
PAST = {"period": "2026", "as_of": "2026-03-31"}  # a day they are not of: computed in SQL
PAGES = [  # (name, url, extra query)
    ("dashboard", DASHBOARD, {}),
    ("county", DASHBOARD, {"region": "330602"}),
    ("township", DASHBOARD, {"region": "330602001"}),
    ("centre", DASHBOARD, {"centre": "CENTRE"}),
    ("json", DOWNLOAD, {"format": "json"}),
    ("csv", DOWNLOAD, {"format": "csv"}),
    ("xlsx", DOWNLOAD, {"format": "xlsx"}),
]
# Pinned, the same on SQLite and PostgreSQL: the session, the user and their scope, the report (5:
# registry 3 with the contracts in force, the freshness probe 1, the one statement), the page's
# own reads (the region or centre asked, its parents; a township's centres' names; a centre's
# obligations 3). Two fewer than before issue 16's fifth round of item 4 (12, 14, 16;
# downloads 11): the registry reads the centres with the grades they hold and the contracts in
# force on them in one query (the coverage's own query of the contracts is gone). Two fewer
# before that (14, 16, 18; downloads 12; the centre's page one, 13): the registry reads the
# providers with the townships they also cover in one query, and a bureau's breadcrumbs need
# no query (scoping.breadcrumbs; the downloads show none).
EXPECTED = {"dashboard": 10, "county": 12, "township": 14, "centre": 12, "json": 9, "csv": 9, "xlsx": 9}
# With the dashboard's cache on (off in the tests but these): a miss reads the data version
# first (one more); a hit reads the session, the user, their scope, the version, the region
# asked (its lookup in the user's scope reads the user's own region too), the chrome's unread
# notifications, and nothing of the report.
CACHED_MISS = {"dashboard": 11, "county": 13, "township": 15}
CACHED_HIT = {"dashboard": 6, "county": 7, "township": 7}
# A miss after a write that leaves the registry (a record, a confirmation): the registry part
# (the regions, grades, centres, providers and contracts: three queries) is kept (reports.views).
CACHED_MISS_REGISTRY_KEPT = {"dashboard": 8, "county": 10, "township": 12}


def counts(client, case, query):
    found = {}
    for name, url, extra in PAGES:
        params = {**query, **extra}
        if params.get("centre") == "CENTRE":
            params["centre"] = case.sunny.code
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, params)
        assert response.status_code == 200, name
        found[name] = len(ctx.captured_queries)
    return found


@pytest.mark.parametrize("query", [STORED, PAST], ids=["stored", "past-day"])
def test_the_report_pages_query_counts_do_not_grow_with_the_rows(client, case, query):
    assert client.login(username=case.alice.username, password=PASSWORD)
    statuses_refresh(AS_OF)
    small = counts(client, case, query)
    grow(case)
    statuses_refresh(AS_OF)
    big = counts(client, case, query)
    assert small == big == EXPECTED
    report = client.get(DASHBOARD, query).context["report"]
    assert report.used_stored_statuses == (query is STORED)


@pytest.mark.parametrize("as_of", [AS_OF, D(2026, 3, 31)], ids=["stored", "past-day"])
@pytest.mark.parametrize("where", ["city", "yc"])
def test_a_limited_overdue_list_is_the_head_of_the_whole_one(case, as_of, where):
    statuses_refresh(AS_OF)
    grow(case)
    statuses_refresh(AS_OF)
    region = getattr(case, where)
    whole = completion_rows(region=region, period="2026", as_of=as_of)
    head = completion_rows(region=region, period="2026", as_of=as_of, overdue_limit=5)
    assert len(whole.overdue) > 5
    assert head.overdue == whole.overdue[:5]
    assert head.overdue_count == whole.overdue_count == len(whole.overdue)
    assert head.as_json()["completion"] == whole.as_json()["completion"]


def test_the_dashboard_shows_the_head_of_the_list_and_its_whole_length(client, case, monkeypatch):
    monkeypatch.setattr(views, "OVERDUE_SHOWN", 2)
    assert client.login(username=case.alice.username, password=PASSWORD)
    whole = completion_rows(region=case.city, period="2026Q1", as_of=AS_OF)
    assert len(whole.overdue) > 2
    response = client.get(DASHBOARD, {"period": "2026Q1", "as_of": AS_OF.isoformat()})
    html = response.content.decode()
    assert f"逾期及未完成的服务（{len(whole.overdue)}）" in html
    assert "仅显示前 2 条，完整列表请下载。" in html
    assert response.context["overdue_shown"] == whole.overdue[:2]
    download = client.get(DOWNLOAD, {"period": "2026Q1", "as_of": AS_OF.isoformat(), "format": "json"})
    assert len(download.json()["overdue"]) == len(whole.overdue)  # the download has them all


@pytest.mark.parametrize("query", [STORED, PAST], ids=["stored", "past-day"])
def test_a_cached_dashboard_reads_its_report_on_a_miss_only(client, case, query, settings):
    from django.core.cache import caches

    from reports import freshness

    cache = caches["reports"]
    settings.REPORT_CACHE_SECONDS = 300
    cache.clear()
    assert client.login(username=case.alice.username, password=PASSWORD)
    statuses_refresh(AS_OF)
    grow(case)
    statuses_refresh(AS_OF)
    pages = [(name, {**query, **extra}) for name, _url, extra in PAGES if name in CACHED_MISS]
    found = {"miss": {}, "hit": {}, "kept": {}}
    for name, params in pages:
        for kind in ("miss", "hit", "kept"):
            if kind == "kept":
                freshness.bump()  # as a committed record does: the data version only
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(DASHBOARD, params)
            assert response["X-Report-Cache"] == ("miss" if kind == "kept" else kind), name
            found[kind][name] = len(ctx.captured_queries)
    cache.clear()
    assert found == {"miss": CACHED_MISS, "hit": CACHED_HIT, "kept": CACHED_MISS_REGISTRY_KEPT}
