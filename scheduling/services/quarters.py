"""Writes of the quarter sign-off: a county reviewer approves a quarter (locking it, see
models.refuse_if_locked, and filing the county's report: reports.filing) or reopens it with a
reason."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from mch_link.audit import audit_change, snapshot
from mch_link.models import Region

from .. import periods
from ..models import QuarterApproval


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
    from reports.filing import file_reports  # reports reads scheduling: imported here, not at load

    file_reports(approval, user=user)  # 已归档: the county's report as approved, a new version each time
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
