"""Writes of records: the doctor's log of a held session and each centre's answer to it.
The protocol of each change is on the model (Record.submit/amend, RecordCentre.confirm/
dispute); these functions lock the rows in the one order (scheduling.locks: provider shared,
session, record, parts), call it, and refresh the statuses it touches."""

import hashlib

from django.db import transaction
from django.utils import timezone

from mch_link.locks import lock_provider

from ..models import Attachment, Obligation, Record, RecordCentre, Session
from ..selectors import session_centre_ids
from . import handovers
from .obligations import statuses_refresh


def _lock_session(session_id, provider_id):
    lock_provider(provider_id, shared=True)
    return Session.objects.select_for_update().get(pk=session_id)


@transaction.atomic
def record_save(*, session, user, data, submit, version=None, attendance=None, files=()):
    """Create or update the session's record. `data`: held_on, start, end, topics,
    topics_other, content, findings, advice, follow_up_on. `attendance`: {centre id: n}.
    `version`: the record version the user was shown, 0 for "no record yet" (a second
    creator then gets Conflict, like a second editor); None skips the check.
    With `submit`, its obligations count as done on held_on and disputed parts go back to
    the centre for confirmation. A file already attached to the record (same content) is not
    stored again. Raises Locked, Conflict or ValidationError."""
    session = _lock_session(session.pk, session.provider_id)
    record = Record.objects.select_for_update().filter(session=session).first() or Record(session=session, doctor=user)
    record.session = session
    write = record.submit if submit else record.amend
    centre_ids = session_centre_ids(session)
    action = write(data, by=user, centre_ids=centre_ids, attendance=attendance, version=version)
    attachments_add(record, files, user=user)
    if action == "submit":
        handovers.record_submitted(record, centre_ids, by=user)
    elif action == "amend" or record.reset_parts:
        handovers.record_amended(record, centre_ids, {p.centre_id for p in record.reset_parts}, by=user)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(sessions=session))
    return record


def attachments_add(record, files, *, user):
    """Attach `files` to `record`, each content once (a double tap or a re-upload of the same
    photo stores nothing new; the database holds one_copy_per_record)."""
    have = set(record.attachments.values_list("sha256", flat=True))
    for f in files:
        digest = hashlib.sha256()
        for chunk in f.chunks():
            digest.update(chunk)
        sha = digest.hexdigest()
        if sha in have:
            continue
        have.add(sha)
        f.seek(0)
        Attachment.objects.create(record=record, file=f, original_name=f.name[:200], size=f.size,
                                  uploaded_by=user, sha256=sha)


@transaction.atomic
def record_confirm(*, part, user, confirm, reason="", version=None, record_version=None):
    """The centre confirms its part of a submitted record, or disputes it with a reason.
    `version`: the part's version shown; `record_version`: the record's (its content) shown.
    An answer to content that has since changed is refused with Conflict."""
    ids = RecordCentre.objects.filter(pk=part.pk).values_list(
        "record__session_id", "record__session__provider_id").get()
    session = _lock_session(*ids)
    Record.objects.select_for_update().filter(session=session).get()
    part = RecordCentre.objects.select_for_update().select_related("record__session").get(pk=part.pk)
    if confirm:
        part.confirm(by=user, version=version, record_version=record_version)
    else:
        part.dispute(by=user, reason=reason, version=version, record_version=record_version)
        handovers.record_disputed(part, by=user)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(sessions=session))
    return part
