"""Writes, through the same services as the pages (scheduling.services: locks, the quarter
lock, versions, audit, notifications) and the same forms' rules and messages: a record
submitted or amended (with attachments), a centre's answer to its part, a session moved.

Refusals: 400 with field errors (the forms' and services' own Chinese messages), 409 when
the row changed since it was read (with the versions now stored), 423 in an approved
quarter. Every POST takes an `Idempotency-Key`."""

import base64
import binascii

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict
from ninja import Router

from mch_link.errors import Conflict
from mch_link.models import Centre
from mch_link.permissions import can_confirm, can_record
from mch_link.scoping import scoped
from scheduling.forms import MoveForm, RecordForm
from scheduling.models import Record, RecordCentre, Session
from scheduling.selectors import session_centre_ids
from scheduling.services import record_confirm, record_save, session_move
from scheduling.work import CHECKLIST_AREAS

from .. import schemas as s
from ..idempotency import idempotent
from . import one, require
from .work import _sessions, records_of

router = Router(tags=["写入"])
REFUSALS = {400: s.Problem, 404: s.Problem, 409: s.ConflictProblem, 422: s.Problem, 423: s.Problem}


def _form_refusal(form):
    """A form's errors as the service refusals are: a 400 ValidationError keyed by field."""
    return ValidationError({field: list(msgs) for field, msgs in form.errors.items()})


def _conflict(exc, **current):
    exc.current = current
    return exc


def dump(schema, obj):
    return schema.from_orm(obj).model_dump(mode="json")


def _record_form(session, payload):
    """RecordForm bound to the request: the page's rules and messages. Findings by area name,
    attendance by centre code, attachments decoded from base64."""
    centres = sorted(Centre.objects.filter(pk__in=session_centre_ids(session)), key=lambda c: c.name)
    by_code = {c.code: c for c in centres}
    errors = {}
    data = MultiValueDict({
        "held_on": [payload.held_on.isoformat()], "start": [payload.start.strftime("%H:%M")],
        "end": [payload.end.strftime("%H:%M")], "topics": list(payload.topics),
        "topics_other": [payload.topics_other], "content": [payload.content], "advice": [payload.advice],
        "follow_up_on": [payload.follow_up_on.isoformat() if payload.follow_up_on else ""],
        "version": [str(payload.version)], "late_reason": [payload.late_reason],
    })
    if payload.submit:
        data["submit"] = "1"
    for area, finding in payload.findings.items():
        if area not in CHECKLIST_AREAS:
            errors.setdefault("findings", []).append(f"未知的检查方面：{area}（应为：{'、'.join(CHECKLIST_AREAS)}）")
        else:
            data[f"finding_{CHECKLIST_AREAS.index(area)}"] = finding
    for code, n in payload.attendance.items():
        if code not in by_code:
            errors.setdefault("attendance", []).append(f"该场次不服务统一社会信用代码为 {code} 的托育机构")
        else:
            data[f"attendance_{by_code[code].pk}"] = str(n)
    files = []
    for a in payload.attachments:
        try:
            files.append(SimpleUploadedFile(a.name, base64.b64decode(a.content_base64, validate=True)))
        except (binascii.Error, ValueError):
            errors.setdefault("attachments", []).append(f"附件“{a.name}”不是有效的 base64 内容")
    if errors:
        raise ValidationError(errors)
    return RecordForm(data, MultiValueDict({"files": files}), session=session, centres=centres)


@router.post("sessions/{id}/record", response={200: s.RecordOut, 201: s.RecordOut, **REFUSALS},
             summary="提交或修改服务记录（可带附件）")
@idempotent
def record_submit(request, id: int, payload: s.RecordIn):
    """As the record page: `version` 0 creates the record (a second creator gets 409), else
    the version read; `submit` false keeps a draft. Same audit, notifications, quarter lock."""
    user = request.auth
    session = one(scoped(user, Session), pk=id)
    require(can_record(user, session))
    form = _record_form(session, payload)
    if not form.is_valid():
        raise _form_refusal(form)
    try:
        record = record_save(session=session, user=user, data=form.record_data(), submit=payload.submit,
                             version=payload.version, attendance=form.attendance(),
                             files=form.cleaned_data.get("files") or [])
    except Conflict as exc:
        current = Record.objects.filter(session=session).values_list("version", flat=True).first() or 0
        raise _conflict(exc, version=current) from None
    return (201 if payload.version == 0 else 200), dump(s.RecordOut, one(records_of(user), pk=record.pk))


@router.post("parts/{id}/answer", response={200: s.PartOut, **REFUSALS}, summary="托育机构确认或对服务记录提出异议")
@idempotent
def part_answer(request, id: int, payload: s.AnswerIn):
    """As the centre's records page: the part's and the record's versions read; a dispute
    needs a reason and goes back to the doctor."""
    user = request.auth
    part = one(scoped(user, RecordCentre).select_related("record"), pk=id)
    require(can_confirm(user, part))
    try:
        part = record_confirm(part=part, user=user, confirm=payload.action == "confirm", reason=payload.reason,
                              version=payload.version, record_version=payload.record_version)
    except Conflict as exc:
        now = RecordCentre.objects.filter(pk=part.pk).values_list("version", "record__version").get()
        raise _conflict(exc, version=now[0], record_version=now[1]) from None
    part = RecordCentre.objects.select_related("centre").get(pk=part.pk)
    return 200, dump(s.PartOut, part)


@router.post("sessions/{id}/move", response={200: s.SessionOut, **REFUSALS}, summary="服务场次改期")
@idempotent
def move(request, id: int, payload: s.MoveIn):
    """As the move page: a working day inside the period, not past the provider's daily
    capacity, with a reason; the centres and the doctor are told."""
    user = request.auth
    session = one(scoped(user, Session), pk=id)
    require(can_record(user, session))
    form = MoveForm({"date": payload.date.isoformat(), "start": payload.start.strftime("%H:%M"),
                     "end": payload.end.strftime("%H:%M"), "reason": payload.reason, "version": payload.version})
    if not form.is_valid():
        raise _form_refusal(form)
    d = form.cleaned_data
    try:
        session_move(session=session, user=user, day=d["date"], start=d["start"], end=d["end"],
                     reason=d["reason"], version=d["version"])
    except Conflict as exc:
        current = Session.objects.filter(pk=session.pk).values_list("version", flat=True).get()
        raise _conflict(exc, version=current) from None
    return 200, dump(s.SessionOut, one(_sessions(user), pk=session.pk))
