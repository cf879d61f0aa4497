"""The work calendar, obligations and sessions.

Dates are calendar dates in Asia/Shanghai; session times are local wall-clock times.
"""

import datetime
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mch_link.audit import audit_change, audit_if_changed, snapshot
from mch_link.errors import Conflict, Locked
from mch_link.models import Centre, Contract, Provider

from . import periods, workdays
from .status import STATUS_LABELS
from .work import CHECKLIST_KINDS


def claim(obj, shown):
    """Claim `obj`'s row for a change against the `version` the user was shown: one
    conditional UPDATE (… SET version = shown + 1 WHERE version = shown) that must change
    exactly one row, else Conflict and nothing is written. With `shown` None the caller
    already holds the row (select_for_update, or the planner inside its transaction) and
    the version is only raised in memory, for the save that follows."""
    if shown is None:
        obj.version += 1
        return
    shown = int(shown)
    if type(obj).objects.filter(pk=obj.pk, version=shown).update(version=shown + 1) != 1:
        raise Conflict()
    obj.version = shown + 1


def refuse_if_locked(counties, quarters):
    """The quarter lock, defined once: raise Locked when any of `quarters` (codes like
    2026Q1) is approved, and not reopened, in any of `counties` (region ids). One query."""
    if QuarterApproval.objects.locking(counties, quarters).exists():
        raise Locked()


class Kind(models.TextChoices):
    GUIDANCE = periods.GUIDANCE, periods.KIND_LABELS[periods.GUIDANCE]
    STAFF_TRAINING = periods.STAFF_TRAINING, periods.KIND_LABELS[periods.STAFF_TRAINING]
    PARENT_LECTURE = periods.PARENT_LECTURE, periods.KIND_LABELS[periods.PARENT_LECTURE]
    SUPERVISION = periods.SUPERVISION, periods.KIND_LABELS[periods.SUPERVISION]


# --------------------------------------------------------------------------- work calendar


class WorkYear(models.Model):
    """One year's official days off and make-up working days, or an estimate (Mon–Fri)."""

    year = models.PositiveSmallIntegerField(_("年度"), unique=True)
    estimated = models.BooleanField(_("估计"), default=True,
                                    help_text=_("尚无国务院办公厅放假通知时按法定节假日推算估计"))
    source = models.CharField(_("来源"), max_length=300, blank=True)
    loaded_at = models.DateTimeField(_("载入时间"), auto_now=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("工作日历年度")
        verbose_name_plural = _("工作日历年度")

    def __str__(self):
        return f"{self.year}（{_('估计') if self.estimated else _('官方')}）"


class WorkDay(models.Model):
    """An exception to Monday–Friday: an official day off or a make-up working day (调休)."""

    year = models.ForeignKey(WorkYear, on_delete=models.CASCADE, related_name="days")
    date = models.DateField(_("日期"), unique=True)
    is_off = models.BooleanField(_("放假"), help_text=_("是：法定放假日；否：调休上班日"))
    name = models.CharField(_("名称"), max_length=40, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("节假日/调休日")
        verbose_name_plural = _("节假日/调休日")

    def __str__(self):
        return f"{self.date} {self.name} {'休' if self.is_off else '班'}"


class CentreClosure(models.Model):
    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField(_("日期"))
    reason = models.CharField(_("原因"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("托育机构闭园日")
        verbose_name_plural = _("托育机构闭园日")
        constraints = [models.UniqueConstraint(fields=["centre", "date"], name="one_closure_a_day")]


class DoctorLeave(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="leave")
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leave")
    date = models.DateField(_("日期"))
    reason = models.CharField(_("原因"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("医生请假")
        verbose_name_plural = _("医生请假")
        constraints = [models.UniqueConstraint(fields=["doctor", "date"], name="one_leave_a_day")]


# --------------------------------------------------------------------------- obligations


class ObligationQuerySet(models.QuerySet):
    def of_year(self, year):
        return self.filter(period__startswith=str(year))


class Confirmation(models.TextChoices):
    """A centre's answer to its part of a submitted record (RecordCentre), also kept on the
    obligation it serves (Obligation.confirmation, refreshed with its status)."""

    UNCONFIRMED = "unconfirmed", _("待确认")
    CONFIRMED = "confirmed", _("已确认")
    DISPUTED = "disputed", _("有异议")


class Obligation(models.Model):
    """What one contract owes in one period: contract × kind × period. Reports count these."""

    class Resolution(models.TextChoices):
        NONE = "", _("—")
        CANCELLED = "cancelled", _("已取消")
        WAIVED = "waived", _("已免除")

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="obligations")
    kind = models.CharField(_("服务类型"), max_length=20, choices=Kind.choices)
    period = models.CharField(_("周期"), max_length=6, help_text=_("季度如 2027Q1，年度如 2027"))
    start = models.DateField(_("应服务起"), help_text=_("周期内协议有效的第一天"))
    end = models.DateField(_("应服务止"), help_text=_("周期内协议有效的最后一天"))
    resolution = models.CharField(_("处理"), max_length=10, choices=Resolution.choices, blank=True, default="")
    resolution_reason = models.CharField(_("原因"), max_length=200, blank=True)
    done_on = models.DateField(_("完成日期"), null=True, blank=True,
                               help_text=_("服务记录的实际日期（由服务记录写入）"))
    done_known_on = models.DateField(
        _("完成录入日期"), null=True, blank=True,
        help_text=_("服务记录首次提交的日期（本地日期）：此前的报表不计该完成；空表示录入时间未记载"))
    resolved_at = models.DateTimeField(_("处理录入时间"), null=True, blank=True,
                                       help_text=_("取消或免除录入的时间：此前的报表不计该处理"))
    status = models.CharField(_("状态"), max_length=14, choices=list(STATUS_LABELS.items()),
                              default="unplanned",
                              help_text=_("由 obligation_status() 计算，每夜及每次变更时刷新"))
    status_on = models.DateField(_("状态计算日期"), null=True, blank=True)
    confirmation = models.CharField(
        _("托育机构确认"), max_length=12, choices=Confirmation.choices, default=Confirmation.UNCONFIRMED,
        help_text=_("本托育机构对已提交服务记录的确认，与状态一同刷新"))

    objects = ObligationQuerySet.as_manager()

    class Meta:
        ordering = ["period", "kind", "contract"]
        verbose_name = _("服务义务")
        verbose_name_plural = _("服务义务")
        constraints = [
            models.UniqueConstraint(fields=["contract", "kind", "period"], name="one_obligation_per_period"),
            models.CheckConstraint(condition=Q(start__lte=models.F("end")), name="obligation_range"),
        ]
        indexes = [
            # reports and exports read by period; reports look for statuses not computed as of
            # their day (statuses_refresh keeps status_on) without reading every row
            models.Index(fields=["period", "status_on"]),
            models.Index(fields=["status", "period"]),  # overdue lists and digests read by status
        ]

    def __str__(self):
        return f"{self.period} {self.get_kind_display()} {self.contract.centre}"

    def resolve(self, resolution, *, by, reason):
        """A manager cancels or waives the obligation, with the reason: refused once done or
        in an approved quarter (its own, or one of its sessions'); audited; its planned
        sessions that serve nothing else are cancelled. The caller refreshes the statuses."""
        if resolution not in (self.Resolution.CANCELLED, self.Resolution.WAIVED):
            raise ValidationError("未知的处理方式")
        if not reason.strip():
            raise ValidationError({"reason": "请填写原因"})
        if self.done_on:
            raise ValidationError("该服务已完成，不能取消或免除")
        sessions = list(self.sessions.all())
        for session in sessions:
            session.refuse_if_locked()
        if periods.is_quarter(self.period):
            refuse_if_locked([self.contract.centre.township.parent_id], [self.period])
        before = snapshot(self)
        self.resolution, self.resolution_reason = resolution, reason.strip()[:200]
        self.resolved_at = timezone.now()
        self.save(update_fields=["resolution", "resolution_reason", "resolved_at"])
        cancelled = resolution == self.Resolution.CANCELLED
        audit_change(self, user=by, action="cancel" if cancelled else "waive", before=before, reason=reason)
        for session in sessions:
            if session.status == Session.Status.PLANNED and not session.obligations.filter(resolution="").exists():
                session.cancel(by=by, reason=reason,
                               change_reason=f"服务义务已{'取消' if cancelled else '免除'}：{reason}")


# --------------------------------------------------------------------------- sessions


class Session(models.Model):
    """One calendar event that discharges one or more obligations of one provider and one kind."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("已排期")
        HELD = "held", _("已开展")
        CANCELLED = "cancelled", _("已取消")

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="sessions")
    kind = models.CharField(_("服务类型"), max_length=20, choices=Kind.choices)
    date = models.DateField(_("日期"), db_index=True)
    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))
    doctor_slot = models.PositiveSmallIntegerField(_("医生序号"), default=0)
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="sessions", verbose_name=_("医生"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    obligations = models.ManyToManyField(Obligation, related_name="sessions", verbose_name=_("服务义务"),
                                         through="SessionObligation")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    estimated = models.BooleanField(_("估计日期"), default=False,
                                    help_text=_("所在年度尚无官方节假日安排，日期可能调整"))
    pinned = models.BooleanField(_("固定"), default=False, help_text=_("人工改期或已开展：排程不再移动"))
    sequence = models.PositiveIntegerField(_("版本序号"), default=0, help_text=_("日历 SEQUENCE：改期或变更时加一"))
    version = models.PositiveIntegerField(default=1, help_text=_("防止并发覆盖的版本号"))
    change_reason = models.CharField(_("变更原因"), max_length=200, blank=True)
    needs_decision_on = models.DateField(
        _("待决定日期"), null=True, blank=True,
        help_text=_("重新排期发现这一固定场次落在非工作日的日期；场次仍在该日时需要负责人决定"))
    allow_early_record = models.BooleanField(
        _("允许周期前记录"), default=False, help_text=_("管理员允许把服务记录日期填在服务周期开始之前"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "start", "pk"]
        verbose_name = _("服务场次")
        verbose_name_plural = _("服务场次")
        indexes = [models.Index(fields=["provider", "date"])]
        constraints = [models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="session_times")]

    def __str__(self):
        return f"{self.date} {self.start:%H:%M} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if self.status == self.Status.CANCELLED:
            # a cancelled session no longer discharges its obligations: its links stop being
            # live, so a new session may serve them (one_live_session_per_obligation)
            SessionObligation.objects.filter(session=self, live=True).update(live=False)

    # ----------------------------------------------------------------- the quarter lock

    def lock_scope(self, *days):
        """(county ids, quarter codes) whose approval locks this session: the counties of the
        centres it serves × the quarter of its date, of `days` (a new date) and of its
        quarterly obligations. One query."""
        counties, quarters = set(), {periods.quarter_of(self.date)}
        quarters.update(periods.quarter_of(d) for d in days)
        for county, period in self.obligations.values_list("contract__centre__township__parent", "period"):
            counties.add(county)
            if periods.is_quarter(period):
                quarters.add(period)
        return counties, quarters

    def refuse_if_locked(self, *days):
        refuse_if_locked(*self.lock_scope(*days))

    def is_locked(self):
        try:
            self.refuse_if_locked()
        except Locked:
            return True
        return False

    # ----------------------------------------------------------------- changes

    def change(self, *, by, action, reason="", version=None, **fields):
        """The one protocol of every change to a session: claim the row against the version
        shown (see claim), set `fields`, raise the calendar SEQUENCE (subscribers replace
        the event), save, and audit `action` with `reason` (no row when `action` is None:
        the caller's own audit row tells the story). Guards and the lock are the caller's."""
        before = snapshot(self)
        claim(self, version)
        for name, value in fields.items():
            setattr(self, name, value)
        self.sequence += 1
        self.save()
        if action:
            audit_change(self, user=by, action=action, before=before, reason=reason)

    def reschedule(self, day, start, end, *, by, reason, work_year, version=None):
        """Move a planned session to another working day of `work_year` (workdays.WorkYear)
        inside its period (a date after the period is allowed and counted late, up to the
        grace days). Pins it: the planner keeps it."""
        if self.status != self.Status.PLANNED:
            raise ValidationError("只能改期尚未开展的场次")
        if not reason.strip():
            raise ValidationError({"reason": "请填写改期原因"})
        self.refuse_if_locked(day)
        if not workdays.is_working_day(day, work_year):
            raise ValidationError({"date": f"{day:%Y-%m-%d} 不是工作日"})
        windows = list(self.obligations.values_list("start", "end"))
        first = min(s for s, _e in windows)
        last = max(e for _s, e in windows) + datetime.timedelta(days=settings.GRACE_DAYS)
        if not first <= day <= last:
            raise ValidationError({"date": f"新日期应在服务周期内（{first:%Y-%m-%d} 至 {last:%Y-%m-%d}，含宽限期）"})
        if day < timezone.localdate():
            raise ValidationError({"date": "不能改期到今天之前。已开展的服务请填写服务记录（按实际日期），不要改期"})
        if start >= end:
            raise ValidationError({"end": "结束时间应晚于开始时间"})
        self.change(by=by, action="move", reason=reason, version=version, date=day, start=start, end=end,
                    pinned=True, change_reason=reason.strip()[:200])

    def cancel(self, *, by, reason, change_reason=None, version=None):
        """Cancel a planned session (shown to calendar subscribers with `change_reason`,
        default the reason)."""
        if self.status != self.Status.PLANNED:
            raise ValidationError("只能取消尚未开展的场次")
        self.refuse_if_locked()
        self.change(by=by, action="cancel", reason=reason, version=version, status=self.Status.CANCELLED,
                    change_reason=(change_reason or reason)[:200])

    def hold(self, *, by, day, start, end):
        """The session was held on `day` from `start` to `end` (its record was submitted):
        pinned, and shown from now on where it was held, not where it was planned (the
        calendar SEQUENCE goes up, so subscribers move the event). No audit row of its own
        (the record's "submit" or "amend" row is the event). The record checked the lock."""
        if (self.status, self.date, self.start, self.end) == (self.Status.HELD, day, start, end):
            return
        self.change(by=by, action=None, status=self.Status.HELD, pinned=True, date=day, start=start, end=end)

    def record_window(self):
        """(earliest, latest) dates a record of this session may carry, as of today: not
        before the period of its obligations (unless the manager allowed it) and never in
        the future."""
        starts = list(self.obligations.values_list("start", flat=True))
        earliest = None if self.allow_early_record or not starts else min(starts)
        return earliest, timezone.localdate()


class SessionObligation(models.Model):
    """A session serves an obligation. `live` is false once the session is cancelled (the link
    stays: the cancelled event still says what it was for). The database allows one live
    session per obligation, so no path, however concurrent, can plan an obligation twice."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE)
    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE)
    live = models.BooleanField(default=True)

    class Meta:
        db_table = "scheduling_session_obligations"
        unique_together = [("session", "obligation")]
        constraints = [
            models.UniqueConstraint(fields=["obligation"], condition=Q(live=True),
                                    name="one_live_session_per_obligation",
                                    violation_error_message=_("该服务义务已有未取消的服务场次")),
        ]


# --------------------------------------------------------------------------- notifications


class Notification(models.Model):
    """An in-app message (also e-mailed when the user has an address). `key` makes sending
    idempotent: the same reminder is never created twice for a user."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_notification_per_key")]

    def __str__(self):
        return self.title


# --------------------------------------------------------------------------- records


def attachment_path(instance, filename):
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"records/{instance.record.session_id}/{uuid.uuid4().hex}.{ext}"


class Record(models.Model):
    """The doctor's log of a held session. A draft can be finished later; once submitted its
    obligations count as done on `held_on`."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="record")
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="records", verbose_name=_("医生"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    held_on = models.DateField(_("实际日期"))
    start = models.TimeField(_("开始"))
    end = models.TimeField(_("结束"))
    topics = models.JSONField(_("主题"), default=list, blank=True)
    topics_other = models.CharField(_("其他主题"), max_length=200, blank=True)
    content = models.TextField(_("服务内容"), blank=True)
    findings = models.JSONField(_("检查发现"), default=dict, blank=True,
                                help_text=_("卫生保健工作规范十个方面：{方面: 发现}"))
    advice = models.TextField(_("整改意见"), blank=True)
    follow_up_on = models.DateField(_("复查日期"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text=_("防止并发覆盖的版本号"))
    submitted_at = models.DateTimeField(null=True, blank=True)
    late_reason = models.CharField(_("补录原因"), max_length=200, blank=True,
                                   help_text=_("实际日期早于提交日 LATE_ENTRY_DAYS 天以上（补录）时填写"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("服务记录")
        verbose_name_plural = _("服务记录")
        constraints = [models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="record_times")]

    def __str__(self):
        return f"{self.held_on} {self.session.get_kind_display()}"

    # What a doctor writes; a confirmation answers these fields.
    CONTENT = ("held_on", "start", "end", "topics", "topics_other", "content", "findings", "advice", "follow_up_on")

    def clean_content(self, data):
        """Field-keyed errors of `data` (held_on, start, end, follow_up_on, advice) for this
        record's session, as of now (Asia/Shanghai)."""
        errors = {}
        earliest, latest = self.session.record_window()
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
        if data.get("advice") and not follow and self.session.kind in CHECKLIST_KINDS:
            errors["follow_up_on"] = "提出整改意见时请填写复查日期"
        if errors:
            raise ValidationError(errors)

    def amend(self, data, *, by, centre_ids, attendance=None, version=None):
        """Save the content (`data`: the CONTENT fields) of a new record, a draft, or a
        submitted one; a draft stays a draft. Audited as create, update or amend."""
        return self._write(data, by=by, centre_ids=centre_ids, attendance=attendance, version=version, submit=False)

    def submit(self, data, *, by, centre_ids, attendance=None, version=None):
        """Save the content and submit: the session was held, its obligations count as done on
        held_on, and disputed parts go back to their centre for confirmation. Audited as
        submit (or amend when it was submitted before)."""
        return self._write(data, by=by, centre_ids=centre_ids, attendance=attendance, version=version, submit=True)

    def _write(self, data, *, by, centre_ids, attendance, version, submit):
        """The one protocol of a record's change: lock, rules, version, parts, audit.
        `centre_ids`: the centres the session serves (a part each); `attendance`: {centre id: n}."""
        session = self.session
        session.refuse_if_locked(data["held_on"])
        self.clean_content(data)
        created = self.pk is None
        before = None if created else snapshot(self)
        parts = {} if created else {p.centre_id: p for p in self.centres.all()}
        self.reset_parts = []
        if created:
            if version is not None and int(version) != 0:
                raise Conflict()
            action = "create"
        else:
            if self._holds(data, parts, attendance, submit):
                return "unchanged"  # the same POST again (a double tap): nothing to write
            claim(self, version)
            action = "amend" if self.status == self.Status.SUBMITTED else "update"
        content_changed = any(name in data and getattr(self, name) != data[name] for name in self.CONTENT)
        for name in self.CONTENT:  # only the content: status, doctor and version are the protocol's
            if name in data:
                setattr(self, name, data[name])
        if data.get("late_reason"):  # why it is entered late (补录): not content a centre confirms
            self.late_reason = data["late_reason"]
        if created:
            self.save()
        was_submitted = self.status == self.Status.SUBMITTED
        written = []  # (part, its snapshot before): attendance and resets belong in the trail
        for centre_id in centre_ids:
            part = parts.get(centre_id) or RecordCentre(record=self, centre_id=centre_id)
            written.append((part, snapshot(part) if part.pk else None))
            changed = content_changed
            if attendance is not None and centre_id in attendance and part.attendance != attendance[centre_id]:
                part.attendance = attendance[centre_id]
                changed = True
            answered = part.confirmation in (Confirmation.CONFIRMED, Confirmation.DISPUTED)
            # A confirmation belongs to the content it confirmed: changed content goes back to
            # the centre; so does a disputed part on resubmission, changed or not.
            if answered and ((was_submitted and changed) or (submit and part.confirmation == Confirmation.DISPUTED)):
                part.confirmation, part.confirmed_version = Confirmation.UNCONFIRMED, None
                self.reset_parts.append(part)
            if part.pk and was_submitted and (changed or part in self.reset_parts):
                part.version += 1  # an answer to what the centre saw before is refused
            part.save()
        if submit:
            if self.status != self.Status.SUBMITTED:
                action = "submit"
            self.status, self.submitted_at = self.Status.SUBMITTED, timezone.now()
        if self.status == self.Status.SUBMITTED:  # submitted now, or amended: held as the record says
            session.hold(by=by, day=self.held_on, start=self.start, end=self.end)
            # knowledge time: the day the record was first entered (reports as of earlier days
            # do not count it)
            Obligation.objects.filter(sessions=session, resolution="").update(
                done_on=self.held_on,
                done_known_on=Coalesce("done_known_on", Value(timezone.localdate(), output_field=models.DateField())))
        self.save()
        audit_change(self, user=by, action=action, before=before)
        for part, part_before in written:
            if part_before is not None or part.attendance is not None:
                audit_if_changed(part, user=by, action=action, before=part_before,
                                 reason="服务记录已修改，恢复为待确认" if part in self.reset_parts else "")
        return action

    def _holds(self, data, parts, attendance, submit):
        """Whether the record already holds exactly `data` and `attendance`, submitted when
        `submit` (a repeated POST)."""
        if submit != (self.status == self.Status.SUBMITTED):
            return False
        if submit and any(p.confirmation == Confirmation.DISPUTED for p in parts.values()):
            return False  # a resubmission answers the dispute
        if any(name in data and getattr(self, name) != data[name] for name in self.CONTENT):
            return False
        return all(centre_id in parts and parts[centre_id].attendance == n
                   for centre_id, n in (attendance or {}).items())


class RecordCentre(models.Model):
    """One centre's part of a record: its attendance and its confirmation or dispute."""

    Confirmation = Confirmation

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="centres")
    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="record_parts")
    attendance = models.PositiveIntegerField(_("参加人数"), null=True, blank=True)
    confirmation = models.CharField(_("确认"), max_length=12, choices=Confirmation.choices,
                                    default=Confirmation.UNCONFIRMED, db_index=True)
    dispute_reason = models.CharField(_("异议原因"), max_length=300, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_version = models.PositiveIntegerField(
        _("所确认的记录版本"), null=True, blank=True,
        help_text=_("确认或异议时记录的版本号；记录内容此后有改动，本确认即失效，恢复为待确认"))
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("服务记录（托育机构）")
        verbose_name_plural = _("服务记录（托育机构）")
        constraints = [models.UniqueConstraint(fields=["record", "centre"], name="one_part_per_centre")]

    def __str__(self):
        return f"{self.record} {self.centre}"

    def confirm(self, *, by, version=None, record_version=None):
        """The centre confirms its part of a submitted record, as of the record's content
        version it was shown (`record_version`; refused with Conflict once it changed)."""
        self._answer(Confirmation.CONFIRMED, by=by, reason="", version=version, record_version=record_version)

    def dispute(self, *, by, reason, version=None, record_version=None):
        """The centre disputes its part, with the reason: the doctor amends and resubmits."""
        self._answer(Confirmation.DISPUTED, by=by, reason=reason, version=version, record_version=record_version)

    def _answer(self, confirmation, *, by, reason, version, record_version):
        if self.record.status != Record.Status.SUBMITTED:
            raise ValidationError("记录尚未提交，不能确认")
        self.record.session.refuse_if_locked()
        if confirmation == Confirmation.DISPUTED and not reason.strip():
            raise ValidationError({"reason": "请填写异议原因"})
        if record_version is not None and int(record_version) != self.record.version:
            raise Conflict("医生已修改该服务记录，您看到的是旧内容，本次确认未保存。请查看最新内容后再确认。")
        before = snapshot(self)
        claim(self, version)
        self.confirmed_version = self.record.version
        self.confirmation, self.dispute_reason = confirmation, reason.strip()
        self.confirmed_by, self.confirmed_at = by, timezone.now()
        self.save()
        audit_change(self, user=by, action="confirm" if confirmation == Confirmation.CONFIRMED else "dispute",
                     before=before, reason=reason)


class Attachment(models.Model):
    """A photo or sign-in sheet, stored outside the web root and served by a scoped view."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    sha256 = models.CharField(max_length=64, blank=True, default="",
                              help_text=_("文件内容的 SHA-256：同一文件在一条记录下只保存一次"))

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        constraints = [
            models.UniqueConstraint(fields=["record", "sha256"], condition=~Q(sha256=""),
                                    name="one_copy_per_record"),
        ]


class QuarterApprovalQuerySet(models.QuerySet):
    def locking(self, counties, quarters):
        """The approvals (not reopened) of any of `quarters` in any of `counties`."""
        return self.filter(status=QuarterApproval.Status.APPROVED, county__in=counties, period__in=quarters)


class QuarterApproval(models.Model):
    """A county reviewer's sign-off of a quarter: while approved, nothing of that quarter in
    that county changes; a reopen (with a reason) unlocks it."""

    class Status(models.TextChoices):
        APPROVED = "approved", _("已审核")
        REOPENED = "reopened", _("已重新开放")

    county = models.ForeignKey("mch_link.Region", on_delete=models.CASCADE, related_name="approvals")
    period = models.CharField(_("季度"), max_length=6)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True)
    reopened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.CharField(_("重新开放原因"), max_length=200, blank=True)
    approve_reason = models.CharField(
        _("审核说明"), max_length=200, blank=True,
        help_text=_("仍有未处理的异议时审核通过的理由（有异议时必填）"))

    objects = QuarterApprovalQuerySet.as_manager()

    class Meta:
        verbose_name = _("季度审核")
        verbose_name_plural = _("季度审核")
        constraints = [models.UniqueConstraint(fields=["county", "period"], name="one_approval_per_quarter")]


# --------------------------------------------------------------------------- calendar feeds


def new_feed_token():
    """43 URL-safe characters (256 random bits): the feed URL is its only credential."""
    import secrets

    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """A secret, login-free iCalendar subscription URL for one owner: a centre, a doctor or a
    provider. One active feed per owner; renewing replaces the row, so the old URL 404s."""

    class OwnerType(models.TextChoices):
        CENTRE = "centre", _("托育机构")
        DOCTOR = "doctor", _("医生")
        PROVIDER = "provider", _("医疗卫生机构")

    token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)
    owner_type = models.CharField(_("订阅对象"), max_length=10, choices=OwnerType.choices)
    centre = models.OneToOneField(Centre, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="calendar_feed")
    provider = models.OneToOneField(Provider, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="calendar_feed")
    doctor = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="calendar_feed")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("日历订阅")
        verbose_name_plural = _("日历订阅")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(owner_type="centre", centre__isnull=False, provider__isnull=True, doctor__isnull=True)
                    | Q(owner_type="provider", centre__isnull=True, provider__isnull=False, doctor__isnull=True)
                    | Q(owner_type="doctor", centre__isnull=True, provider__isnull=True, doctor__isnull=False)
                ),
                name="calendar_feed_one_owner",
            ),
        ]

    def __str__(self):
        return f"{self.get_owner_type_display()} {self.owner}"

    @property
    def owner(self):
        return self.centre or self.provider or self.doctor
