"""What doctors and centres touch every week: the agenda, a session, its record, its
confirmation, rescheduling, and the county reviewer's quarter sign-off."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Case, Prefetch, When
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from mch_link import params
from mch_link.audit import history, readable
from mch_link.errors import Conflict, add_to_form, status_of
from mch_link.models import AuditEvent, Region
from mch_link.permissions import (
    BUREAUS,
    CENTRE_STAFF,
    MANAGERS,
    PROVIDER_STAFF,
    REVIEWERS,
    can_approve,
    can_confirm,
    can_record,
    can_resolve,
    is_centre_staff,
    is_doctor,
    own_centre_id,
    own_provider_id,
    role_required,
)
from mch_link.prefetch import private, speculation_rules, varies_with_save_data
from mch_link.scoping import get_scoped_or_404, membership_of, scoped
from reports.filing import attach_filed

from . import pending, periods
from .feeds import doctor_sessions_q
from .forms import MAX_ATTACHMENTS, ConfirmForm, MoveForm, ReasonForm, RecordForm
from .models import Attachment, Confirmation, Kind, Obligation, QuarterApproval, Record, RecordCentre, Session
from .selectors import (
    centre_names,
    day_load,
    plan_start_quarter,
    plan_starts,
    quarter_figures,
    quarter_parts,
    quarters_to_approve,
)
from .services import (
    obligation_resolve,
    quarter_approve,
    quarter_reopen,
    record_confirm,
    record_save,
    session_move,
)
from .work import CHECKLIST_AREAS

SESSION_PREFETCH = Prefetch(
    "obligations", queryset=Obligation.objects.select_related("contract__centre__township"))


def _with_centres(sessions):
    """What the session and record pages read with a session: its provider, doctor and centres."""
    return sessions.select_related("provider", "doctor").prefetch_related(SESSION_PREFETCH)


def _own_session(request, pk, shape=None):
    """A session of the user's own provider (doctor or manager), for writes; else 404."""
    provider_id = own_provider_id(request.user)
    if provider_id is None:
        raise Http404
    return get_scoped_or_404(request.user, Session, shape=shape, pk=pk, provider=provider_id)


def _centres(session):
    return sorted({o.contract.centre for o in session.obligations.all()}, key=lambda c: c.name)


@role_required(*PROVIDER_STAFF)
def agenda(request):
    """Today, this week and overdue, for a doctor (own sessions and unassigned ones) or a
    manager (the whole provider)."""
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    qs = scoped(request.user, Session).exclude(status=Session.Status.CANCELLED).select_related("doctor") \
        .order_by("date", "start")
    if is_doctor(request.user):
        qs = qs.filter(doctor_sessions_q(request.user, own_provider_id(request.user)))
    week = list(qs.filter(date__range=(monday, monday + datetime.timedelta(days=6))))
    overdue = list(qs.filter(status=Session.Status.PLANNED, date__lt=today)[:50])
    drafts = list(qs.filter(record__status=Record.Status.DRAFT)[:50])
    disputed = list(qs.filter(pk__in=RecordCentre.objects.filter(
        confirmation=Confirmation.DISPUTED, record__status=Record.Status.SUBMITTED).values("record__session_id"))[:50])
    centre_names(week + overdue + drafts + disputed)  # one read for the four lists' cards
    today_sessions = [s for s in week if s.date == today]
    rest = [s for s in week if s.date != today]
    for s in today_sessions + overdue + drafts + disputed:  # held or due: the doctor records it
        s.may_record_now = True
    ctx = {"today": today, "today_sessions": today_sessions, "week": rest, "overdue": overdue, "drafts": drafts,
           "disputed": disputed,
           # the top of the page, in its order: what the doctor opens next
           "speculation_rules": speculation_rules(request, [
               reverse("scheduling:session_detail", args=[s.pk])
               for s in today_sessions + disputed + overdue + drafts + rest])}
    return varies_with_save_data(render(request, "scheduling/agenda.html", ctx))


@login_required
def session_detail(request, pk):
    session = get_scoped_or_404(request.user, Session, shape=_with_centres, pk=pk)
    centres = _centres(session)
    others = 0
    if is_centre_staff(request.user):  # a joint training: the other centres appear as a count
        own = [c for c in centres if c.pk == own_centre_id(request.user)]
        centres, others = own, len(centres) - len(own)
    record = Record.objects.filter(session=session).select_related("doctor").first()
    parts = list(scoped(request.user, RecordCentre).filter(record=record).select_related("centre")) if record else []
    earlier = (
        scoped(request.user, Record).filter(session__obligations__contract__centre__in=centres,
                                            status=Record.Status.SUBMITTED)
        .exclude(session=session).select_related("session").distinct().order_by("-held_on")[:5]
    )
    events = readable(history(session, *([record] if record else []), *parts))
    own = can_record(request.user, session)
    ctx = {
        "session": session, "centres": centres, "other_centres": others, "record": record, "parts": parts,
        "earlier": earlier,
        "events": events, "may_log": own, "may_move": own and session.status == Session.Status.PLANNED,
        "may_resolve": can_resolve(request.user, session), "locked": session.is_locked(),
        "is_centre": can_confirm(request.user),
        "attachments": record.attachments.all() if record else [],
        "findings": [(a, (record.findings or {}).get(a)) for a in CHECKLIST_AREAS if record and record.findings],
    }
    if own and not ctx["locked"]:  # the record form, which the page links to next
        ctx["speculation_rules"] = speculation_rules(request, [reverse("scheduling:record_edit", args=[pk])])
    return private(varies_with_save_data(render(request, "scheduling/session_detail.html", ctx)))


@role_required(*PROVIDER_STAFF)
def record_edit(request, pk):
    session = _own_session(request, pk, shape=_with_centres)
    record = Record.objects.filter(session=session).first()
    centres = _centres(session)
    held = []  # photos kept from a failed submit: [(token, name)]
    if request.method == "POST":
        tokens = list(dict.fromkeys(request.POST.getlist("pending")[:MAX_ATTACHMENTS]))
        held = pending.names(tokens, user=request.user, session=session)
        form = RecordForm(request.POST, request.FILES, session=session, centres=centres, held=len(held))
        if len(held) < len(tokens):  # expired (or cleaned) since the form was shown: say so, save nothing
            form.add_error(None, f"{len(tokens) - len(held)} 张之前保留的照片已过期（保留一天），请重新选择后再提交")
        if form.is_valid():
            kept, paths = pending.take([token for token, _name in held], user=request.user, session=session)
            try:
                record_save(session=session, user=request.user, data=form.record_data(),
                            submit="submit" in request.POST, version=form.cleaned_data.get("version"),
                            attendance=form.attendance(), files=[*(form.cleaned_data.get("files") or []), *kept])
            except ValidationError as exc:
                add_to_form(form, exc)
                status = status_of(exc)
                if isinstance(exc, Conflict):
                    record = Record.objects.filter(session=session).first()
            else:
                pending.discard(paths)
                messages.success(request, "服务记录已提交" if "submit" in request.POST else "草稿已保存")
                return redirect("scheduling:session_detail", pk=session.pk)
            finally:
                for f in kept:
                    f.close()
        else:
            status = 400
        if "files" not in form.errors:  # the new photos passed their checks: keep them
            held += pending.hold(form.cleaned_data.get("files") or [], user=request.user, session=session)
    else:
        # version 0 stands for "no record yet": a second doctor creating one gets a conflict
        initial = {"held_on": session.date, "start": session.start, "end": session.end, "version": 0}
        if record:
            initial = {"held_on": record.held_on, "start": record.start, "end": record.end, "topics": record.topics,
                       "topics_other": record.topics_other, "content": record.content, "advice": record.advice,
                       "follow_up_on": record.follow_up_on, "version": record.version}
            for i, area in enumerate(CHECKLIST_AREAS):
                initial[f"finding_{i}"] = (record.findings or {}).get(area, "")
            for part in record.centres.all():
                initial[f"attendance_{part.centre_id}"] = part.attendance
        form = RecordForm(initial=initial, session=session, centres=centres)
        status = 200
    # what the doctor is answering when amending: each centre's open dispute and its reason
    disputes = list(record.centres.filter(confirmation=Confirmation.DISPUTED).select_related("centre")) \
        if record else []
    ctx = {"session": session, "form": form, "record": record, "centres": centres, "disputes": disputes,
           "held": held}
    return private(render(request, "scheduling/record_form.html", ctx, status=status))


@role_required(*PROVIDER_STAFF)
def session_move_view(request, pk):
    session = _own_session(request, pk)
    form = MoveForm(request.POST or None, initial={
        "date": params.date(request.GET.get("date"), default=session.date), "start": session.start, "end": session.end,
        "version": session.version})
    load = None
    day = None
    status = 400 if form.is_bound else 200
    if form.is_bound and form.is_valid():
        day = form.cleaned_data["date"]
        if "check" not in request.POST:
            try:
                session_move(session=session, user=request.user, day=day, start=form.cleaned_data["start"],
                             end=form.cleaned_data["end"], reason=form.cleaned_data["reason"],
                             version=form.cleaned_data.get("version"))
            except ValidationError as exc:
                add_to_form(form, exc)
                status = status_of(exc)
            else:
                messages.success(request, f"已改期至 {day:%Y-%m-%d}")
                return redirect("scheduling:session_detail", pk=session.pk)
    elif not form.is_bound:
        day = params.date(request.GET.get("date"))
    if day:
        count, capacity = day_load(session.provider, day, exclude=session)
        load = {"day": day, "count": count, "capacity": capacity, "over": count + 1 > capacity}
    if not form.errors:
        status = 200
    return render(request, "scheduling/session_move.html", {"session": session, "form": form, "load": load},
                  status=status)


@require_POST
@role_required(*MANAGERS)
def obligation_resolve_view(request, pk):
    m = membership_of(request.user)
    if m is None:  # a superuser has no provider of its own
        raise Http404
    obligation = get_scoped_or_404(request.user, Obligation, pk=pk, contract__provider=m.provider_id)
    form = ReasonForm(request.POST)
    resolution = request.POST.get("resolution")
    back = params.object_id(request.POST.get("session"), label="场次编号")
    if form.is_valid():
        try:
            obligation_resolve(obligation=obligation, user=request.user, resolution=resolution,
                               reason=form.cleaned_data["reason"])
            messages.success(request, "已处理：" + str(obligation))
        except ValidationError as exc:
            for msg in exc.messages:
                messages.error(request, msg)
    else:
        messages.error(request, "请填写原因")
    if back:
        return redirect("scheduling:session_detail", pk=back)
    return redirect("scheduling:agenda")


@role_required(*CENTRE_STAFF)
def centre_records(request):
    """The centre's records: those to confirm first (all of them), then the answered ones
    (the latest 200, unless ?show=pending). A pending record in an approved quarter is shown
    as locked: it can no longer be confirmed until the quarter is reopened."""
    parts = scoped(request.user, RecordCentre).filter(record__status=Record.Status.SUBMITTED) \
        .select_related("record__session__provider", "record__doctor", "centre").order_by("-record__held_on")
    pending = list(parts.filter(confirmation=Confirmation.UNCONFIRMED))
    show_pending = request.GET.get("show") == "pending"
    answered = [] if show_pending else list(parts.exclude(confirmation=Confirmation.UNCONFIRMED)[:200])
    m = membership_of(request.user)
    county = m.centre.township.parent_id if m is not None and m.centre_id else None
    approved = set(QuarterApproval.objects.filter(county=county, status=QuarterApproval.Status.APPROVED)
                   .values_list("period", flat=True))
    for part in pending:
        part.locked = periods.quarter_of(part.record.session.date) in approved
    ctx = {"pending": [p for p in pending if not p.locked], "locked": [p for p in pending if p.locked],
           "answered": answered, "show_pending": show_pending}
    return render(request, "scheduling/centre_records.html", ctx)


@require_POST
@role_required(*CENTRE_STAFF)
def record_confirm_view(request, pk):
    part = get_scoped_or_404(request.user, RecordCentre, pk=pk)
    form = ConfirmForm(request.POST)
    form.is_valid()
    try:
        record_confirm(part=part, user=request.user, confirm="confirm" in request.POST,
                       reason=form.cleaned_data.get("reason", ""), version=form.cleaned_data.get("version"),
                       record_version=form.cleaned_data.get("record_version"))
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
    else:
        messages.success(request, "已确认" if "confirm" in request.POST else "已提出异议，记录退回医生修改")
    return redirect("scheduling:session_detail", pk=part.record.session_id)


@login_required
def attachment_download(request, pk):
    attachment = Attachment.objects.filter(pk=pk, record__in=scoped(request.user, Record).values("pk")).first()
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except OSError:
        return params.not_found(request, "附件文件已不存在，请联系上传的医生重新上传。")
    return FileResponse(handle, filename=attachment.original_name)


@role_required(*BUREAUS)
def quarters(request):
    """Quarter sign-off: a county reviewer approves (on the review page) or reopens its
    county's quarters. Offered: the quarters that ended, back to the plan's start there."""
    counties = list(scoped(request.user, Region).filter(level=Region.Level.COUNTY).order_by("code"))
    today = timezone.localdate()
    starts = plan_starts(c.pk for c in counties)
    approvals = {(a.county_id, a.period): a for a in QuarterApproval.objects.filter(county__in=counties)
                 .select_related("approved_by", "reopened_by")}
    attach_filed(approvals.values())  # 已归档 reports of each approval, one query
    rows = [{"county": c, "period": p, "approval": approvals.get((c.pk, p))}
            for c in counties for p in quarters_to_approve(starts.get(c.pk), today)]
    ctx = {"rows": rows, "may_approve": can_approve(request.user),
           "events": AuditEvent.objects.filter(model="quarterapproval",
                                               object_id__in=[str(a.pk) for a in approvals.values()])[:50]}
    return render(request, "scheduling/quarters.html", ctx)


@role_required(*BUREAUS)
def quarter_review(request, county, period):
    """The facts before an approval, for one county and quarter: the completion figures, the
    open disputes and the records still unconfirmed, each linked to its session; the form
    asks for an explicit confirmation, and a reason while disputes are open."""
    county = get_scoped_or_404(request.user, Region, code=county, level=Region.Level.COUNTY)
    if not periods.is_quarter(period):
        raise Http404
    parts = list(quarter_parts(county, period).filter(
        confirmation__in=(Confirmation.DISPUTED, Confirmation.UNCONFIRMED)))
    figures = [(Kind(kind).label, f) for kind, f in sorted(quarter_figures(county, period).items())]
    offered = quarters_to_approve(plan_start_quarter(county), timezone.localdate())
    ctx = {
        "county": county, "period": period, "figures": figures,
        "disputed": [p for p in parts if p.confirmation == Confirmation.DISPUTED],
        "unconfirmed": [p for p in parts if p.confirmation == Confirmation.UNCONFIRMED],
        "approval": QuarterApproval.objects.filter(county=county, period=period).first(),
        "may_approve": can_approve(request.user, county) and period in offered, "offered": period in offered,
    }
    return render(request, "scheduling/quarter_review.html", ctx)


@require_POST
@role_required(*REVIEWERS)
def quarter_action(request):
    county = get_scoped_or_404(request.user, Region, code=params.code(request.POST.get("county"), label="区县代码"),
                               level=Region.Level.COUNTY)
    period = params.period(request.POST.get("period"), quarter=True, required=True)
    try:
        if "reopen" in request.POST:
            approval = QuarterApproval.objects.filter(county=county, period=period).first()
            if approval is None:
                raise Http404
            reason = params.text(request.POST.get("reason"), label="原因", max_length=2000)
            quarter_reopen(approval=approval, user=request.user, reason=reason)
            messages.success(request, f"{county.name} {period} 已重新开放")
        else:
            if not request.POST.get("confirmed"):
                raise ValidationError("请勾选“我已核对以上数据，确认审核通过”后再提交")
            quarter_approve(county=county, period=period, user=request.user,
                            reason=params.text(request.POST.get("reason"), label="原因", max_length=2000))
            messages.success(request, f"{county.name} {period} 已审核并锁定")
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
        if "reopen" not in request.POST and periods.is_quarter(period):
            return redirect("scheduling:quarter_review", county=county.code, period=period)
    return redirect("scheduling:quarters")


@role_required(*BUREAUS, *PROVIDER_STAFF)
def obligation_session(request, pk):
    """An obligation's session page (the reports' overdue list links here): its live session,
    else its latest cancelled one; without any, the centre's page. Scoped: else 404."""
    obligation = get_scoped_or_404(request.user, Obligation, pk=pk)
    session = scoped(request.user, Session).filter(obligations=obligation) \
        .order_by(Case(When(status=Session.Status.CANCELLED, then=1), default=0), "-date").first()
    if session is None:
        return redirect("mch_link:centre_detail", code=obligation.contract.centre.code)
    return redirect("scheduling:session_detail", pk=session.pk)
