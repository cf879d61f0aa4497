"""Many people and workers at once, on a real database with real threads.

Each test starts its actors behind a barrier, so they hit the database together, the way two
gunicorn workers or two django-q workers do in the production profile. Each thread has its own
connection (Django's are per thread). These run on PostgreSQL in CI; on SQLite only with a file
database (TEST_SQLITE_NAME), since an in-memory test database cannot be shared by threads.
"""

import datetime
import re
import threading

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse

from mch_link.models import Contract
from scheduling import jobs
from scheduling.models import Attachment, Obligation, Record, RecordCentre, Session
from tests import factories

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and not settings.DATABASES["default"]["TEST"].get(
            "NAME"),
        reason="threads need a shared database: PostgreSQL, or SQLite with TEST_SQLITE_NAME"),
]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def at_once(*actions, timeout=60):
    """Run `actions` in threads released together; return their results (or exceptions)."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(i, action):
        try:
            barrier.wait(timeout)
            results[i] = action()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


@pytest.fixture
def meet(monkeypatch):
    """meet(module, "name", n): callers of module.name wait (up to 3 s) until n of them are inside,
    so each read the database before any writes: the widest window a race can have. With a
    lock held around the call, the second caller never gets in, the wait times out and the
    first goes on alone: that is the single-flight the lock must give."""

    def install(module, name, n=2, wait=3):
        original = getattr(module, name)
        barrier = threading.Barrier(n)

        def wrapped(*args, **kwargs):
            try:
                barrier.wait(wait)
            except threading.BrokenBarrierError:
                pass
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapped)

    return install


def at(day, hour=10):
    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, hour - 8, 0, tzinfo=datetime.UTC))


def client_for(user):
    c = Client(raise_request_exception=False)
    c.force_login(user)
    return c


def sign(world, provider, centre, year=2026):
    return Contract.objects.create(provider=provider, centre=centre, status="signed",
                                   signed_on=datetime.date(year, 1, 1), valid_from=datetime.date(year, 1, 1),
                                   valid_to=datetime.date(year, 12, 31))


def live_sessions_per_obligation():
    """{obligation id: number of live (not cancelled) sessions serving it}."""
    return dict(Obligation.objects.annotate(
        n=Count("sessions", filter=~Q(sessions__status=Session.Status.CANCELLED))).values_list("pk", "n"))


@pytest.fixture
def contracted(world):
    for centre in (world.sunny, world.little):
        sign(world, world.tashan_chc, centre)
    sign(world, world.fusheng_thc, world.rice)
    return world


def version_in(html):
    match = re.search(r'name="version" value="(\d*)"', html)
    return match.group(1) if match else ""


# --------------------------------------------------------------------------- planning


def test_two_schedule_commands_at_once_plan_each_obligation_once(contracted, meet):
    from scheduling import planner
    from scheduling.services import obligations_sync, workyear_ensure
    meet(planner, "plan")
    workyear_ensure(2026)
    obligations_sync(2026)  # obligations and the work calendar there, sessions not yet planned
    assert Obligation.objects.count() > 0 and not Session.objects.exists()
    with at(datetime.date(2026, 1, 5)):
        results = at_once(*[lambda: call_command("generate_schedule", year=2026, stdout=open("/dev/null", "w"))] * 2)
    assert not [r for r in results if isinstance(r, BaseException)], results
    counts = live_sessions_per_obligation()
    assert set(counts.values()) == {1}, "every obligation has exactly one live session"
    assert not Session.objects.filter(status=Session.Status.CANCELLED).exists()


def test_two_replan_posts_at_once_do_not_duplicate(contracted, meet):
    from scheduling import planner
    with at(datetime.date(2026, 1, 5)):
        call_command("generate_schedule", year=2026, stdout=open("/dev/null", "w"))
        before = Session.objects.filter(provider=contracted.tashan_chc).count()
        Session.objects.filter(provider=contracted.tashan_chc).delete()  # wiped: the re-plan creates them again
        a, b = client_for(contracted.carol), client_for(contracted.carol)
        url = reverse("scheduling:provider_regenerate")
        meet(planner, "plan")
        results = at_once(lambda: a.post(url, {"quarter": "2026Q1"}), lambda: b.post(url, {"quarter": "2026Q1"}))
    assert [getattr(r, "status_code", r) for r in results] == [200, 200]
    assert Session.objects.filter(provider=contracted.tashan_chc).count() == before
    assert set(live_sessions_per_obligation().values()) == {1}


def test_two_workers_replanning_one_provider_leave_one_plan(contracted, meet):
    from scheduling import planner
    meet(planner, "plan")
    ids = list(Contract.objects.filter(provider=contracted.tashan_chc).values_list("pk", flat=True))
    today = datetime.date(2026, 1, 5)
    for _round in range(3):
        Session.objects.all().delete()
        results = at_once(lambda: jobs.replan_for_contracts(ids, today=today),
                          lambda: jobs.replan_for_contracts(ids, today=today))
        assert not [r for r in results if isinstance(r, BaseException)], results
        counts = live_sessions_per_obligation()
        owed = Obligation.objects.filter(contract__provider=contracted.tashan_chc).values_list("pk", flat=True)
        assert {counts[pk] for pk in owed} == {1}
        assert not Session.objects.filter(status=Session.Status.CANCELLED).exists()


def test_the_database_refuses_a_second_live_session_for_an_obligation(contracted):
    """Even a path that skips the lock cannot link one obligation to two live sessions."""
    from django.db import IntegrityError, transaction

    with at(datetime.date(2026, 1, 5)):
        call_command("generate_schedule", year=2026, stdout=open("/dev/null", "w"))
    session = Session.objects.filter(kind="guidance").first()
    obligation = session.obligations.first()
    copy = Session.objects.create(provider=session.provider, kind=session.kind, date=session.date,
                                  start=session.start, end=session.end)
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.obligations.add(obligation)


# --------------------------------------------------------------------------- records


@pytest.fixture
def planned(contracted):
    with at(datetime.date(2026, 1, 5)):
        call_command("generate_schedule", year=2026, stdout=open("/dev/null", "w"))
    contracted.guidance = Session.objects.filter(provider=contracted.tashan_chc, kind="guidance",
                                                 obligations__contract__centre=contracted.sunny).order_by("date").first()
    contracted.training = Session.objects.filter(provider=contracted.tashan_chc, kind="staff_training") \
        .order_by("date").first()
    contracted.dan2 = factories.user("dan2", "doctor", contracted.tashan_chc)
    return contracted


def record_post(day, version, **extra):
    data = {"held_on": day.isoformat(), "start": "09:00", "end": "11:00", "content": "检查晨检与消毒记录",
            "finding_0": "一日生活安排合理", "finding_4": "消毒记录不全", "advice": "补全消毒记录",
            "follow_up_on": (day + datetime.timedelta(days=30)).isoformat(), "submit": "1", "version": version}
    data.update(extra)
    return data


def test_two_doctors_creating_one_record_the_second_gets_a_conflict(planned):
    session = planned.guidance
    url = reverse("scheduling:record_edit", args=[session.pk])
    with at(session.date + datetime.timedelta(days=1)):
        a, b = client_for(planned.dan), client_for(planned.dan2)
        seen_a, seen_b = version_in(a.get(url).content.decode()), version_in(b.get(url).content.decode())
        first = a.post(url, record_post(session.date, seen_a, content="甲医生的记录"))
        second = b.post(url, record_post(session.date, seen_b, content="乙医生的记录"))
    assert first.status_code == 302
    assert second.status_code == 409
    assert "已被他人修改" in second.content.decode()
    record = Record.objects.get(session=session)
    assert record.content == "甲医生的记录" and record.doctor == planned.dan


def test_two_doctors_creating_at_once_keep_one_whole_record(planned):
    session = planned.guidance
    url = reverse("scheduling:record_edit", args=[session.pk])
    with at(session.date + datetime.timedelta(days=1)):
        a, b = client_for(planned.dan), client_for(planned.dan2)
        seen = version_in(a.get(url).content.decode())
        results = at_once(lambda: a.post(url, record_post(session.date, seen, content="甲")),
                          lambda: b.post(url, record_post(session.date, seen, content="乙")))
    codes = sorted(r.status_code for r in results)
    assert codes == [302, 409], codes
    winner = results[[r.status_code for r in results].index(302)]
    record = Record.objects.get(session=session)
    assert record.content == ("甲" if winner is results[0] else "乙")
    assert Record.objects.filter(session=session).count() == 1


def _submit_training(planned, client, attendance):
    session = planned.training
    url = reverse("scheduling:record_edit", args=[session.pk])
    seen = version_in(client.get(url).content.decode())
    centres = sorted(Obligation.objects.filter(sessions=session).values_list("contract__centre", flat=True))
    post = {"held_on": session.date.isoformat(), "start": "09:00", "end": "11:00", "topics": ["意外伤害急救"],
            "submit": "1", "version": seen}
    post.update({f"attendance_{c}": "20" for c in centres[1:]})
    post[f"attendance_{centres[0]}"] = str(attendance)
    response = client.post(url, post)
    return response, centres[0]


def _submitted_part_and_its_staff(planned, doctor, attendance, username):
    """The training's record submitted by `doctor`: the part of the centre whose attendance
    is `attendance`, and a new staff user of that centre."""
    response, centre_id = _submit_training(planned, doctor, attendance)
    assert response.status_code == 302
    part = RecordCentre.objects.get(record__session=planned.training, centre_id=centre_id)
    return part, factories.user(username, "centre_staff", part.centre)


def test_an_amendment_after_confirmation_puts_the_part_back_to_pending(planned):
    session = planned.training
    with at(session.date + datetime.timedelta(days=1)):
        doctor = client_for(planned.dan)
        part, staff = _submitted_part_and_its_staff(planned, doctor, 15, "staff-x")
        centre = client_for(staff)
        page = centre.get(reverse("scheduling:session_detail", args=[session.pk])).content.decode()
        assert "确认" in page
        centre.post(reverse("scheduling:record_confirm", args=[part.pk]),
                    {"confirm": "1", "version": str(part.version),
                     "record_version": str(part.record.version)})
        part.refresh_from_db()
        assert part.confirmation == "confirmed"
        response, _ = _submit_training(planned, doctor, 999)
        assert response.status_code == 302
    part.refresh_from_db()
    assert part.attendance == 999
    assert part.confirmation == "unconfirmed", "a confirmation of the old figures no longer stands"
    assert Obligation.objects.filter(sessions=session, contract__centre=part.centre).get().confirmation != "confirmed"
    assert staff.notifications.filter(key__contains=f"record-{part.record_id}").exists()


def test_confirming_while_the_doctor_amends_never_leaves_a_stale_confirmation(planned):
    session = planned.training
    day = session.date + datetime.timedelta(days=1)
    with at(day):
        doctor = client_for(planned.dan)
        part, staff = _submitted_part_and_its_staff(planned, doctor, 10, "staff-y")
        centre_id = part.centre_id
        centre = client_for(staff)
        for attendance in range(11, 19):
            part.refresh_from_db()
            record = part.record
            shown = {"confirm": "1", "version": str(part.version), "record_version": str(record.version)}
            url = reverse("scheduling:record_edit", args=[session.pk])
            seen = version_in(doctor.get(url).content.decode())
            amend = {"held_on": session.date.isoformat(), "start": "09:00", "end": "11:00",
                     "topics": ["意外伤害急救"], "submit": "1", "version": seen}
            amend.update({f"attendance_{p.centre_id}": "20" for p in record.centres.all()})
            amend[f"attendance_{centre_id}"] = str(attendance)
            confirm_url = reverse("scheduling:record_confirm", args=[part.pk])
            results = at_once(lambda url=url, amend=amend: doctor.post(url, amend),
                              lambda url=confirm_url, shown=shown: centre.post(url, shown))
            assert all(r.status_code < 500 for r in results), [r.status_code for r in results]
            part.refresh_from_db()
            if part.confirmation == "confirmed":
                assert part.confirmed_version == part.record.version, "confirmed content is the current content"
            else:
                assert part.attendance == attendance


# --------------------------------------------------------------------------- double submits


def test_drafting_missing_contracts_three_times_at_once_drafts_each_once(world):
    clients = [client_for(world.carol) for _ in range(3)]
    url = reverse("mch_link:contract_draft_missing")
    form = {"valid_from": "2026-01-01", "valid_to": "2026-12-31"}
    results = at_once(*[(lambda c=c: c.post(url, form)) for c in clients])
    assert all(r.status_code == 302 for r in results), [getattr(r, "status_code", r) for r in results]
    drafts = Contract.objects.filter(provider=world.tashan_chc, status="draft")
    assert drafts.count() > 0
    assert drafts.values("centre").distinct().count() == drafts.count()


def test_a_double_tap_stores_the_photo_once(planned):
    from django.core.files.uploadedfile import SimpleUploadedFile

    session = planned.guidance
    url = reverse("scheduling:record_edit", args=[session.pk])
    with at(session.date + datetime.timedelta(days=1)):
        doctor = client_for(planned.dan)
        seen = version_in(doctor.get(url).content.decode())

        def tap():
            return doctor.post(url, record_post(session.date, seen,
                                                files=SimpleUploadedFile("现场.png", PNG, "image/png")))
        results = at_once(tap, tap)
        assert all(r.status_code in (302, 409) for r in results), [r.status_code for r in results]
        record = Record.objects.get(session=session)
        again = doctor.post(url, record_post(session.date, str(record.version),
                                             files=SimpleUploadedFile("现场.png", PNG, "image/png")))
        assert again.status_code == 302
    assert Attachment.objects.filter(record__session=session).count() == 1


# --------------------------------------------------------------------------- capacity


def test_concurrent_moves_to_one_day_stay_within_capacity(planned):
    from tests import factories as f

    provider = planned.tashan_chc
    for i in range(4):
        sign(planned, provider, f.centre(f"新苗托育{i}", planned.tashan))
    with at(datetime.date(2026, 1, 5)):
        call_command("generate_schedule", year=2026, stdout=open("/dev/null", "w"))
    capacity = provider.daily_capacity
    day = datetime.date(2026, 3, 11)
    movable = list(Session.objects.filter(provider=provider, status="planned", date__month__in=(1, 2, 3))
                   .exclude(date=day).order_by("pk")[:capacity * 2])
    assert len(movable) == capacity * 2
    already = Session.objects.filter(provider=provider, date=day).exclude(status="cancelled").count()
    clients = [client_for(planned.carol) for _ in movable]
    with at(datetime.date(2026, 1, 6)):
        results = at_once(*[
            (lambda c=c, s=s: c.post(reverse("scheduling:session_move", args=[s.pk]), {
                "date": day.isoformat(), "start": "09:00", "end": "10:00", "reason": "集中安排",
                "version": str(s.version)}))
            for c, s in zip(clients, movable, strict=True)])
    assert all(r.status_code in (302, 400) for r in results), [getattr(r, "status_code", r) for r in results]
    assert Session.objects.filter(provider=provider, date=day).exclude(status="cancelled").count() <= max(
        capacity, already)
    refused = [r for r in results if r.status_code == 400]
    assert refused and all("容量" in r.content.decode() for r in refused)

