"""Reads of the scheduling app that cross relations: the contracts a year plans, the
confirmations an obligation counts, a provider's load on a day, the centres of a session.

Each function states its queries; none writes.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Min, Q
from django.utils import timezone

from mch_link.models import Contract, Membership, Role
from mch_link.scoping import region_q

from . import periods
from .models import Confirmation, Obligation, Record, RecordCentre, Session

SIGNED = (Contract.Status.SIGNED, Contract.Status.TERMINATED)


def contracts_of_year(year, region=None):
    """Signed (or since terminated) contracts in force some day of `year`, in `region` if given."""
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    qs = Contract.objects.filter(status__in=SIGNED, valid_from__lte=last, valid_to__gte=first)
    if region is not None:
        qs = qs.filter(region_q(region, "centre__township"))
    return qs


def provider_ids_for(year, region):
    """Providers to plan: those with a contract in the region. A provider is always planned
    whole, so that capacity counts all its sessions. One query."""
    return set(contracts_of_year(year, region).values_list("provider_id", flat=True))


def doctors_by_provider(provider_ids):
    """{provider id: [doctor users by username]}: the order the planner's doctor slots follow."""
    doctors = {}
    for m in Membership.objects.filter(role=Role.DOCTOR, provider__in=provider_ids).select_related("user") \
            .order_by("user__username"):
        doctors.setdefault(m.provider_id, []).append(m.user)
    return doctors


def end_of_day(day):
    """The first instant after local `day` (Asia/Shanghai): what was entered before it was known
    on `day`."""
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min,
                                     tzinfo=timezone.get_current_timezone())


def planned_session_q(as_of=None, prefix=""):
    """Q of the sessions that were planned on `as_of` as far as is known: planned ones, and with
    `as_of`, held ones whose record was submitted after that day (knowledge time: on `as_of`
    the session was still ahead or overdue). `prefix`: the path to the session ("sessions__")."""
    q = Q(**{f"{prefix}status": Session.Status.PLANNED})
    if as_of is not None:
        q |= Q(**{f"{prefix}status": Session.Status.HELD, f"{prefix}record__submitted_at__gte": end_of_day(as_of)})
    return q


def confirmations_of(obligations, as_of=None):
    """{obligation id: confirmed | disputed} of `obligations`: the answer of the obligation's own
    centre (its contract's) to its part (RecordCentre) of a submitted record of one of the
    obligation's sessions; confirmed wins over disputed; obligations without either are left
    out. With `as_of`, an answer stamped (confirmed_at, local date) after that day was not
    known yet. One query, joined from the obligations."""
    found = {}
    rows = obligations.filter(
        sessions__record__status=Record.Status.SUBMITTED,
        sessions__record__centres__confirmation__in=(Confirmation.CONFIRMED, Confirmation.DISPUTED),
        sessions__record__centres__centre_id=F("contract__centre_id"),
    ).order_by().values_list("pk", "sessions__record__centres__confirmation", "sessions__record__centres__confirmed_at")
    for pk, confirmation, confirmed_at in rows:
        if as_of is not None and confirmed_at is not None and timezone.localdate(confirmed_at) > as_of:
            continue
        if found.get(pk) != Confirmation.CONFIRMED:
            found[pk] = confirmation
    return found


def day_load(provider, day, exclude=None):
    """(sessions the provider already has on `day`, not cancelled, its daily capacity). One query."""
    qs = Session.objects.filter(provider=provider, date=day).exclude(status=Session.Status.CANCELLED)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.count(), provider.daily_capacity


def session_centre_ids(session):
    """The ids of the centres `session` serves (a part of its record each). One query."""
    return list(
        Obligation.objects.filter(sessions=session).values_list("contract__centre", flat=True).distinct())


def centre_names(sessions):
    """Set `centre_list` on each of `sessions` (instances; the same session may come twice):
    the centres it serves, by name, each with `pk` and `name`. One query, on the link table,
    however many sessions and lists: what the agenda's cards show of them."""
    by_session = {}
    if sessions:
        rows = Session.obligations.through.objects.filter(session_id__in={s.pk for s in sessions}).values_list(
            "session_id", "obligation__contract__centre_id", "obligation__contract__centre__name")
        for session_id, centre_id, name in rows:
            by_session.setdefault(session_id, {})[centre_id] = CentreName(centre_id, name)
    for s in sessions:
        s.centre_list = sorted(by_session.get(s.pk, {}).values(), key=lambda c: (c.name, c.pk))
    return sessions


@dataclass(frozen=True)
class CentreName:
    pk: int
    name: str


# --------------------------------------------------------------------------- quarter sign-off


def county_obligations(county, period=None):
    """The obligations of the centres of `county` (a Region), of `period` if given."""
    qs = Obligation.objects.filter(region_q(county, "contract__centre__township"))
    return qs.filter(period=period) if period else qs


def plan_starts(county_ids):
    """{county id: the first quarter the plan owes anything there}. One query."""
    return dict(
        Obligation.objects.filter(contract__centre__township__parent__in=list(county_ids), period__contains="Q")
        .order_by().values_list("contract__centre__township__parent").annotate(first=Min("period")))


def quarters_to_approve(first, today):
    """The quarters from `first` (the plan's start; None: none) to the last one that ended by
    `today`, newest first: what a reviewer is offered."""
    if first is None:
        return []
    year, q = periods.parse_period(periods.quarter_of(today))
    index, out = year * 4 + q - 2, []  # the quarter before today's
    while index >= 0 and periods.quarter_code(index // 4, index % 4 + 1) >= first:
        out.append(periods.quarter_code(index // 4, index % 4 + 1))
        index -= 1
    return out


def plan_start_quarter(county):
    """The first quarter the plan owes anything in `county` (its earliest quarterly
    obligation), or None. Quarters before it have nothing to approve. One query."""
    return county_obligations(county).filter(period__contains="Q").aggregate(first=Min("period"))["first"]


def quarter_parts(county, period):
    """The centres' parts (RecordCentre) of the submitted records that an approval of `period`
    in `county` locks: parts of the county's centres whose session was held in the quarter or
    serves one of its obligations; with session, provider and centre loaded."""
    first, last = periods.period_bounds(period)
    serving = Session.obligations.through.objects.filter(
        obligation__in=county_obligations(county, period).values("pk")).values("session_id")
    return (
        RecordCentre.objects.filter(record__status=Record.Status.SUBMITTED)
        .filter(region_q(county, "centre__township"))
        .filter(Q(record__session__date__range=(first, last)) | Q(record__session__in=serving))
        .select_related("centre", "record__session__provider").order_by("record__session__date", "pk")
    )


def quarter_figures(county, period):
    """{kind: {"owed", "done", "on_time", "late", "missed", "confirmed"}} of the county's
    obligations in `period`, from their stored statuses (refreshed nightly and on every
    change), cancelled and waived ones left out. One query."""
    figures = {}
    rows = (county_obligations(county, period).filter(resolution="").order_by()
            .values_list("kind", "status", "confirmation").annotate(n=Count("pk")))
    for kind, status, confirmation, n in rows:
        f = figures.setdefault(kind, {"owed": 0, "done": 0, "on_time": 0, "late": 0, "missed": 0, "confirmed": 0})
        f["owed"] += n
        if status in ("done_on_time", "done_late"):
            f["done"] += n
            f["on_time" if status == "done_on_time" else "late"] += n
            f["confirmed"] += n if confirmation == Confirmation.CONFIRMED else 0
        elif status == "missed":
            f["missed"] += n
    return figures
