"""Demo records: most past sessions of the demo were held, logged and confirmed, so that the
agenda, the confirmations and the reports show a plausible year. Deterministic; idempotent."""

import datetime
import hashlib

from django.db import transaction
from django.db.models import OuterRef, Subquery

from mch_link.dbstats import analyze_after_bulk_write

from .models import Obligation, Record, RecordCentre, Session
from .services import statuses_refresh
from .work import CHECKLIST_AREAS, CHECKLIST_KINDS, TOPICS

FINDINGS = ("符合要求", "基本符合，个别记录不全", "需加强", "符合要求，台账规范")


def _roll(*parts):
    """A stable number 0..99 from the parts (same on every machine)."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).digest()[0] * 100 // 256


def _key(session):
    """What names a planned session whatever the database: its provider, kind, day, time and
    doctor slot (the planner derives them from the contracts). Not its uid (random) nor its
    id (depends on what the database created before)."""
    return (session.provider.code, session.kind, session.date, session.start, session.doctor_slot)


@transaction.atomic
def demo_records_build(*, today):
    """Log and (mostly) confirm about 90% of the sessions dated more than two days before
    `today` that have no record yet. Returns the number of records created."""
    sessions = list(
        Session.objects.filter(status=Session.Status.PLANNED, date__lt=today - datetime.timedelta(days=2),
                               record__isnull=True).select_related("doctor", "provider").order_by("pk"))
    held = [s for s in sessions if _roll("held", *_key(s)) < 90]
    records = []
    for s in held:
        topics = list(TOPICS[s.kind][: 1 + _roll("topics", *_key(s)) % 3])
        findings = ({area: FINDINGS[_roll(area, *_key(s)) % len(FINDINGS)] for area in CHECKLIST_AREAS}
                    if s.kind in CHECKLIST_KINDS else {})
        records.append(Record(
            session=s, doctor=s.doctor, status=Record.Status.SUBMITTED, held_on=s.date, start=s.start, end=s.end,
            topics=topics, content="按计划开展：" + "、".join(topics), findings=findings,
            advice="完善卫生消毒台账" if findings else "",
            follow_up_on=s.date + datetime.timedelta(days=30) if findings else None,
        ))
    Record.objects.bulk_create(records, batch_size=1000)
    by_session = dict(Record.objects.filter(session__in=[s.pk for s in held]).values_list("session_id", "pk"))
    keys = {s.pk: _key(s) for s in held}
    parts = []
    links = Session.obligations.through.objects.filter(session__in=[s.pk for s in held]).values_list(
        "session_id", "obligation__contract__centre_id", "obligation__contract__centre__code").distinct()
    for session_id, centre_id, centre_code in links:
        roll = _roll("confirm", *keys[session_id], centre_code)
        confirmation = "confirmed" if roll < 80 else "disputed" if roll < 84 else "unconfirmed"
        parts.append(RecordCentre(
            record_id=by_session[session_id], centre_id=centre_id, attendance=8 + roll % 30,
            confirmation=confirmation, dispute_reason="服务时长与实际不符" if confirmation == "disputed" else ""))
    RecordCentre.objects.bulk_create(parts, batch_size=1000)
    Session.objects.filter(pk__in=[s.pk for s in held]).update(status=Session.Status.HELD, pinned=True)
    held_date = Session.objects.filter(obligations=OuterRef("pk"), status=Session.Status.HELD).order_by("date")
    Obligation.objects.filter(done_on__isnull=True, sessions__in=[s.pk for s in held]).update(
        done_on=Subquery(held_date.values("date")[:1]))
    analyze_after_bulk_write(len(records) + len(parts), Record, RecordCentre, Session)
    statuses_refresh(today)
    return len(records)
