"""The plan's fast write path (plain tuples, executemany / COPY) saves the same rows as the
ORM's bulk_create."""

import datetime
import gc
import uuid

import pytest
from django.db import transaction

from mch_link.models import Contract
from scheduling import planner
from scheduling.models import Obligation, Session
from scheduling.services import bulk, schedule_generate, statuses_refresh

pytestmark = pytest.mark.django_db

COLUMNS = ("provider_id", "kind", "date", "start", "end", "doctor_slot", "doctor_id", "place", "status",
           "estimated", "pinned", "sequence", "version", "change_reason", "needs_decision_on",
           "allow_early_record")


def planned_rows(world, fast, monkeypatch):
    """Plan 2027 for the world's signed contracts with one write path; return the saved rows
    by content (ids and uids differ between runs), then roll back."""
    monkeypatch.setattr(bulk, "FAST_WRITE", fast)
    with transaction.atomic():
        for provider, centre in ((world.tashan_chc, world.sunny), (world.tashan_chc, world.little),
                                 (world.yc_mch, world.sunny), (world.city_mch, world.sunny)):
            Contract.objects.create(provider=provider, centre=centre, status="signed",
                                    signed_on=datetime.date(2026, 11, 1), valid_from=datetime.date(2027, 1, 1),
                                    valid_to=datetime.date(2027, 12, 31))
        report = schedule_generate(year=2027, today=datetime.date(2026, 12, 1))
        sessions = sorted(Session.objects.values_list(*COLUMNS))
        links = sorted(Session.obligations.through.objects.values_list(
            *(f"session__{c}" for c in COLUMNS[:6]), "obligation__contract__centre_id", "obligation__kind",
            "obligation__period", "live"))
        obligations = sorted(Obligation.objects.values_list(
            "contract__provider_id", "contract__centre_id", "kind", "period", "start", "end", "resolution",
            "done_on", "status", "status_on", "confirmation"))
        uids = [uid for uid in Session.objects.values_list("uid", flat=True)
                if uid.version == 4 and uid.variant == uuid.RFC_4122]
        stamps = Session.objects.filter(created_at__isnull=False, updated_at__isnull=False).count()
        # the new obligations were written with their statuses: a refresh changes none
        refreshed = statuses_refresh(datetime.date(2026, 12, 1), Obligation.objects.all())
        rerun = schedule_generate(year=2027, today=datetime.date(2026, 12, 1))
        result = (refreshed, report.created, sessions, links, obligations, len(set(uids)), stamps,
                  rerun.created, rerun.kept)
        transaction.set_rollback(True)
    return result


def test_the_fast_write_path_saves_the_same_rows_as_the_orm(world, monkeypatch):
    fast = planned_rows(world, True, monkeypatch)
    orm = planned_rows(world, False, monkeypatch)
    refreshed, created, sessions, links, obligations, uids, stamps, rerun_created, rerun_kept = fast
    assert refreshed == 0
    assert created > 10 and len(links) >= created
    assert all(link[-1] is True for link in links)  # new links are live
    assert uids == created and stamps == created  # distinct random (version 4) uids, timestamps set
    assert (rerun_created, rerun_kept) == (0, created)  # the re-run reads them back and keeps them
    assert fast == orm
    assert Obligation.objects.count() == 0


def test_the_cyclic_collector_is_paused_while_planning_and_on_again_after_even_on_error(world, monkeypatch):
    seen = []

    def spy(inp, settings=None):
        seen.append(gc.isenabled())
        raise RuntimeError("planner failed")

    monkeypatch.setattr(planner, "plan", spy)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        schedule_generate(year=2027, today=datetime.date(2026, 12, 1))
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()  # a caller that paused it itself keeps it paused
    try:
        with bulk.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
