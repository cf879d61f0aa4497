"""The dashboard's cached report (reports.views, reports.freshness): a change shows on the next
load, a cached report never crosses users' scopes, and every way of writing what a report reads
raises the data version once the write commits.

The tests' transactions are never committed: `commit()` runs the on-commit callbacks of what
it wraps, as a commit would (django_capture_on_commit_callbacks(execute=True))."""

import datetime
import time

import pytest
import time_machine
from django.core.cache import cache, caches
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mch_link.models import Centre, Contract, Provider, Role
from reports import freshness
from reports.rows import completion_rows
from scheduling.models import Obligation, Record, RecordCentre, WorkDay, WorkYear
from scheduling.services import bulk, obligation_resolve, record_confirm, schedule_generate, statuses_refresh
from tests import factories as f
from tests.factories import PASSWORD
from tests.reports.conftest import AS_OF, at, sign

pytestmark = pytest.mark.django_db
D = datetime.date
DASHBOARD = reverse("reports:dashboard")
Q1 = {"period": "2026Q1", "as_of": AS_OF.isoformat()}


@pytest.fixture(autouse=True)
def report_cache(settings):
    settings.REPORT_CACHE_SECONDS = 300  # off in the other tests (mch_link/test_settings.py)
    cache.clear()
    caches["reports"].clear()
    yield
    cache.clear()
    caches["reports"].clear()


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what it wraps as a transaction that commits. The test's own transaction, never
    committed, stands for the earlier ones that did: its pending bump is dropped first (else
    the writes inside would leave the bump to it: one a transaction)."""
    def committing():
        connection.run_on_commit[:] = [c for c in connection.run_on_commit
                                       if c[1] not in (freshness.bump, freshness.bump_registry)]
        return django_capture_on_commit_callbacks(execute=True)
    return committing


def get(client, user, query):
    assert client.login(username=user.username, password=PASSWORD)
    response = client.get(DASHBOARD, query)
    assert response.status_code == 200
    return response


def confirmation_figure(region):
    total = completion_rows(region=region, period="2026Q1", as_of=AS_OF).total
    return f"（{total.confirmed} / {total.done}）"


def test_a_confirmation_shows_on_the_next_load(client, case, commit):
    before = confirmation_figure(case.city)
    first = get(client, case.alice, Q1)
    assert first["X-Report-Cache"] == "miss" and before in first.content.decode()
    again = get(client, case.alice, Q1)
    assert again["X-Report-Cache"] == "hit" and before in again.content.decode()

    part = RecordCentre.objects.get(centre=case.little, record__session__kind="guidance")  # disputed
    with at(AS_OF), commit():  # confirmed on the report's day: known as of it
        record_confirm(part=part, user=case.fay, confirm=True)
    after = confirmation_figure(case.city)
    assert after != before
    shown = get(client, case.alice, Q1)
    assert shown["X-Report-Cache"] == "miss"
    assert after in shown.content.decode() and before not in shown.content.decode()


def test_a_hit_shows_the_same_report_as_a_miss(client, case):
    def report_part(html):  # the chrome around it holds a CSRF token and a CSP nonce of its own
        return html[html.index('<nav class="crumbs">'):html.index("</p>", html.index("生成时间"))]

    miss = get(client, case.alice, Q1)
    hit = get(client, case.alice, Q1)
    assert (miss["X-Report-Cache"], hit["X-Report-Cache"]) == ("miss", "hit")
    assert report_part(hit.content.decode()) == report_part(miss.content.decode())


def test_a_reviewer_never_sees_another_counties_cached_report(client, case):
    kq_reviewer = f.user("kim", Role.COUNTY_REVIEWER, case.kq)
    kq_page = get(client, kq_reviewer, Q1).content.decode()  # 柯桥区 (its default region)
    client.logout()
    yc_page = get(client, case.bob, Q1)
    html = yc_page.content.decode()
    assert yc_page["X-Report-Cache"] == "miss"
    assert "越城区 2026年第一季度" in html and "柯桥区 2026年第一季度" not in html
    assert "竹韵托育" not in html and "竹韵托育" in kq_page


def test_the_users_scope_is_part_of_the_key(client, case):
    """The same parameters (越城区) for the city admin, then its county's reviewer: the reviewer's
    breadcrumbs do not lead to the city it may not see."""
    query = {**Q1, "region": case.yc.code}
    city_view = get(client, case.alice, query).content.decode()
    assert f'>{case.city.name}</a> › ' in city_view
    client.logout()
    county_view = get(client, case.bob, query)
    assert county_view["X-Report-Cache"] == "miss"
    assert f'>{case.city.name}</a> › ' not in county_view.content.decode()


def test_a_provider_managers_forced_provider_is_part_of_the_key(client, case):
    query = {**Q1, "region": case.tashan.code}
    everyone = get(client, case.bob, query).content.decode()
    assert case.yc_mch.name in everyone
    client.logout()
    own = get(client, case.carol, query)  # 塔山's manager: its own provider's report only
    assert own["X-Report-Cache"] == "miss"
    assert case.tashan_chc.name in own.content.decode() and case.yc_mch.name not in own.content.decode()


def test_the_day_is_part_of_the_key(client, case):
    """Statuses depend on today: the default as_of is today, and a cached report of yesterday
    is not shown today."""
    with at(D(2026, 4, 20)):
        assert get(client, case.alice, {"period": "2026Q1"})["X-Report-Cache"] == "miss"
        assert get(client, case.alice, {"period": "2026Q1"})["X-Report-Cache"] == "hit"
    with at(D(2026, 4, 21)):
        assert get(client, case.alice, {"period": "2026Q1"})["X-Report-Cache"] == "miss"


def test_a_contract_signed_after_the_dashboard_shows_on_the_next_load(client, case, commit):
    """A registry write (here a contract) raises the registry version too: the coverage kept
    under the old one is not used again."""
    first = get(client, case.alice, Q1)
    assert first["X-Report-Cache"] == "miss" and "签约指导率（4 / 5）" in first.content.decode()  # 稻香 unsigned
    with commit():
        sign(case.fusheng_thc, case.rice)
    shown = get(client, case.alice, Q1)
    assert shown["X-Report-Cache"] == "miss"
    assert "签约指导率（5 / 5）" in shown.content.decode()


def test_parts_kept_under_an_older_registry_version_are_let_go(client, case, commit):
    """Registry versions only rise: once a request reads a newer one, the parts kept under the
    older ones can never be used again, and they are not left to fill the process's memory."""
    from reports import freshness
    from reports.views import REGISTRY_PARTS

    get(client, case.alice, Q1)
    assert len(REGISTRY_PARTS.kept) >= 1
    with commit():
        sign(case.fusheng_thc, case.rice)
    get(client, case.alice, Q1)
    registry = freshness.versions()[1]
    assert REGISTRY_PARTS.kept and all(key[0] == registry for key in REGISTRY_PARTS.kept)


def test_a_confirmation_does_not_read_the_registry_again(client, case, commit):
    """The usual write (a record's confirmation) leaves the registry version: the next miss
    reuses the registry part (no grade read) and shows the confirmation."""
    get(client, case.alice, Q1)
    read = confirm_then_miss(client, case, commit)
    assert "mch_link_centregrade" not in read and "mch_link_grade" not in read


def confirm_then_miss(client, case, commit):
    """The usual write (a disputed record's confirmation), then the city's dashboard: a miss
    showing it. Returns the tables the miss read."""
    part = RecordCentre.objects.get(centre=case.little, record__session__kind="guidance")  # disputed
    with at(AS_OF), commit():  # the data version rises, the registry's not
        record_confirm(part=part, user=case.fay, confirm=True)
    with CaptureQueriesContext(connection) as ctx:
        shown = get(client, case.alice, Q1)
    assert shown["X-Report-Cache"] == "miss"
    assert confirmation_figure(case.city) in shown.content.decode()
    return {t for q in ctx.captured_queries for t in _tables_named(q["sql"])}


# --------------------------------------------------------------------------- the version


def test_the_registry_part_reads_only_the_registry_tables(case):
    """A guard for freshness.REGISTRY: what the dashboard keeps under the registry version (the
    registry on the day and its coverage: completion_rows' keep_registry) reads only tables
    whose writes raise that version, in every kind of report."""
    tables, kept = set(), []

    def keep(key, build):
        with CaptureQueriesContext(connection) as ctx:
            part = build()
        tables.update(t for q in ctx.captured_queries for t in _tables_named(q["sql"]))
        kept.append(key)
        return part

    for region, period, as_of, provider in (
        (case.city, "2026", AS_OF, None), (case.city, "2026", D(2026, 3, 31), None),  # stored, past day
        (case.yc, "2026Q1", AS_OF, case.tashan_chc), (case.tashan, "2026Q1", AS_OF, None),
        (None, "2026Q1", AS_OF, None), (case.city, "2026Q3", AS_OF, None),  # everything; projected
    ):
        completion_rows(region=region, period=period, as_of=as_of, provider=provider, keep_registry=keep)
    assert len(kept) == 6 and "mch_link_contract" in tables and "mch_link_centregrade" in tables
    assert tables <= freshness.REGISTRY, tables - freshness.REGISTRY
    assert freshness.REGISTRY <= freshness.watched_tables()


def test_the_report_reads_only_tables_whose_writes_raise_the_version(case):
    """A guard for freshness.IGNORED: the report's queries name watched tables only."""
    with CaptureQueriesContext(connection) as ctx:
        completion_rows(region=case.city, period="2026", as_of=AS_OF)
        completion_rows(region=case.city, period="2026", as_of=D(2026, 3, 31))  # the past-day path
    tables = {t for q in ctx.captured_queries for t in _tables_named(q["sql"])}
    assert tables and tables <= freshness.watched_tables(), tables - freshness.watched_tables()


def _tables_named(sql):
    import re

    return {t for t in re.findall(r'(?:FROM|JOIN)\s+"(\w+)"', sql)}


def raises_the_version(commit, write):
    before = freshness.current()
    with commit():
        write()
    return freshness.current() > before


WRITES = {  # the services and the paths that bypass signals (update, bulk inserts, raw SQL)
    "record_confirm": lambda case: record_confirm(
        part=RecordCentre.objects.get(centre=case.little, record__session__kind="guidance"), user=case.fay,
        confirm=True),
    "obligation_resolve": lambda case: obligation_resolve(
        obligation=Obligation.objects.get(contract=case.c.c4, kind="guidance", period="2026Q1"), user=case.bob,
        resolution="waived", reason="上级检查代替"),
    "statuses_refresh": lambda case: statuses_refresh(AS_OF),
    "schedule_generate": lambda case: schedule_generate(year=2027, today=D(2026, 12, 1)),
    "queryset.update": lambda case: Obligation.objects.filter(contract=case.c.c4, kind="guidance").update(
        done_on=D(2026, 3, 3)),
    "bulk_create": lambda case: WorkDay.objects.bulk_create(
        [WorkDay(year=WorkYear.objects.get_or_create(year=2026)[0], date=D(2026, 10, 8), is_off=True)]),
    "bulk.insert (executemany, COPY)": lambda case: bulk.insert(
        WorkDay, ["year_id", "date", "is_off", "name"],
        [(WorkYear.objects.get_or_create(year=2026)[0].pk, D(2026, 10, 9), True, "国庆")]),
    "raw SQL": lambda case: connection.cursor().execute(
        f"UPDATE {Centre._meta.db_table} SET name = name WHERE id = %s", [case.sunny.pk]),
    "delete": lambda case: RecordCentre.objects.filter(centre=case.little).delete(),
    "m2m": lambda case: case.tashan_chc.also_covers.add(case.fusheng),
    "save": lambda case: case.sunny.save(),
    "contract": lambda case: Contract.objects.filter(pk=case.c.c1.pk).update(valid_to=F("valid_to")),
    "provider": lambda case: Provider.objects.filter(pk=case.yc_mch.pk).update(name="越城区妇幼"),
    "record": lambda case: Record.objects.update(end=datetime.time(12)),
}


@pytest.mark.parametrize("name", WRITES)
def test_every_way_of_writing_raises_the_version_once_committed(case, commit, name):
    assert raises_the_version(commit, lambda: WRITES[name](case))


REGISTRY_WRITES = {"raw SQL", "m2m", "save", "contract", "provider"}  # a centre, also_covers, a contract


@pytest.mark.parametrize("name", WRITES)
def test_only_a_registry_write_raises_the_registry_version(case, commit, name):
    before = freshness.versions()
    with commit():
        WRITES[name](case)
    after = freshness.versions()
    assert after[0] > before[0]
    if name in REGISTRY_WRITES:
        assert before[1] < after[1] <= after[0]
    else:
        assert after[1] == before[1]


def test_a_bump_waits_for_the_commit_and_comes_once(case, django_capture_on_commit_callbacks):
    connection.run_on_commit[:] = []  # the fixtures' writes' (see commit)
    before = freshness.current()
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            statuses_refresh(AS_OF)
            Obligation.objects.update(status_on=None)
            assert freshness.current() == before  # not before the commit
    assert callbacks.count(freshness.bump) == 1
    for callback in callbacks:
        callback()
    assert freshness.current() == before + 1


def test_a_bump_asked_in_a_rolled_back_savepoint_is_asked_again(case, commit):
    before = freshness.current()
    with commit():
        with transaction.atomic():
            try:
                with transaction.atomic():
                    Obligation.objects.update(status_on=None)
                    raise RuntimeError
            except RuntimeError:
                pass
            Obligation.objects.update(status_on=AS_OF)
    assert freshness.current() == before + 1


def test_writes_the_reports_do_not_read_leave_the_version(case, commit):
    before = freshness.current()
    with commit():
        case.alice.save()  # last_login and the like
        f.user("newcomer", Role.CITY_ADMIN, case.city)  # a membership: read fresh, part of the key
    assert freshness.current() == before


def test_a_restore_gives_a_version_above_every_one_before(case):
    from reports.models import DataVersion

    DataVersion.objects.filter(pk=1).update(n=50)
    freshness.restored(before=120)  # the backup's counter (50) was behind the live one (120)
    assert freshness.current() > 120


def test_reports_are_cached_apart_and_bounded(client, case, settings):
    """The reports have their own cache (settings.CACHES["reports"]), bounded in entries, and a
    report larger than REPORT_CACHE_MAX_BYTES is not kept: a user asking for many distinct
    reports cannot push the feed bodies out of the default cache, nor fill a process's memory
    with a province's long lists."""
    feed_body = ("feed", b"x" * 100)
    cache.set("a-feed-body", feed_body)
    limit = caches["reports"]._max_entries
    assert 0 < limit <= 200
    assert get(client, case.alice, Q1)["X-Report-Cache"] == "miss"
    assert get(client, case.alice, Q1)["X-Report-Cache"] == "hit"
    assert cache.get("a-feed-body") == feed_body  # the report went elsewhere
    settings.REPORT_CACHE_MAX_BYTES = 1000  # smaller than any dashboard
    other = {"period": "2026Q2", "as_of": AS_OF.isoformat()}
    assert get(client, case.alice, other)["X-Report-Cache"] == "miss"
    assert get(client, case.alice, other)["X-Report-Cache"] == "miss"  # too big: not kept


def test_a_database_created_again_starts_its_version_at_the_clock():
    """A database re-created by migrate (make reset-demo) while a shared cache (CACHE_URL) still
    holds the reports of the one before: its counter starts above any version those had."""
    import importlib

    from django.apps import apps

    from reports.models import DataVersion

    migration = importlib.import_module("reports.migrations.0002_dataversion")
    DataVersion.objects.all().delete()
    before = int(datetime.datetime.now().timestamp() * 1000)
    migration.first_row(apps, None)
    assert DataVersion.objects.get().n >= before


# --------------------------------------------------------------------------- the registry part's bounds


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


def test_kept_registry_parts_are_bounded_in_facts(client, case, commit, monkeypatch):
    """A province's registry part is megabytes: the parts a process keeps are bounded by the
    facts they hold together (REPORT_REGISTRY_KEPT_FACTS), not only by their number. The least
    recently used one is let go (its next miss reads the registry again, with the same
    figures), and a part heavier than the whole budget is not kept."""
    from reports.views import REGISTRY_PARTS, _facts

    get(client, case.alice, Q1)  # the city's part
    [city_key] = REGISTRY_PARTS.kept
    city = _facts(*REGISTRY_PARTS.kept[city_key][1])
    assert city > 0 and REGISTRY_PARTS.weight == city
    monkeypatch.setattr(REGISTRY_PARTS, "max_weight", city)  # room for the city's part alone
    get(client, case.alice, {**Q1, "region": case.yc.code})  # a county's part: the city's let go
    assert city_key not in REGISTRY_PARTS.kept and len(REGISTRY_PARTS.kept) == 1
    assert REGISTRY_PARTS.weight <= city

    assert "mch_link_centregrade" in confirm_then_miss(client, case, commit)  # the city's part built again

    monkeypatch.setattr(REGISTRY_PARTS, "max_weight", city - 1)  # lighter than the city's part
    REGISTRY_PARTS.clear()
    get(client, case.alice, {**Q1, "as_of": (AS_OF + datetime.timedelta(days=1)).isoformat()})
    assert not REGISTRY_PARTS.kept and REGISTRY_PARTS.weight == 0
