"""What each role must act on, as the home page lists it: counts with a link to where the
work is done. Reads only; a fixed number of queries per role, whatever the number of rows.

- doctor and manager: records to write (overdue, due today), disputes to answer, sessions
  this week; a manager also unplanned obligations, over-capacity days, contracts to renew
- centre staff: records to confirm, upcoming sessions
- county reviewer: the quarters ready to approve, each with its open disputes and records
  still unconfirmed
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q
from django.urls import reverse

from mch_link.models import Contract, Role
from mch_link.permissions import own_role
from mch_link.scoping import membership_of, region_q, scoped

from . import periods
from .feeds import doctor_sessions_q, sessions_serving
from .models import Confirmation, Obligation, QuarterApproval, Record, RecordCentre, Session
from .selectors import plan_starts, quarters_to_approve

UPCOMING_DAYS = 14  # a centre's "upcoming sessions": the next two weeks
RENEW_WITHIN_DAYS = 60  # a manager's "contracts to renew": ending within two months, not renewed


@dataclass
class Todo:
    label: str
    count: int | None  # None: an item to open, not counted (a quarter to approve)
    url: str
    urgent: bool = False  # shown as a warning when count > 0
    detail: str = ""


def todo_for(user, today):
    """The to-do of `user` (its own membership's role) as of `today`: a list of Todo."""
    role = own_role(user)
    if role in (Role.DOCTOR, Role.PROVIDER_MANAGER):
        return _provider_todo(user, today, manager=role == Role.PROVIDER_MANAGER)
    if role == Role.CENTRE_STAFF:
        return _centre_todo(user, today)
    if role == Role.COUNTY_REVIEWER:
        return _reviewer_todo(user, today)
    return []


def _provider_todo(user, today, *, manager):
    """Three queries (sessions, disputes, plus the membership), and three more for a manager."""
    m = membership_of(user)
    monday = today - datetime.timedelta(days=today.weekday())
    sessions = scoped(user, Session).exclude(status=Session.Status.CANCELLED)
    if not manager:
        sessions = sessions.filter(doctor_sessions_q(user, m.provider_id))
    planned = Q(status=Session.Status.PLANNED)
    counts = sessions.aggregate(
        overdue=Count("pk", filter=planned & Q(date__lt=today)),
        due_today=Count("pk", filter=planned & Q(date=today)),
        week=Count("pk", filter=Q(date__range=(monday, monday + datetime.timedelta(days=6)))),
    )
    disputes = RecordCentre.objects.filter(
        confirmation=Confirmation.DISPUTED, record__status=Record.Status.SUBMITTED,
        record__session__in=sessions.values("pk")).count()
    agenda = reverse("scheduling:agenda")
    items = [
        Todo("逾期未记录的服务", counts["overdue"], agenda + "#overdue", urgent=True),
        Todo("今天的服务（待记录）", counts["due_today"], agenda + "#today", urgent=True),
        Todo("托育机构异议待处理", disputes, agenda + "#disputed", urgent=True),
        Todo("本周服务", counts["week"],
             reverse("calendar:provider_month" if manager else "calendar:doctor_week")),
    ]
    if manager:
        items += _manager_todo(m.provider, today)
    return items


def _manager_todo(provider, today):
    unplanned = Obligation.objects.filter(
        contract__provider=provider, status="unplanned", resolution="", end__gte=today).count()
    over_days = (
        Session.objects.filter(provider=provider, date__gte=today).exclude(status=Session.Status.CANCELLED)
        .order_by().values("date").annotate(n=Count("pk")).filter(n__gt=provider.daily_capacity).count()
    )
    renew = Contract.objects.filter(
        provider=provider, status=Contract.Status.SIGNED, renewal__isnull=True,
        valid_to__range=(today, today + datetime.timedelta(days=RENEW_WITHIN_DAYS))).count()
    quarter = periods.quarter_of(today)
    return [
        Todo("尚未排期的服务义务", unplanned, reverse("scheduling:provider_plan") + f"?quarter={quarter}",
             urgent=True),
        Todo("超出接待能力的日子", over_days, reverse("calendar:provider_month"), urgent=True),
        Todo(f"{RENEW_WITHIN_DAYS} 天内到期待续签的协议", renew, reverse("mch_link:contract_list"), urgent=True),
    ]


def _centre_todo(user, today):
    """Four queries: the membership with its centre, the county's approvals, the parts to
    confirm, the upcoming sessions."""
    m = membership_of(user)
    centre = m.centre
    approved = QuarterApproval.objects.filter(
        county=centre.township.parent_id, status=QuarterApproval.Status.APPROVED).values_list("period", flat=True)
    locked = Q(pk__in=[])
    for period in approved:
        locked |= Q(record__session__date__range=periods.period_bounds(period))
    pending = scoped(user, RecordCentre).filter(
        confirmation=Confirmation.UNCONFIRMED, record__status=Record.Status.SUBMITTED).exclude(locked).count()
    upcoming = scoped(user, Session).filter(
        sessions_serving(centre), status=Session.Status.PLANNED,
        date__range=(today, today + datetime.timedelta(days=UPCOMING_DAYS))).count()
    return [
        Todo("服务记录待确认", pending, reverse("scheduling:centre_records") + "?show=pending", urgent=True),
        Todo(f"未来 {UPCOMING_DAYS} 天的服务", upcoming, reverse("calendar:centre_month")),
    ]


def _reviewer_todo(user, today):
    """Four queries: the membership, the plan's start, the approvals, the open parts."""
    county = membership_of(user).region
    offered = quarters_to_approve(plan_starts([county.pk]).get(county.pk), today)
    approved = set(QuarterApproval.objects.filter(
        county=county, status=QuarterApproval.Status.APPROVED).values_list("period", flat=True))
    ready = [p for p in offered if p not in approved]
    if not ready:
        return [Todo("待审核的季度", 0, reverse("scheduling:quarters"))]
    first = periods.period_bounds(ready[-1])[0]
    open_items = {}
    for confirmation, day in RecordCentre.objects.filter(
            region_q(county, "centre__township"), record__status=Record.Status.SUBMITTED,
            confirmation__in=(Confirmation.UNCONFIRMED, Confirmation.DISPUTED),
            record__session__date__gte=first).values_list("confirmation", "record__session__date"):
        counts = open_items.setdefault(periods.quarter_of(day), {Confirmation.UNCONFIRMED: 0,
                                                                 Confirmation.DISPUTED: 0})
        counts[confirmation] += 1
    items = []
    for period in ready:
        counts = open_items.get(period, {})
        disputed, unconfirmed = counts.get(Confirmation.DISPUTED, 0), counts.get(Confirmation.UNCONFIRMED, 0)
        items.append(Todo(
            f"{period} 待审核", None, reverse("scheduling:quarter_review", args=[county.code, period]),
            urgent=bool(disputed), detail=f"异议 {disputed} 条 · 待确认 {unconfirmed} 条"))
    return items
