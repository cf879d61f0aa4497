"""Filing the county's quarter report at its approval (scheduling.services.quarter_approve).

The report of the county and quarter, as of the approval day, is rendered as PDF and JSON,
stored with its SHA-256 and the approval (FiledReport), and never rewritten: downloading it
later gives the same bytes whatever changed since. A reopen and a new approval file the next
version beside the old one.
"""

import hashlib

from django.core.files.base import ContentFile
from django.db.models import Max
from django.utils import timezone

from . import render as renderers
from .models import FiledReport
from .rows import completion_rows

FILED_FORMATS = ("pdf", "json")


def file_reports(approval, *, user):
    """File the PDF and JSON of `approval`'s county and quarter as its next version; the
    FiledReports, in FILED_FORMATS order."""
    county, period = approval.county, approval.period
    last = FiledReport.objects.filter(county=county, period=period).aggregate(v=Max("version"))["v"] or 0
    as_of = timezone.localdate()
    report = completion_rows(region=county, period=period, as_of=as_of)
    filed = []
    for fmt in FILED_FORMATS:
        data = renderers.render(report, fmt)
        entry = FiledReport(approval=approval, county=county, period=period, version=last + 1, fmt=fmt,
                            sha256=hashlib.sha256(data).hexdigest(), as_of=as_of, filed_at=timezone.now(),
                            filed_by=user)
        entry.file.save(renderers.filename(report, fmt), ContentFile(data), save=False)
        entry.save()
        filed.append(entry)
    return filed


def attach_filed(approvals):
    """Set `filed` on each of `approvals`: its FiledReports, newest version first. One query."""
    approvals = list(approvals)
    by_approval = {}
    for entry in FiledReport.objects.filter(approval__in=approvals).order_by("-version", "fmt"):
        by_approval.setdefault(entry.approval_id, []).append(entry)
    for approval in approvals:
        approval.filed = by_approval.get(approval.pk, [])
    return approvals
