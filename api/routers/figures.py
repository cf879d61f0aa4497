"""The figures: coverage (the `coverage` command's JSON) and the completion report (the
`completion_report` command's JSON), for the same roles and scopes as their pages."""

import datetime

from django.utils import timezone
from ninja import Query, Router

from mch_link.models import Provider, Region
from mch_link.permissions import BUREAUS, MANAGERS, has_role, report_provider_forced
from mch_link.scoping import default_region, get_scoped_or_404, membership_of
from mch_link.selectors import coverage as coverage_report
from reports.rows import completion_rows
from scheduling import periods

from .. import schemas as s
from . import period_bounds, require

router = Router(tags=["统计"])


class CoverageFilter(s.Schema):
    date: datetime.date | None = s.Field(None, description="统计日期，默认今天")
    region: str | None = s.Field(None, description="区划代码，默认本人所在区划")


@router.get("coverage", response=s.CoverageOut, summary="签约指导率与应签约对覆盖（coverage 命令的 JSON）")
def coverage(request, q: Query[CoverageFilter]):
    user = request.auth
    require(has_role(user, *BUREAUS))
    region = get_scoped_or_404(user, Region, code=q.region) if q.region else default_region(user)
    return coverage_report(q.date or timezone.localdate(), region).as_json()


class ReportFilter(s.Schema):
    period: str | None = s.Field(None, description="季度如 2027Q1，年度如 2027；默认本季度")
    as_of: datetime.date | None = s.Field(None, description="统计截至，默认今天")
    region: str | None = s.Field(None, description="区划代码，默认本人所在区划")
    provider: str | None = s.Field(None, description="医疗卫生机构编码（机构管理员只能看本机构）")


@router.get("reports/completion", response=s.CompletionReportOut,
            summary="“四个一”完成情况与签约指导率（completion_report 命令的 JSON）")
def completion(request, q: Query[ReportFilter]):
    user = request.auth
    require(has_role(user, *BUREAUS, *MANAGERS))
    period = q.period or periods.quarter_of(timezone.localdate())
    period_bounds(period)
    if report_provider_forced(user):
        own = membership_of(user).provider
        require(not q.provider or q.provider == own.code)
        provider = own
    else:
        provider = get_scoped_or_404(user, Provider, code=q.provider) if q.provider else None
    region = get_scoped_or_404(user, Region, code=q.region) if q.region else default_region(user)
    return completion_rows(region=region, period=period, provider=provider, as_of=q.as_of, user=user).as_json()
