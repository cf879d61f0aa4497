"""The plan and the work: obligations, sessions, records with their parts, the work calendar."""

from typing import Literal

from django.db.models import Prefetch
from ninja import Query, Router

from mch_link.scoping import scoped
from scheduling.models import Obligation, Record, RecordCentre, Session, WorkYear

from .. import schemas as s
from ..paging import Paging, page
from . import narrowed, one, period_bounds

router = Router(tags=["计划与服务"])


class ObligationFilter(Paging):
    period: str | None = s.Field(None, description="季度如 2027Q1，年度如 2027")
    kind: str | None = None
    status: str | None = None
    contract: int | None = None


@router.get("obligations", response=s.ObligationPage, summary="服务义务")
def obligations(request, q: Query[ObligationFilter]):
    qs = scoped(request.auth, Obligation).select_related("contract__provider", "contract__centre")
    if q.period:
        period_bounds(q.period)
    qs = narrowed(qs, q, period="period", kind="kind", status="status", contract="contract")
    return page(qs, q.cursor, q.limit)


@router.get("obligations/{id}", response=s.ObligationOut, summary="一项服务义务")
def obligation(request, id: int):
    return one(scoped(request.auth, Obligation).select_related("contract__provider", "contract__centre"), pk=id)


def _sessions(user):
    """Scoped sessions with the obligations (and so the centres) the user may see: a centre's
    staff see their own centre of a joint training, as on the session page."""
    visible = scoped(user, Obligation).select_related("contract__centre").order_by("pk")
    return scoped(user, Session).select_related("provider", "doctor").prefetch_related(
        Prefetch("obligations", queryset=visible, to_attr="visible_obligations"))


class SessionFilter(Paging):
    period: str | None = s.Field(None, description="日期所在的季度（2027Q1）或年度（2027）")
    provider: str | None = s.Field(None, description="医疗卫生机构编码")
    centre: str | None = s.Field(None, description="托育机构统一社会信用代码")
    status: Literal["planned", "held", "cancelled"] | None = None
    kind: str | None = None
    updated_since: s.Moment | None = s.Field(None, description="只列出此时刻及之后有变更的场次")


@router.get("sessions", response=s.SessionPage, summary="服务场次")
def sessions(request, q: Query[SessionFilter]):
    qs = _sessions(request.auth)
    if q.period:
        qs = qs.filter(date__range=period_bounds(q.period))
    if q.centre:  # a subquery: a session serving two obligations of the centre is listed once
        qs = qs.filter(pk__in=Obligation.objects.filter(contract__centre__code=q.centre).values("sessions"))
    qs = narrowed(qs, q, provider="provider__code", status="status", kind="kind", updated_since="updated_at__gte")
    return page(qs, q.cursor, q.limit)


@router.get("sessions/{id}", response=s.SessionOut, summary="一个服务场次")
def session(request, id: int):
    return one(_sessions(request.auth), pk=id)


def records_of(user):
    """Scoped records with the parts the user may see (a centre's staff: their own) and
    their attachments."""
    parts = scoped(user, RecordCentre).select_related("centre").order_by("pk")
    return scoped(user, Record).select_related("doctor").prefetch_related(
        Prefetch("centres", queryset=parts, to_attr="visible_parts"), "attachments")


class RecordFilter(Paging):
    status: Literal["draft", "submitted"] | None = None
    session: int | None = None
    updated_since: s.Moment | None = s.Field(None, description="只列出此时刻及之后有变更的记录")


@router.get("records", response=s.RecordPage, summary="服务记录（含各托育机构的确认）")
def records(request, q: Query[RecordFilter]):
    qs = narrowed(records_of(request.auth), q, status="status", session="session", updated_since="updated_at__gte")
    return page(qs, q.cursor, q.limit)


@router.get("records/{id}", response=s.RecordOut, summary="一条服务记录")
def record(request, id: int):
    return one(records_of(request.auth), pk=id)


class YearFilter(s.Schema):
    year: int | None = s.Field(None, ge=2000, le=2100)


@router.get("workdays", response=list[s.WorkYearOut], summary="工作日历（节假日与调休）")
def workdays(request, q: Query[YearFilter]):
    """The loaded years' official days off and make-up working days (or estimates), the
    same for everyone: the planner's calendar."""
    qs = WorkYear.objects.prefetch_related("days").order_by("year")
    if q.year is not None:
        qs = qs.filter(year=q.year)
    return list(qs)
