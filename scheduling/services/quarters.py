"""Writes of the quarter sign-off: a county reviewer approves a quarter (locking it, see
models.refuse_if_locked, and filing the county's report: reports.filing) or reopens it with a
reason."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mch_link.audit import audit_change, snapshot
from mch_link.models import Region

from .. import periods
from ..models import Confirmation, QuarterApproval
from ..selectors import plan_start_quarter, quarter_parts
from . import handovers


@transaction.atomic
def quarter_approve(*, county, period, user, reason=""):
    """Approve (and lock) `period` in `county`. Refused before the quarter ended, before the
    plan's first quarter there, and while a centre's dispute is open unless the reviewer
    records `reason`. The providers serving the county are told."""
    if county.level != Region.Level.COUNTY or not periods.is_quarter(period):
        raise ValidationError("只能按区县和季度审核")
    bounds = periods.period_bounds(period)
    if bounds[1] >= timezone.localdate():
        raise ValidationError("季度尚未结束，不能审核")
    first = plan_start_quarter(county)
    if first is None or period < first:
        raise ValidationError(f"{period} 早于本区县服务排期的开始（{first or '尚无排期'}），无需审核")
    disputes = quarter_parts(county, period).filter(confirmation=Confirmation.DISPUTED).count()
    if disputes and not reason.strip():
        raise ValidationError({"reason": f"仍有 {disputes} 条异议未处理：请先处理，或填写审核说明后再审核"})
    approval, _created = QuarterApproval.objects.get_or_create(
        county=county, period=period, defaults={"status": QuarterApproval.Status.APPROVED})
    before = snapshot(approval)
    approval.status = QuarterApproval.Status.APPROVED
    approval.approved_by, approval.approved_at = user, timezone.now()
    approval.approve_reason = reason.strip()[:200]
    approval.save()
    audit_change(approval, user=user, action="approve", before=None if _created else before, reason=reason)
    from reports.filing import file_reports  # reports reads scheduling: imported here, not at load

    file_reports(approval, user=user)  # 已归档: the county's report as approved, a new version each time
    handovers.quarter_decided(approval, by=user, bounds=bounds)
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
    handovers.quarter_decided(approval, by=user, bounds=periods.period_bounds(approval.period))
    return approval
