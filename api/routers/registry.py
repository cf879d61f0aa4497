"""The registry: regions, providers, centres (grade and filing as of a day), contracts."""

import datetime
from typing import Literal

from django.db.models import Prefetch
from django.utils import timezone
from ninja import Query, Router

from mch_link.models import Centre, CentreGrade, Contract, Grade, Provider, Region
from mch_link.scoping import scoped
from mch_link.selectors import grade_ranks_on

from .. import schemas as s
from ..paging import Paging, page
from . import narrowed, one

router = Router(tags=["登记信息"])


@router.get("regions", response=s.RegionPage, summary="行政区划")
def regions(request, q: Query[Paging], level: Literal["city", "county", "township"] | None = None):
    qs = scoped(request.auth, Region).select_related("parent")
    if level:
        qs = qs.filter(level=level)
    return page(qs, q.cursor, q.limit)


@router.get("regions/{code}", response=s.RegionOut, summary="一个行政区划")
def region(request, code: str):
    return one(scoped(request.auth, Region).select_related("parent"), code=code)


def _providers(user):
    return scoped(user, Provider).select_related("region").prefetch_related(
        Prefetch("also_covers", queryset=Region.objects.order_by("code")))


@router.get("providers", response=s.ProviderPage, summary="医疗卫生机构")
def providers(request, q: Query[Paging], kind: str | None = None):
    qs = _providers(request.auth)
    if kind:
        qs = qs.filter(kind=kind)
    return page(qs, q.cursor, q.limit)


@router.get("providers/{code}", response=s.ProviderOut, summary="一个医疗卫生机构")
def provider(request, code: str):
    return one(_providers(request.auth), code=code)


def _as_of(centres, day):
    """Mark `centres` with their grade held on `day` and whether they were open that day.
    Two queries, whatever the number of centres."""
    ranks = grade_ranks_on(day, CentreGrade.objects.held_on(day).filter(centre__in=[c.pk for c in centres]))
    names = dict(Grade.objects.values_list("rank", "name"))
    for c in centres:
        rank = ranks.get(c.pk)
        c.as_of, c.grade_rank, c.grade = day, rank, names.get(rank)
        c.open = c.filed_on <= day and (c.closed_on is None or c.closed_on > day)
    return centres


def _centres(user):
    return scoped(user, Centre).select_related("township", "ownership")


@router.get("centres", response=s.CentrePage, summary="托育机构（某日的等级与备案状态）")
def centres(request, q: Query[Paging], as_of: datetime.date | None = None, township: str | None = None):
    """`as_of`: the day the grade and the filing are read on (default today, Asia/Shanghai)."""
    qs = _centres(request.auth)
    if township:
        qs = qs.filter(township__code=township)
    result = page(qs, q.cursor, q.limit)
    _as_of(result["items"], as_of or timezone.localdate())
    return result


@router.get("centres/{code}", response=s.CentreOut, summary="一个托育机构")
def centre(request, code: str, as_of: datetime.date | None = None):
    return _as_of([one(_centres(request.auth), code=code)], as_of or timezone.localdate())[0]


class ContractFilter(Paging):
    status: Literal["draft", "signed", "terminated"] | None = None
    provider: str | None = None
    centre: str | None = None
    updated_since: s.Moment | None = None


@router.get("contracts", response=s.ContractPage, summary="签约协议")
def contracts(request, q: Query[ContractFilter]):
    qs = scoped(request.auth, Contract).select_related("provider", "centre")
    qs = narrowed(qs, q, status="status", provider="provider__code", centre="centre__code",
                  updated_since="updated_at__gte")
    return page(qs, q.cursor, q.limit)


@router.get("contracts/{id}", response=s.ContractOut, summary="一份签约协议")
def contract(request, id: int):
    return one(scoped(request.auth, Contract).select_related("provider", "centre"), pk=id)
