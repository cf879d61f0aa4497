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
        m.setattr(rows, "_stored_statuses_fresh", lambda *a, **k: False)
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


def test_a_confirmation_or_a_dispute_counts_at_once(case, monkeypatch):
    """The centre's answer is stored on the obligation when it is given (record_confirm), so the
    day's report, counted from the stored figures, shows it without waiting for the night."""
    from django.utils import timezone

    from scheduling.models import RecordCentre
    from scheduling.services import record_confirm

    today = timezone.localdate()
    statuses_refresh(today)
    before = completion_rows(region=case.city, period="2026Q1", as_of=today)
    assert before.used_stored_statuses
    guidance = before.completion["guidance"]
    assert (guidance.confirmed, guidance.disputed) == (1, 1)  # 阳光 confirmed, 小星星 disputed

    disputed = RecordCentre.objects.get(centre=case.little, record__session__kind="guidance")
    record_confirm(part=disputed, user=case.fay, confirm=True)
    after = completion_rows(region=case.city, period="2026Q1", as_of=today)
    assert after.used_stored_statuses
    assert (after.completion["guidance"].confirmed, after.completion["guidance"].disputed) == (2, 0)

    confirmed = RecordCentre.objects.get(centre=case.sunny, record__session__kind="guidance")
    record_confirm(part=confirmed, user=case.fay, confirm=False, reason="人数不符")
    after = completion_rows(region=case.city, period="2026Q1", as_of=today)
    assert after.used_stored_statuses
    assert (after.completion["guidance"].confirmed, after.completion["guidance"].disputed) == (1, 1)
    tashan = {g.code: g.completion["guidance"] for g in after.by_provider}[case.tashan_chc.code]
    assert (tashan.confirmed, tashan.disputed) == (1, 1)  # both records are 塔山's
    assert Obligation.objects.get(contract=case.c.c2, kind="guidance", period="2026Q1").confirmation == "confirmed"
    assert Obligation.objects.get(contract=case.c.c1, kind="guidance", period="2026Q1").confirmation == "disputed"
    fast, slow = both_ways(monkeypatch, region=case.city, period="2026Q1", as_of=today)
    assert figures(fast) == figures(slow)


def test_the_migration_fills_the_stored_confirmations(case):
    """scheduling 0007 fills Obligation.confirmation for the records already there, with the rule
    of confirmations_of (the obligation's own centre; confirmed wins)."""
    import importlib

    from django.apps import apps

    from scheduling.services import confirmations_of

    migration = importlib.import_module("scheduling.migrations.0007_obligation_confirmation")
    Obligation.objects.update(confirmation="unconfirmed")
    migration.fill_confirmations(apps, None)
    stored = dict(Obligation.objects.exclude(confirmation="unconfirmed").values_list("pk", "confirmation"))
    assert stored == confirmations_of(Obligation.objects.all())
    assert sorted(stored.values()) == ["confirmed", "confirmed", "disputed"]  # c1 guidance, c1 training; c2


def test_the_admin_types_no_record_date_and_deletes_no_session(case, admin_client):
    """Repairs behind the rules are not offered in the admin any more (issue 13): a record
    date typed onto an obligation, or a session deleted, would bypass the record's lock,
    audit and re-plan. Both are refused, and the stored statuses and the report stay right."""
    from django.urls import reverse
    from django.utils import timezone

    from scheduling.models import Session

    today = timezone.localdate()
    statuses_refresh(today)
    ob = Obligation.objects.get(contract=case.c.c4, kind="guidance", period="2026Q1")
    assert ob.status == "missed"
    before = completion_rows(region=case.city, period="2026Q1", as_of=today).completion["guidance"]

    response = admin_client.post(reverse("admin:scheduling_obligation_change", args=[ob.pk]), {
        "contract": ob.contract_id, "kind": ob.kind, "period": ob.period, "start": ob.start, "end": ob.end,
        "resolution": "", "resolution_reason": "", "done_on": "2026-03-02",
    })
    assert response.status_code == 403
    ob.refresh_from_db()
    assert (ob.done_on, ob.status) == (None, "missed")
    after = completion_rows(region=case.city, period="2026Q1", as_of=today).completion["guidance"]
    assert (after.done_on_time, after.missed) == (before.done_on_time, before.missed)

    planned = Session.objects.filter(status="planned", obligations__period="2026Q4").first()
    statuses = dict(planned.obligations.values_list("pk", "status"))
    response = admin_client.post(reverse("admin:scheduling_session_delete", args=[planned.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Session.objects.filter(pk=planned.pk).exists()
    assert dict(Obligation.objects.filter(pk__in=statuses).values_list("pk", "status")) == statuses


def test_the_admin_offers_no_bulk_delete_of_sessions(case, admin_client):
    """The admin's "delete selected" is gone: the sessions and their obligations' statuses stay."""
    from django.urls import reverse
    from django.utils import timezone

    from scheduling.models import Session

    statuses_refresh(timezone.localdate())
    sessions = list(Session.objects.filter(status="planned", obligations__period="2026Q4").distinct()[:3])
    statuses = dict(Obligation.objects.filter(sessions__in=sessions).values_list("pk", "status"))
    assert len(sessions) == 3 and statuses
    admin_client.post(reverse("admin:scheduling_session_changelist"), {
        "action": "delete_selected", "_selected_action": [s.pk for s in sessions], "post": "yes"})
    assert Session.objects.filter(pk__in=[s.pk for s in sessions]).count() == 3
    assert dict(Obligation.objects.filter(pk__in=statuses).values_list("pk", "status")) == statuses
