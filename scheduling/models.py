"""The work calendar, obligations and sessions.

Dates are calendar dates in Asia/Shanghai; session times are local wall-clock times.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mch_link.models import Centre, Contract, Provider

from . import periods
from .status import STATUS_LABELS


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
    obligations = models.ManyToManyField(Obligation, related_name="sessions", verbose_name=_("服务义务"))
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("服务记录")
        verbose_name_plural = _("服务记录")
        constraints = [models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="record_times")]

    def __str__(self):
        return f"{self.held_on} {self.session.get_kind_display()}"


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
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("服务记录（托育机构）")
        verbose_name_plural = _("服务记录（托育机构）")
        constraints = [models.UniqueConstraint(fields=["record", "centre"], name="one_part_per_centre")]

    def __str__(self):
        return f"{self.record} {self.centre}"


class Attachment(models.Model):
    """A photo or sign-in sheet, stored outside the web root and served by a scoped view."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")


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
