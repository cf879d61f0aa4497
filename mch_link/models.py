"""The registry (regions, providers, centres, grades), memberships, contracts and the audit trail.

Dates are calendar dates in Asia/Shanghai. Every "as of" manager method takes the day
explicitly so that reports and tests can ask "as of day X".
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from .signals import contract_changed
from .validators import validate_cn_number, validate_filing_date, validate_uscc


def assigned(obj, name):
    """obj.<name> if a related object is set, saved or not (the importer validates rows whose
    parents it has yet to save); None, without a query, when it is unset."""
    field = obj._meta.get_field(name)
    if field.is_cached(obj):
        return field.get_cached_value(obj)
    return getattr(obj, name) if getattr(obj, field.attname) is not None else None


class ConstraintErrorsOnFields:
    """Report a check constraint's violation on the field it is about, as clean() would.

    `CONSTRAINT_FIELDS` maps a constraint's violation_error_code to that field. Forms, the
    importer and the admin then show the constraint's own message next to the field: the
    constraint is the one definition of the rule, in the database and in Python alike.
    """

    CONSTRAINT_FIELDS = {}

    def validate_constraints(self, exclude=None):
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            errors = {}
            for key, messages in exc.error_dict.items():
                for error in messages:
                    errors.setdefault(self.CONSTRAINT_FIELDS.get(error.code, key), []).append(error)
            raise ValidationError(errors) from None


# --------------------------------------------------------------------------- regions


class Region(ConstraintErrorsOnFields, models.Model):
    class Level(models.TextChoices):
        CITY = "city", _("市")
        COUNTY = "county", _("区/县")
        TOWNSHIP = "township", _("街道/镇/乡")

    PARENT_LEVEL = {Level.COUNTY: Level.CITY, Level.TOWNSHIP: Level.COUNTY}

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    valid_from = models.DateField(_("生效日期"), null=True, blank=True)
    valid_to = models.DateField(
        _("失效日期"), null=True, blank=True, help_text=_("最后有效的一天；区划调整后由继任区划接替。")
    )
    successor = models.ForeignKey(
        "self", verbose_name=_("继任区划"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="predecessors",
        help_text=_("区划调整（如街道改隶）后接替本区划的新区划；机构自调整之日起归属新区划。"),
    )

    CONSTRAINT_FIELDS = {"region_valid_range": "valid_to"}

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True)
                | Q(valid_from__lte=models.F("valid_to")),
                name="region_valid_range",
                violation_error_code="region_valid_range",
                violation_error_message=_("失效日期不能早于生效日期"),
            ),
            models.CheckConstraint(
                condition=(Q(level="city") & Q(parent__isnull=True))
                | (~Q(level="city") & Q(parent__isnull=False)),
                name="region_parent_by_level",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        parent = assigned(self, "parent")
        if self.level and parent is not None:
            expected = self.PARENT_LEVEL.get(self.level)
            if expected and parent.level and parent.level != expected:
                message = _("%(level)s的上级应为%(expected)s，而“%(parent)s”是%(actual)s")
                raise ValidationError({"parent": message % {
                    "level": self.Level(self.level).label, "expected": self.Level(expected).label,
                    "parent": parent.name, "actual": level_label(parent.level)}})

    @property
    def is_subdistrict(self):
        """A 街道 (served by a 社区卫生服务中心) rather than a 镇/乡 (乡镇卫生院)."""
        return self.name.endswith("街道")


def level_label(level):
    """A region level's label ("区/县"), "?" when unknown."""
    return Region.Level(level).label if level in Region.Level.values else "?"


# --------------------------------------------------------------------------- providers


class Tier(models.TextChoices):
    CITY = "city", _("市级")
    COUNTY = "county", _("县级")
    GRASSROOTS = "grassroots", _("基层")


class Provider(models.Model):
    class Kind(models.TextChoices):
        CITY_MCH = "city_mch", _("市级妇幼保健机构")
        COUNTY_MCH = "county_mch", _("县级妇幼保健机构")
        COMMUNITY = "community_health_centre", _("社区卫生服务中心")
        TOWNSHIP = "township_health_centre", _("乡镇卫生院")

    code = models.CharField(_("机构编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=32, choices=Kind.choices)
    region = models.ForeignKey(
        Region, verbose_name=_("所在区划"), on_delete=models.PROTECT, related_name="providers",
        help_text=_("市级妇幼：市；县级妇幼：区/县；社区卫生服务中心、乡镇卫生院：所在街道/镇/乡。"),
    )
    also_covers = models.ManyToManyField(
        Region, verbose_name=_("另负责的街道/镇/乡"), blank=True, related_name="covering_providers",
        help_text=_("基层机构除所在街道/镇/乡外另负责签约的街道/镇/乡。"),
    )
    phone = PhoneNumberField(_("电话"), blank=True, validators=[validate_cn_number])
    phone_ext = models.CharField(_("分机"), max_length=8, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    doctors = models.PositiveSmallIntegerField(
        _("儿童保健医生数"), default=1, help_text=_("可出诊的儿童保健医生人数，决定每日可排的服务场次。")
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("医疗卫生机构")
        verbose_name_plural = _("医疗卫生机构")

    def __str__(self):
        return self.name

    TIER_BY_KIND = {
        Kind.CITY_MCH: Tier.CITY,
        Kind.COUNTY_MCH: Tier.COUNTY,
        Kind.COMMUNITY: Tier.GRASSROOTS,
        Kind.TOWNSHIP: Tier.GRASSROOTS,
    }
    REGION_LEVEL_BY_KIND = {
        Kind.CITY_MCH: Region.Level.CITY,
        Kind.COUNTY_MCH: Region.Level.COUNTY,
        Kind.COMMUNITY: Region.Level.TOWNSHIP,
        Kind.TOWNSHIP: Region.Level.TOWNSHIP,
    }

    @property
    def tier(self):
        return self.TIER_BY_KIND[self.kind]

    @property
    def daily_capacity(self):
        """Sessions the provider can hold a day: doctors × SESSIONS_PER_DOCTOR_PER_DAY."""
        return self.doctors * settings.SESSIONS_PER_DOCTOR_PER_DAY

    def clean(self):
        expected = self.REGION_LEVEL_BY_KIND.get(self.kind)
        region = assigned(self, "region")
        if expected and region is not None and region.level and region.level != expected:
            message = _("%(kind)s的所在区划应为%(expected)s，而“%(region)s”是%(actual)s")
            raise ValidationError({"region": message % {
                "kind": self.Kind(self.kind).label, "expected": Region.Level(expected).label,
                "region": region.name, "actual": level_label(region.level)}})


# --------------------------------------------------------------------------- centres


class Grade(models.Model):
    """A grade a centre can hold. Ranked by `rank` (higher is better), never by label:
    市级示范 (4) > 一级 (3) > 二级 (2) > 三级 (1)."""

    code = models.SlugField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=20, unique=True)
    rank = models.PositiveSmallIntegerField(_("等级序位"), unique=True, help_text=_("越大越高"))

    class Meta:
        ordering = ["-rank"]
        verbose_name = _("托育机构等级")
        verbose_name_plural = _("托育机构等级")

    def __str__(self):
        return self.name


# Ranks with a meaning in the policy's tier rules.
RANK_CITY_MODEL = 4  # 市级示范
RANK_LEVEL_2 = 2  # 二级: "二级及以上" is rank >= 2


class Ownership(models.Model):
    name = models.CharField(_("举办性质"), max_length=20, unique=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("举办性质")
        verbose_name_plural = _("举办性质")

    def __str__(self):
        return self.name


class CentreQuerySet(models.QuerySet):
    def open_on(self, day):
        """Centres filed by `day` and not closed by it (closed_on after `day`)."""
        return self.filter(filed_on__lte=day).filter(Q(closed_on__isnull=True) | Q(closed_on__gt=day))


class Centre(ConstraintErrorsOnFields, models.Model):
    code = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField(_("名称"), max_length=100)
    township = models.ForeignKey(
        Region, verbose_name=_("所在街道/镇/乡"), on_delete=models.PROTECT, related_name="centres",
        limit_choices_to={"level": Region.Level.TOWNSHIP},
    )
    ownership = models.ForeignKey(
        Ownership, verbose_name=_("举办性质"), null=True, blank=True, on_delete=models.PROTECT
    )
    places = models.PositiveIntegerField(_("托位数"), default=0)
    phone = PhoneNumberField(_("电话"), blank=True, validators=[validate_cn_number])
    phone_ext = models.CharField(_("分机"), max_length=8, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    filed_on = models.DateField(_("备案日期"), validators=[validate_filing_date])
    closed_on = models.DateField(_("注销日期"), null=True, blank=True, validators=[validate_filing_date])

    objects = CentreQuerySet.as_manager()

    CONSTRAINT_FIELDS = {"centre_closed_after_filed": "closed_on"}

    class Meta:
        ordering = ["code"]
        verbose_name = _("托育机构")
        verbose_name_plural = _("托育机构")
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=models.F("filed_on")),
                name="centre_closed_after_filed",
                violation_error_code="centre_closed_after_filed",
                violation_error_message=_("注销日期不能早于备案日期"),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        township = assigned(self, "township")
        if township is not None and township.level and township.level != Region.Level.TOWNSHIP:
            message = _("托育机构的所在区划必须是街道/镇/乡，而“%(name)s”是%(level)s")
            raise ValidationError({"township": message % {
                "name": township.name, "level": level_label(township.level)}})

    def grade_on(self, day):
        """The Grade held on `day`, or None. One query."""
        held = (
            CentreGrade.objects.held_on(day).filter(centre=self).select_related("grade")
            .order_by("-awarded_on", "-grade__rank").first()
        )
        return held.grade if held else None


def held_on_q(day, prefix=""):
    """Q of the grade entries (CentreGrade) held on `day`: awarded by then and still valid.
    `prefix`: the path to the entry ("grades__" from a Centre)."""
    return Q(**{f"{prefix}awarded_on__lte": day}) & (
        Q(**{f"{prefix}valid_until__isnull": True}) | Q(**{f"{prefix}valid_until__gte": day}))


class CentreGradeQuerySet(models.QuerySet):
    def held_on(self, day):
        return self.filter(held_on_q(day))


class CentreGrade(ConstraintErrorsOnFields, models.Model):
    """One entry of a centre's grade history: `grade` held from `awarded_on` to `valid_until`
    (inclusive; null while it still holds)."""

    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="grades",
                               verbose_name=_("托育机构"))
    grade = models.ForeignKey(Grade, on_delete=models.PROTECT, verbose_name=_("等级"))
    awarded_on = models.DateField(_("评定日期"))
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)

    objects = CentreGradeQuerySet.as_manager()

    CONSTRAINT_FIELDS = {"grade_valid_range": "valid_until"}

    class Meta:
        ordering = ["centre", "-awarded_on"]
        verbose_name = _("等级记录")
        verbose_name_plural = _("等级记录")
        constraints = [
            models.UniqueConstraint(fields=["centre", "awarded_on"], name="one_grade_award_a_day"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("awarded_on")),
                name="grade_valid_range",
                violation_error_code="grade_valid_range",
                violation_error_message=_("有效期至不能早于评定日期"),
            ),
        ]

    def __str__(self):
        return f"{self.centre} {self.grade} {self.awarded_on}"


# --------------------------------------------------------------------------- memberships


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", _("市卫健委管理员")
    COUNTY_REVIEWER = "county_reviewer", _("区县卫健局审核员")
    PROVIDER_MANAGER = "provider_manager", _("医疗机构管理员")
    DOCTOR = "doctor", _("儿童保健医生")
    CENTRE_STAFF = "centre_staff", _("托育机构工作人员")


class Membership(models.Model):
    """Links a user to the one organisation it works for, with its role there."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="membership", verbose_name=_("用户"))
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT,
                               verbose_name=_("区划"), help_text=_("市卫健委：市；区县卫健局：区/县"))
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="members", verbose_name=_("医疗卫生机构"))
    centre = models.ForeignKey(Centre, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="members", verbose_name=_("托育机构"))

    class Meta:
        verbose_name = _("成员")
        verbose_name_plural = _("成员")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role__in=["city_admin", "county_reviewer"], region__isnull=False,
                      provider__isnull=True, centre__isnull=True)
                    | Q(role__in=["provider_manager", "doctor"], region__isnull=True,
                        provider__isnull=False, centre__isnull=True)
                    | Q(role="centre_staff", region__isnull=True, provider__isnull=True,
                        centre__isnull=False)
                ),
                name="membership_organisation_matches_role",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.organisation}"

    @property
    def organisation(self):
        return self.region or self.provider or self.centre

    def clean(self):
        if self.role == Role.CITY_ADMIN and self.region_id and self.region.level != Region.Level.CITY:
            raise ValidationError({"region": _("市卫健委管理员的区划应为市")})
        if self.role == Role.COUNTY_REVIEWER and self.region_id and self.region.level != Region.Level.COUNTY:
            raise ValidationError({"region": _("区县卫健局审核员的区划应为区/县")})


# --------------------------------------------------------------------------- contracts


def in_force_q(on, prefix=""):
    """Q of the contracts in force on day `on` (ContractQuerySet.in_force); `prefix`: the path to
    the contract ("contracts__" from a Centre)."""
    return Q(**{f"{prefix}status__in": [Contract.Status.SIGNED, Contract.Status.TERMINATED],
                f"{prefix}valid_from__lte": on, f"{prefix}valid_to__gte": on}) & (
        Q(**{f"{prefix}terminated_on__isnull": True}) | Q(**{f"{prefix}terminated_on__gt": on}))


class ContractQuerySet(models.QuerySet):
    def in_force(self, on):
        """Signed (or since terminated) contracts in force on day `on`.

        A contract is in force from valid_from to valid_to inclusive; a terminated one stops
        the day it is terminated (terminated_on is the first day no longer in force).
        """
        return self.filter(in_force_q(on))

    def overlapping(self, valid_from, valid_to):
        """Signed or terminated contracts whose time in force meets [valid_from, valid_to].

        The one Python definition of the overlap rule (services and the importer ask it); the
        database's trigger (migration 0002) is the guard behind it."""
        return self.filter(
            status__in=[Contract.Status.SIGNED, Contract.Status.TERMINATED],
            valid_from__lte=valid_to, valid_to__gte=valid_from,
        ).filter(Q(terminated_on__isnull=True) | Q(terminated_on__gt=valid_from))


def contract_scan_path(instance, filename):
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"contracts/{instance.provider_id}/{timezone.now():%Y%m%d%H%M%S}.{ext}"


class Contract(ConstraintErrorsOnFields, models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SIGNED = "signed", _("已签约")
        TERMINATED = "terminated", _("已终止")

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="contracts",
                                 verbose_name=_("医疗卫生机构"))
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="contracts",
                               verbose_name=_("托育机构"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    signed_on = models.DateField(_("签约日期"), null=True, blank=True)
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("到期日期"), help_text=_("最后有效的一天"))
    terminated_on = models.DateField(_("终止日期"), null=True, blank=True,
                                     help_text=_("自该日起不再有效"))
    termination_reason = models.CharField(_("终止原因"), max_length=200, blank=True)
    scan = models.FileField(_("协议扫描件"), upload_to=contract_scan_path, blank=True)
    renewed_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="renewal", verbose_name=_("续签自"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ContractQuerySet.as_manager()

    CONSTRAINT_FIELDS = {"contract_valid_range": "valid_to"}

    class Meta:
        ordering = ["provider", "centre", "valid_from"]
        verbose_name = _("签约协议")
        verbose_name_plural = _("签约协议")
        constraints = [
            models.CheckConstraint(condition=Q(valid_from__lte=models.F("valid_to")),
                                   name="contract_valid_range",
                                   violation_error_code="contract_valid_range",
                                   violation_error_message=_("到期日期不能早于生效日期")),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(signed_on__isnull=False),
                name="contract_signed_has_date",
            ),
            models.CheckConstraint(
                condition=(Q(status="terminated") & Q(terminated_on__isnull=False))
                | (~Q(status="terminated") & Q(terminated_on__isnull=True)),
                name="contract_terminated_has_date",
            ),
            # drafting twice (a double submit, two managers at once) offers one draft, not two
            models.UniqueConstraint(fields=["provider", "centre"], condition=Q(status="draft"),
                                    name="one_open_draft_per_pair",
                                    violation_error_message=_("该机构与该托育机构已有一份待签约的草稿协议")),
        ]
        # Two signed contracts of one pair may not overlap in time: enforced by a trigger
        # (see migration 0002), since neither SQLite nor plain PostgreSQL has a portable
        # exclusion constraint for it.

    def __str__(self):
        return f"{self.provider} — {self.centre} ({self.valid_from}–{self.valid_to})"

    @property
    def tier(self):
        return self.provider.tier

    def get_tier_display(self):
        return Tier(self.tier).label

    @property
    def last_day_in_force(self):
        if self.terminated_on:
            return min(self.valid_to, self.terminated_on - datetime.timedelta(days=1))
        return self.valid_to

    def is_in_force(self, day):
        return (
            self.status in (self.Status.SIGNED, self.Status.TERMINATED)
            and self.valid_from <= day <= self.last_day_in_force
        )

    def clean(self):
        errors = {}
        if self.status != self.Status.DRAFT and not self.signed_on:
            errors["signed_on"] = _("已签约的协议必须填写签约日期")
        if self.status == self.Status.TERMINATED and not self.terminated_on:
            errors["terminated_on"] = _("终止协议必须填写终止日期")
        if errors:
            raise ValidationError(errors)

    # ----------------------------------------------------------------- overlap

    def clashes(self):
        """Saved signed (or terminated) contracts of the same pair whose time in force meets
        this one's. One query."""
        return (Contract.objects.filter(provider=self.provider_id, centre=self.centre_id)
                .exclude(pk=self.pk).overlapping(self.valid_from, self.valid_to))

    def overlaps(self, other):
        """Whether two contracts of a pair, both signed (or since terminated), are in force on a
        common day: the rule of ContractQuerySet.overlapping for contracts not saved yet (the
        importer compares the rows of one file)."""
        signed = (self.Status.SIGNED, self.Status.TERMINATED)
        return (self.status in signed and other.status in signed
                and self.valid_from <= other.last_day_in_force and other.valid_from <= self.last_day_in_force)

    def check_no_clash(self):
        """Refuse (ValidationError) if a saved contract of the pair overlaps this one."""
        clash = self.clashes().first()
        if clash:
            raise ValidationError(
                _("%(centre)s 与 %(provider)s 已有 %(start)s 至 %(end)s 的有效协议，时间重叠")
                % {"centre": self.centre, "provider": self.provider,
                   "start": clash.valid_from, "end": clash.valid_to}
            )

    def save_checked(self):
        """Save, turning the database's overlap refusal (a race the check above lost) into a
        ValidationError."""
        try:
            with transaction.atomic():
                self.save()
        except IntegrityError as exc:
            if "contract_overlap" in str(exc):
                raise ValidationError(_("与同一机构同一托育机构的已签约协议时间重叠")) from exc
            raise

    # ----------------------------------------------------------------- changes

    @transaction.atomic
    def sign(self, *, signed_on, by, scan=None, valid_from=None, valid_to=None):
        """Sign this draft on `signed_on` (optionally with new dates and a scan): validate it,
        refuse an overlap, save, audit as "sign" and tell the scheduler once committed."""
        from .audit import audit_change, snapshot

        if self.status != self.Status.DRAFT:
            raise ValidationError(_("只有草稿协议可以签约"))
        before = snapshot(self)
        self.valid_from = valid_from or self.valid_from
        self.valid_to = valid_to or self.valid_to
        self.status = self.Status.SIGNED
        self.signed_on = signed_on
        if scan is not None:
            self.scan = scan
        self.full_clean(exclude=["scan"])
        self.check_no_clash()
        self.save_checked()
        audit_change(self, user=by, action="sign", before=before)
        contracts_changed([self.pk])

    @transaction.atomic
    def terminate(self, *, on, reason, by):
        """End this signed contract: no longer in force from `on` (within its term). Saves,
        audits as "terminate" with the reason and tells the scheduler once committed."""
        from .audit import audit_change, snapshot

        if self.status != self.Status.SIGNED:
            raise ValidationError(_("只能终止已签约的协议"))
        if not reason.strip():
            raise ValidationError(_("请填写终止原因"))
        if on < self.valid_from or on > self.valid_to:
            raise ValidationError(_("终止日期应在协议有效期内（%(a)s 至 %(b)s）")
                                  % {"a": self.valid_from, "b": self.valid_to})
        before = snapshot(self)
        self.status = self.Status.TERMINATED
        self.terminated_on = on
        self.termination_reason = reason.strip()
        self.save()
        audit_change(self, user=by, action="terminate", before=before, reason=reason)
        contracts_changed([self.pk])


def contracts_changed(contract_ids):
    """Send `contract_changed` for `contract_ids` once the transaction commits (the scheduler
    re-plans on it); nothing for none."""
    ids = list(contract_ids)
    if ids:
        transaction.on_commit(lambda: contract_changed.send(sender=Contract, contract_ids=ids))


# --------------------------------------------------------------------------- audit trail


class AuditEvent(models.Model):
    """Who changed what, when, with the fields before and after (JSON, as strings)."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, verbose_name=_("操作人"))
    action = models.CharField(_("操作"), max_length=40)
    model = models.CharField(_("对象类型"), max_length=40)
    object_id = models.CharField(_("对象ID"), max_length=40)
    object_repr = models.CharField(_("对象"), max_length=200)
    before = models.JSONField(_("修改前"), null=True, blank=True)
    after = models.JSONField(_("修改后"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("操作记录")
        verbose_name_plural = _("操作记录")
        indexes = [models.Index(fields=["model", "object_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.object_repr}"

    ACTION_LABELS = {
        "draft": _("起草"), "sign": _("签约"), "renew": _("续签"), "terminate": _("终止"),
        "create": _("新建"), "update": _("修改"), "move": _("改期"), "cancel": _("取消"),
        "waive": _("免除"), "confirm": _("确认"), "dispute": _("提出异议"), "amend": _("修改记录"),
        "submit": _("提交记录"), "approve": _("审核通过"), "reopen": _("重新开放"),
        "expire_password": _("停用旧密码"),
    }

    @property
    def action_label(self):
        return self.ACTION_LABELS.get(self.action, self.action)

    def changes(self):
        """[(field, before, after)] for display; a creation has no `before`."""
        before, after = self.before or {}, self.after or {}
        return [(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after))]


# --------------------------------------------------------------------------- background imports


class ImportJob(models.Model):
    """A registry import too large to run within the request (docs/import.md): the uploaded
    files wait in private storage under `folder` while a django-q task checks and writes them;
    the import page polls `stage`/`done`/`total` and shows `result` once finished."""

    class Stage(models.TextChoices):
        QUEUED = "queued", _("排队中")
        CHECKING = "checking", _("检查中")
        WRITING = "writing", _("写入中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("出错")

    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             verbose_name=_("提交人"))
    folder = models.CharField(_("文件目录"), max_length=200)
    names = models.JSONField(_("文件"), default=list)
    dry_run = models.BooleanField(_("仅试运行"), default=False)
    stage = models.CharField(_("状态"), max_length=10, choices=Stage.choices, default=Stage.QUEUED)
    done = models.PositiveIntegerField(_("已检查行数"), default=0)
    total = models.PositiveIntegerField(_("总行数"), default=0)
    result = models.JSONField(_("结果"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {'、'.join(self.names)}"

    @property
    def finished(self):
        return self.stage in (self.Stage.DONE, self.Stage.FAILED)

    @property
    def percent(self):
        return min(100, self.done * 100 // self.total) if self.total else 0
