"""The daily work: records, confirmations, rescheduling, cancelling and quarter sign-off.

Every write runs in one transaction, refuses anything in an approved quarter, checks the row
version it was shown (no lost updates) and keeps the audit trail.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mch_link.audit import audit_change, snapshot
from mch_link.models import Region

from . import periods, workdays
from .models import Attachment, Obligation, QuarterApproval, Record, RecordCentre, Session
from .services import statuses_refresh, work_years_for

# The ten areas of the 托儿所幼儿园卫生保健工作规范, checked at guidance and supervision visits.
CHECKLIST_AREAS = (
    "一日生活安排", "膳食", "体格锻炼", "健康检查", "卫生与消毒",
    "传染病预防与控制", "常见病预防与管理", "伤害预防", "健康教育", "信息收集",
)
CHECKLIST_KINDS = (periods.GUIDANCE, periods.SUPERVISION)
TOPICS = {
    periods.GUIDANCE: ("晨午检与全日健康观察", "膳食营养与食品安全", "卫生消毒", "传染病防控", "伤害预防",
                       "健康档案管理"),
    periods.STAFF_TRAINING: ("婴幼儿常见病识别与护理", "意外伤害急救", "传染病防控", "喂养与营养", "生长发育监测",
                             "心理行为发展"),
    periods.PARENT_LECTURE: ("科学喂养", "睡眠与作息", "早期发展与亲子互动", "常见病预防", "家庭安全与伤害预防",
                             "预防接种"),
    periods.SUPERVISION: ("卫生保健制度落实", "人员配备与资质", "卫生保健档案", "整改落实情况"),
}
ATTENDANCE_LABEL = {periods.STAFF_TRAINING: "参训人数（工作人员）", periods.PARENT_LECTURE: "参加家长人数"}


class Conflict(ValidationError):
    """Someone else saved the row since it was shown: nothing was written."""


def _check_version(obj, version):
    if version is not None and int(version) != obj.version:
        raise Conflict("该记录已被他人修改（您看到的是旧版本），您的修改未保存。请刷新页面查看最新内容后再修改。")


def _bump(model, obj, version):
    """Claim the row: UPDATE ... WHERE version = shown; exactly one row must change."""
    if version is None:
        version = obj.version
    changed = model.objects.filter(pk=obj.pk, version=version).update(version=version + 1)
    if changed != 1:
        raise Conflict("该记录已被他人修改（您看到的是旧版本），您的修改未保存。请刷新页面查看最新内容后再修改。")
    obj.version = version + 1


# --------------------------------------------------------------------------- locking


def session_counties(session):
    """{county id} of the centres a session serves."""
    return set(
        Obligation.objects.filter(sessions=session).values_list("contract__centre__township__parent", flat=True))


def locked_quarters(county_ids):
    """{(county id, quarter code)} approved and not reopened."""
    return set(QuarterApproval.objects.filter(county__in=county_ids, status=QuarterApproval.Status.APPROVED)
               .values_list("county_id", "period"))


def session_quarters(session):
    quarters = {periods.quarter_of(session.date)}
    quarters.update(p for p in session.obligations.values_list("period", flat=True) if periods.is_quarter(p))
    return quarters


def is_locked(session):
    counties = session_counties(session)
    locked = locked_quarters(counties)
    return any((c, q) in locked for c in counties for q in session_quarters(session))


def _refuse_if_locked(session, extra_day=None):
    counties = session_counties(session)
    locked = locked_quarters(counties)
    quarters = session_quarters(session) | ({periods.quarter_of(extra_day)} if extra_day else set())
    if any((c, q) in locked for c in counties for q in quarters):
        raise ValidationError("该季度已审核锁定，不能修改。如需修改请联系区县卫健局重新开放。")


# --------------------------------------------------------------------------- records


def record_window(session):
    """(earliest, latest) dates a record of `session` may carry, as of today: not before the
    period of its obligations (unless the manager allowed it) and never in the future."""
    starts = list(session.obligations.values_list("start", flat=True))
    earliest = None if session.allow_early_record or not starts else min(starts)
    return earliest, timezone.localdate()


def _validate_record(session, data):
    errors = {}
    earliest, latest = record_window(session)
    held_on = data["held_on"]
    if held_on > latest:
        errors["held_on"] = "实际日期不能晚于今天"
    elif earliest and held_on < earliest:
        errors["held_on"] = f"实际日期不能早于服务周期开始（{earliest:%Y-%m-%d}），如确需提前请联系管理员"
    if data["start"] >= data["end"]:
        errors["end"] = "结束时间应晚于开始时间"
    if held_on == latest and data["start"] > timezone.localtime().time():
        errors["start"] = "开始时间不能晚于现在"
    follow = data.get("follow_up_on")
    if follow and follow <= held_on:
        errors["follow_up_on"] = "复查日期应晚于实际日期"
    if data.get("advice") and not follow and session.kind in CHECKLIST_KINDS:
        errors["follow_up_on"] = "提出整改意见时请填写复查日期"
    if errors:
        raise ValidationError(errors)


def _centres_of(session):
    return list(
        Obligation.objects.filter(sessions=session).values_list("contract__centre", flat=True).distinct())


@transaction.atomic
def record_save(*, session, user, data, submit, version=None, attendance=None, files=()):
    """Create or update the session's record. `data`: held_on, start, end, topics,
    topics_other, content, findings, advice, follow_up_on. `attendance`: {centre id: n}.
    With `submit`, its obligations count as done on held_on and disputed parts go back to
    the centre for confirmation."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    _refuse_if_locked(session, data["held_on"])
    _validate_record(session, data)
    record = Record.objects.filter(session=session).first()
    before = snapshot(record) if record else None
    if record is None:
        record = Record(session=session, doctor=user, **data)
        record.save()
        action = "create"
    else:
        _bump(Record, record, version)
        for k, v in data.items():
            setattr(record, k, v)
        action = "amend" if record.status == Record.Status.SUBMITTED else "update"
    centre_ids = _centres_of(session)
    parts = {p.centre_id: p for p in record.centres.all()}
    for centre_id in centre_ids:
        part = parts.get(centre_id) or RecordCentre(record=record, centre_id=centre_id)
        if attendance is not None and centre_id in attendance:
            part.attendance = attendance[centre_id]
        if submit and part.confirmation == RecordCentre.Confirmation.DISPUTED:
            part.confirmation = RecordCentre.Confirmation.UNCONFIRMED
            part.version += 1
        part.save()
    if submit:
        if record.status != Record.Status.SUBMITTED:
            action = "submit"
        record.status = Record.Status.SUBMITTED
        record.submitted_at = timezone.now()
        session.status = Session.Status.HELD
        session.pinned = True
        session.sequence += 1
        session.version += 1
        session.save()
        Obligation.objects.filter(sessions=session, resolution="").update(done_on=record.held_on)
    record.save()
    for f in files:
        Attachment.objects.create(record=record, file=f, original_name=f.name[:200], size=f.size,
                                  uploaded_by=user)
    audit_change(record, user=user, action=action, before=before)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(sessions=session))
    return record


@transaction.atomic
def record_confirm(*, part, user, confirm, reason="", version=None):
    """The centre confirms its part of a submitted record, or disputes it with a reason."""
    part = RecordCentre.objects.select_for_update().select_related("record__session").get(pk=part.pk)
    if part.record.status != Record.Status.SUBMITTED:
        raise ValidationError("记录尚未提交，不能确认")
    _refuse_if_locked(part.record.session)
    if not confirm and not reason.strip():
        raise ValidationError({"reason": "请填写异议原因"})
    _bump(RecordCentre, part, version)
    before = snapshot(part)
    part.confirmation = RecordCentre.Confirmation.CONFIRMED if confirm else RecordCentre.Confirmation.DISPUTED
    part.dispute_reason = "" if confirm else reason.strip()
    part.confirmed_by, part.confirmed_at = user, timezone.now()
    part.save()
    audit_change(part, user=user, action="confirm" if confirm else "dispute", before=before,
                 reason="" if confirm else reason)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(sessions=part.record.session))
    return part


# --------------------------------------------------------------------------- rescheduling


def day_load(provider, day, exclude=None):
    """Sessions the provider already has on `day` (not cancelled), and its capacity."""
    qs = Session.objects.filter(provider=provider, date=day).exclude(status=Session.Status.CANCELLED)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.count(), provider.daily_capacity


@transaction.atomic
def session_move(*, session, user, day, start, end, reason, version=None):
    """Move a planned session to another working day inside its period (a date after the
    period is allowed and counted late, up to the grace days). Pins it: the planner keeps it."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status != Session.Status.PLANNED:
        raise ValidationError("只能改期尚未开展的场次")
    if not reason.strip():
        raise ValidationError({"reason": "请填写改期原因"})
    _refuse_if_locked(session, day)
    work_year = work_years_for([day.year])[day.year]
    if not workdays.is_working_day(day, work_year):
        raise ValidationError({"date": f"{day:%Y-%m-%d} 不是工作日"})
    windows = list(session.obligations.values_list("start", "end"))
    first = min(s for s, _e in windows)
    last = max(e for _s, e in windows) + datetime.timedelta(days=settings.GRACE_DAYS)
    if not first <= day <= last:
        raise ValidationError({"date": f"新日期应在服务周期内（{first:%Y-%m-%d} 至 {last:%Y-%m-%d}，含宽限期）"})
    if start >= end:
        raise ValidationError({"end": "结束时间应晚于开始时间"})
    _bump(Session, session, version)
    before = snapshot(session)
    session.date, session.start, session.end = day, start, end
    session.pinned = True
    session.sequence += 1
    session.change_reason = reason.strip()[:200]
    session.save()
    audit_change(session, user=user, action="move", before=before, reason=reason)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(sessions=session))
    return session


@transaction.atomic
def obligation_resolve(*, obligation, user, resolution, reason):
    """A manager cancels or waives an obligation, with the reason; its planned session is
    cancelled when it serves nothing else."""
    if resolution not in (Obligation.Resolution.CANCELLED, Obligation.Resolution.WAIVED):
        raise ValidationError("未知的处理方式")
    if not reason.strip():
        raise ValidationError({"reason": "请填写原因"})
    if obligation.done_on:
        raise ValidationError("该服务已完成，不能取消或免除")
    for session in obligation.sessions.all():
        _refuse_if_locked(session)
    if periods.is_quarter(obligation.period):
        county = obligation.contract.centre.township.parent_id
        if (county, obligation.period) in locked_quarters([county]):
            raise ValidationError("该季度已审核锁定，不能修改。")
    before = snapshot(obligation)
    obligation.resolution, obligation.resolution_reason = resolution, reason.strip()[:200]
    obligation.save(update_fields=["resolution", "resolution_reason"])
    audit_change(obligation, user=user, action="cancel" if resolution == "cancelled" else "waive",
                 before=before, reason=reason)
    for session in obligation.sessions.filter(status=Session.Status.PLANNED):
        if not session.obligations.filter(resolution="").exists():
            s_before = snapshot(session)
            session.status = Session.Status.CANCELLED
            session.sequence += 1
            session.version += 1
            session.change_reason = f"服务义务已{'取消' if resolution == 'cancelled' else '免除'}：{reason}"[:200]
            session.save()
            audit_change(session, user=user, action="cancel", before=s_before, reason=reason)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(pk=obligation.pk))
    return obligation


# --------------------------------------------------------------------------- quarter sign-off


@transaction.atomic
def quarter_approve(*, county, period, user):
    if county.level != Region.Level.COUNTY or not periods.is_quarter(period):
        raise ValidationError("只能按区县和季度审核")
    if periods.period_bounds(period)[1] >= timezone.localdate():
        raise ValidationError("季度尚未结束，不能审核")
    approval, _created = QuarterApproval.objects.get_or_create(
        county=county, period=period, defaults={"status": QuarterApproval.Status.APPROVED})
    before = snapshot(approval)
    approval.status = QuarterApproval.Status.APPROVED
    approval.approved_by, approval.approved_at = user, timezone.now()
    approval.save()
    audit_change(approval, user=user, action="approve", before=None if _created else before)
    return approval


@transaction.atomic
def quarter_reopen(*, approval, user, reason):
    if not reason.strip():
        raise ValidationError({"reason": "请填写重新开放的原因"})
    before = snapshot(approval)
    approval.status = QuarterApproval.Status.REOPENED
    approval.reopened_by, approval.reopened_at = user, timezone.now()
    approval.reopen_reason = reason.strip()[:200]
    approval.save()
    audit_change(approval, user=user, action="reopen", before=before, reason=reason)
    return approval
