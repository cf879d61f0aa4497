"""The registry (regions, providers, centres, grades), memberships, contracts and the audit trail.

Dates are calendar dates in Asia/Shanghai. Every "as of" manager method takes the day
explicitly so that reports and tests can ask "as of day X".
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from .validators import validate_uscc


def valid_on_q(day, start="valid_from", end="valid_to"):
    """Q for rows whose inclusive [start, end] range holds `day`; a null bound is open."""
    return (Q(**{f"{start}__isnull": True}) | Q(**{f"{start}__lte": day})) & (
        Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": day})
    )


# --------------------------------------------------------------------------- regions


class RegionQuerySet(models.QuerySet):
    def valid_on(self, day):
        return self.filter(valid_on_q(day))

    def counties(self):
        return self.filter(level=Region.Level.COUNTY)

    def townships(self):
        return self.filter(level=Region.Level.TOWNSHIP)


class Region(models.Model):
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

    objects = RegionQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True)
                | Q(valid_from__lte=models.F("valid_to")),
                name="region_valid_range",
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
        if self.level and self.parent_id:
            expected = self.PARENT_LEVEL.get(self.level)
            if expected and self.parent.level != expected:
                raise ValidationError({"parent": _("上级区划级别不符")})

    @property
    def is_subdistrict(self):
        """A 街道 (served by a 社区卫生服务中心) rather than a 镇/乡 (乡镇卫生院)."""
        return self.name.endswith("街道")

    def current_on(self, day):
        """This region, or the successor that replaced it, as it stood on `day`."""
        region, seen = self, set()
        while region.valid_to and region.valid_to < day and region.successor_id and region.pk not in seen:
            seen.add(region.pk)
            region = region.successor
        return region


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
    phone = PhoneNumberField(_("电话"), blank=True)
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
        if expected and self.region_id and self.region.level != expected:
            raise ValidationError({"region": _("该类别机构的所在区划应为%(level)s") % {
                "level": Region.Level(expected).label}})


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


class Centre(models.Model):
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
    phone = PhoneNumberField(_("电话"), blank=True)
    phone_ext = models.CharField(_("分机"), max_length=8, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    filed_on = models.DateField(_("备案日期"))
    closed_on = models.DateField(_("注销日期"), null=True, blank=True)

    objects = CentreQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("托育机构")
        verbose_name_plural = _("托育机构")
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=models.F("filed_on")),
                name="centre_closed_after_filed",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.township_id and self.township.level != Region.Level.TOWNSHIP:
            raise ValidationError({"township": _("托育机构的所在区划必须是街道/镇/乡")})
        if self.closed_on and self.filed_on and self.closed_on < self.filed_on:
            raise ValidationError({"closed_on": _("注销日期不能早于备案日期")})

    def grade_on(self, day):
        """The Grade held on `day`, or None. One query."""
        held = (
            CentreGrade.objects.held_on(day).filter(centre=self).select_related("grade")
            .order_by("-awarded_on", "-grade__rank").first()
        )
        return held.grade if held else None


class CentreGradeQuerySet(models.QuerySet):
    def held_on(self, day):
        return self.filter(awarded_on__lte=day).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=day)
        )


class CentreGrade(models.Model):
    """One entry of a centre's grade history: `grade` held from `awarded_on` to `valid_until`
    (inclusive; null while it still holds)."""

    centre = models.ForeignKey(Centre, on_delete=models.CASCADE, related_name="grades",
                               verbose_name=_("托育机构"))
    grade = models.ForeignKey(Grade, on_delete=models.PROTECT, verbose_name=_("等级"))
    awarded_on = models.DateField(_("评定日期"))
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)

    objects = CentreGradeQuerySet.as_manager()

    class Meta:
        ordering = ["centre", "-awarded_on"]
        verbose_name = _("等级记录")
        verbose_name_plural = _("等级记录")
        constraints = [
            models.UniqueConstraint(fields=["centre", "awarded_on"], name="one_grade_award_a_day"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("awarded_on")),
                name="grade_valid_range",
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


class ContractQuerySet(models.QuerySet):
    def in_force(self, on):
        """Signed (or since terminated) contracts in force on day `on`.

        A contract is in force from valid_from to valid_to inclusive; a terminated one stops
        the day it is terminated (terminated_on is the first day no longer in force).
        """
        return self.filter(
            status__in=[Contract.Status.SIGNED, Contract.Status.TERMINATED],
            valid_from__lte=on, valid_to__gte=on,
        ).filter(Q(terminated_on__isnull=True) | Q(terminated_on__gt=on))

    def overlapping(self, valid_from, valid_to):
        """Signed or terminated contracts whose time in force meets [valid_from, valid_to]."""
        return self.filter(
            status__in=[Contract.Status.SIGNED, Contract.Status.TERMINATED],
            valid_from__lte=valid_to, valid_to__gte=valid_from,
        ).filter(Q(terminated_on__isnull=True) | Q(terminated_on__gt=valid_from))


def contract_scan_path(instance, filename):
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"contracts/{instance.provider_id}/{timezone.now():%Y%m%d%H%M%S}.{ext}"


class Contract(models.Model):
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

    class Meta:
        ordering = ["provider", "centre", "valid_from"]
        verbose_name = _("签约协议")
        verbose_name_plural = _("签约协议")
        constraints = [
            models.CheckConstraint(condition=Q(valid_from__lte=models.F("valid_to")),
                                   name="contract_valid_range"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(signed_on__isnull=False),
                name="contract_signed_has_date",
            ),
            models.CheckConstraint(
                condition=(Q(status="terminated") & Q(terminated_on__isnull=False))
                | (~Q(status="terminated") & Q(terminated_on__isnull=True)),
                name="contract_terminated_has_date",
            ),
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
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            errors["valid_to"] = _("到期日期不能早于生效日期")
        if self.status != self.Status.DRAFT and not self.signed_on:
            errors["signed_on"] = _("已签约的协议必须填写签约日期")
        if self.status == self.Status.TERMINATED and not self.terminated_on:
            errors["terminated_on"] = _("终止协议必须填写终止日期")
        if errors:
            raise ValidationError(errors)


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
    }

    @property
    def action_label(self):
        return self.ACTION_LABELS.get(self.action, self.action)

    def changes(self):
        """[(field, before, after)] for display; a creation has no `before`."""
        before, after = self.before or {}, self.after or {}
        return [(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after))]
