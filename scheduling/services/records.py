"""Writes of records: the doctor's log of a held session and each centre's answer to it.
The protocol of each change is on the model (Record.submit/amend, RecordCentre.confirm/
dispute); these functions lock the rows, call it, and refresh the statuses it touches."""

from django.db import transaction
from django.utils import timezone

from ..models import Attachment, Obligation, Record, RecordCentre, Session
from ..selectors import session_centre_ids
from .obligations import statuses_refresh


@transaction.atomic
def record_save(*, session, user, data, submit, version=None, attendance=None, files=()):
    """Create or update the session's record. `data`: held_on, start, end, topics,
    topics_other, content, findings, advice, follow_up_on. `attendance`: {centre id: n}.
    With `submit`, its obligations count as done on held_on and disputed parts go back to
    the centre for confirmation. Raises Locked, Conflict or ValidationError."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    record = Record.objects.filter(session=session).first() or Record(session=session, doctor=user)
    record.session = session
    write = record.submit if submit else record.amend
    write(data, by=user, centre_ids=session_centre_ids(session), attendance=attendance, version=version)
    for f in files:
        Attachment.objects.create(record=record, file=f, original_name=f.name[:200], size=f.size,
                                  uploaded_by=user)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(sessions=session))
    return record


@transaction.atomic
def record_confirm(*, part, user, confirm, reason="", version=None):
    """The centre confirms its part of a submitted record, or disputes it with a reason."""
    part = RecordCentre.objects.select_for_update().select_related("record__session").get(pk=part.pk)
    if confirm:
        part.confirm(by=user, version=version)
    else:
        part.dispute(by=user, reason=reason, version=version)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(sessions=part.record.session))
    return part
