"""The background jobs, run synchronously (sync: True) under a frozen clock."""

import datetime
import os
import time

import pytest
import time_machine
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from mch_link.models import Contract
from mch_link.services import contract_sign, contract_terminate
from scheduling import jobs, pending
from scheduling.models import Notification, Obligation, Session
from scheduling.services import schedule_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(world):
    Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, status="signed",
                            signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                            valid_to=datetime.date(2026, 12, 31))
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    world.dan.email = "dan@example.cn"
    world.dan.save()
    return world


def test_jobs_are_registered_once_however_often_setup_runs():
    call_command("setup_jobs")
    call_command("setup_jobs")
    assert sorted(Schedule.objects.values_list("func", flat=True)) == sorted(f for f, _t, _w in jobs.SCHEDULES.values())
    yearly = timezone.localtime(Schedule.objects.get(func="scheduling.jobs.plan_next_year").next_run)
    assert (yearly.month, yearly.day, yearly.hour) == (12, 1, 2)


@time_machine.travel(datetime.datetime(2026, 4, 20, 2, 0, tzinfo=datetime.UTC))
def test_the_nightly_refresh_marks_passed_sessions_overdue(planned):
    first = Session.objects.order_by("date").first()
    assert first.date < datetime.date(2026, 4, 20)
    jobs.refresh_statuses()
    ob = first.obligations.first()
    ob.refresh_from_db()
    assert ob.status in ("overdue", "missed") and ob.status_on == datetime.date(2026, 4, 20)


def test_doctors_are_reminded_3_days_ahead_and_centres_7_days_ahead(planned):
    session = Session.objects.filter(kind="guidance").order_by("date").first()
    sent = jobs.send_reminders(today=session.date - datetime.timedelta(days=3))
    assert sent >= 1
    note = Notification.objects.get(user=planned.dan, key__startswith=f"doctor:{session.pk}:")
    assert "阳光托育园" in note.body
    assert any("阳光托育园" in m.body and m.to == ["dan@example.cn"] for m in mail.outbox)
    # the same day again sends nothing new
    assert jobs.send_reminders(today=session.date - datetime.timedelta(days=3)) == 0
    jobs.send_reminders(today=session.date - datetime.timedelta(days=7))
    assert Notification.objects.filter(user=planned.fay, key__startswith=f"centre:{session.pk}:").exists()
    # nobody of another organisation hears of it
    assert not Notification.objects.filter(user__in=[planned.erin, planned.gus]).exists()


def test_managers_get_a_weekly_digest_of_overdue_obligations(planned):
    from scheduling.services import statuses_refresh

    statuses_refresh(datetime.date(2026, 5, 1))
    assert jobs.send_overdue_digests(today=datetime.date(2026, 5, 4)) == 1
    note = Notification.objects.get(user=planned.carol)
    assert "阳光托育园" in note.body and note.title.startswith("逾期未完成的服务")
    assert jobs.send_overdue_digests(today=datetime.date(2026, 5, 5)) == 0  # same week


def test_signing_a_contract_plans_its_sessions(world, django_capture_on_commit_callbacks):
    draft = Contract.objects.create(provider=world.tashan_chc, centre=world.little,
                                    valid_from=datetime.date(2026, 1, 1), valid_to=datetime.date(2026, 12, 31))
    with time_machine.travel(datetime.datetime(2026, 1, 2, 9, 0, tzinfo=datetime.UTC)), \
            django_capture_on_commit_callbacks(execute=True):
        contract_sign(contract=draft, signed_on=datetime.date(2026, 1, 2), user=world.carol)
    assert Obligation.objects.filter(contract=draft).count() == 13
    assert Session.objects.filter(obligations__contract=draft).distinct().count() >= 9


def test_terminating_a_contract_cancels_its_later_sessions(planned, django_capture_on_commit_callbacks):
    contract = Contract.objects.get(centre=planned.sunny)
    with time_machine.travel(datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)), \
            django_capture_on_commit_callbacks(execute=True):
        contract_terminate(contract=contract, terminated_on=datetime.date(2026, 6, 15), reason="停办",
                           user=planned.carol)
    later = Session.objects.filter(date__gte=datetime.date(2026, 7, 1))
    assert later.exists() and set(later.values_list("status", flat=True)) == {"cancelled"}
    assert all(s.sequence == 1 for s in later)


def test_plan_next_year_on_1_december_plans_an_estimated_year(world):
    Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, status="signed",
                            signed_on=datetime.date(2026, 11, 1), valid_from=datetime.date(2027, 1, 1),
                            valid_to=datetime.date(2027, 12, 31))
    with time_machine.travel(datetime.datetime(2026, 12, 1, 2, 0, tzinfo=datetime.UTC)):
        report = jobs.plan_next_year()
    assert report.year == 2027 and report.estimated
    assert Session.objects.filter(date__year=2027, estimated=True).count() == report.created > 0


def test_signing_a_contract_replans_only_its_own_provider(world, django_capture_on_commit_callbacks):
    # another provider's signed contract that nobody has planned yet stays unplanned
    Contract.objects.create(provider=world.yc_mch, centre=world.sunny, status="signed",
                            signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                            valid_to=datetime.date(2026, 12, 31))
    draft = Contract.objects.create(provider=world.tashan_chc, centre=world.little,
                                    valid_from=datetime.date(2026, 1, 1), valid_to=datetime.date(2026, 12, 31))
    with time_machine.travel(datetime.datetime(2026, 1, 2, 9, 0, tzinfo=datetime.UTC)), \
            django_capture_on_commit_callbacks(execute=True):
        contract_sign(contract=draft, signed_on=datetime.date(2026, 1, 2), user=world.carol)
    assert Session.objects.filter(provider=world.tashan_chc).exists()
    assert not Session.objects.filter(provider=world.yc_mch).exists()


def test_abandoned_held_photos_are_removed_after_a_day():
    old = default_storage.save("pending/7/old.png", ContentFile(b"x"))
    fresh = default_storage.save("pending/7/fresh.png", ContentFile(b"y"))
    two_days_ago = time.time() - 2 * 86400
    os.utime(default_storage.path(old), (two_days_ago, two_days_ago))
    assert pending.discard_stale() == 1
    assert not default_storage.exists(old) and default_storage.exists(fresh)


def test_the_cleanup_removes_emptied_folders_and_survives_a_file_taken_meanwhile(monkeypatch):
    old = default_storage.save("pending/8/old.png", ContentFile(b"x"))
    taken = default_storage.save("pending/9/taken.png", ContentFile(b"y"))
    two_days_ago = time.time() - 2 * 86400
    os.utime(default_storage.path(old), (two_days_ago, two_days_ago))
    modified = default_storage.get_modified_time

    def vanishing(path):
        if path == taken:  # a submit takes it between the listing and this look
            default_storage.delete(taken)
            raise FileNotFoundError(path)
        return modified(path)

    monkeypatch.setattr(default_storage, "get_modified_time", vanishing)
    assert pending.discard_stale() == 2
    assert not default_storage.exists("pending/8") and not default_storage.exists("pending/9")
