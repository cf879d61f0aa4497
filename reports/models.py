"""Filed reports: the county's quarter report as it stood when a reviewer approved it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def filed_path(instance, filename):
    return f"filed/{instance.county.code}/{instance.period}/v{instance.version}/{filename}"


class FiledReport(models.Model):
    """One file (PDF or JSON) of the report filed at a quarter's approval. Never changed: a
    reopen and a new approval file a new version beside it."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        JSON = "json", "JSON"

    approval = models.ForeignKey("scheduling.QuarterApproval", on_delete=models.PROTECT,
                                 related_name="filed_reports", verbose_name=_("审核"))
    county = models.ForeignKey("mch_link.Region", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("区县"))
    period = models.CharField(_("季度"), max_length=6)
    version = models.PositiveIntegerField(_("版本"))
    fmt = models.CharField(_("格式"), max_length=4, choices=Format.choices)
    file = models.FileField(_("文件"), upload_to=filed_path)
    sha256 = models.CharField("SHA-256", max_length=64)
    as_of = models.DateField(_("统计截至"))
    filed_at = models.DateTimeField(_("归档时间"))
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("审核人"))

    class Meta:
        ordering = ["county", "period", "-version", "fmt"]
        verbose_name = _("已归档报表")
        verbose_name_plural = _("已归档报表")
        constraints = [models.UniqueConstraint(fields=["county", "period", "version", "fmt"],
                                               name="one_filed_file_per_version")]

    def __str__(self):
        return f"{self.period} v{self.version} {self.fmt}"


class DataVersion(models.Model):
    """One row: a counter raised after every committed write to the data the reports read
    (reports.freshness). The dashboard keys its cached report by it, so every process (gunicorn
    workers, django-q workers, commands) sees one value: it lives in the database, not in a
    process's memory."""

    n = models.BigIntegerField(default=0)
    # The value n took at the last committed write to a registry table (freshness.REGISTRY): the
    # version of what the registry part of a report (its coverage) is built from. Never above n.
    registry = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "report data version"
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="data_version_one_row")]
