"""Writes of the scheduling app: the work calendar, obligations from contracts, the plan.

The rules live in pure modules (periods, workdays, status, planner); these functions load
their inputs, call them and save the result, each in one transaction.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from mch_link.audit import audit_change, snapshot
from mch_link.models import Contract, Membership, Provider, Role
from mch_link.scoping import region_q

from . import periods, planner, replan, workdays
from .models import CentreClosure, Confirmation, DoctorLeave, Obligation, Record, Session, WorkDay, WorkYear
from .status import facts_of, obligation_status

SIGNED = (Contract.Status.SIGNED, Contract.Status.TERMINATED)


# --------------------------------------------------------------------------- work calendar


def workyear_ensure(year):
    """The year's WorkYear row, created from the chinese-calendar package when it knows the
    year, else as an estimate (workdays.estimated_year)."""
    row = WorkYear.objects.filter(year=year).first()
    if row is not None:
        return row
    data = workdays.from_chinese_calendar(year) or workdays.estimated_year(year)
    return _workyear_save(data)


@transaction.atomic
def _workyear_save(data):
    row, _created = WorkYear.objects.update_or_create(
        year=data.year, defaults={"estimated": data.estimated, "source": data.source[:300]})
    row.days.all().delete()
    WorkDay.objects.bulk_create(
        [WorkDay(year=row, date=d, is_off=True) for d in sorted(data.days_off)]
        + [WorkDay(year=row, date=d, is_off=False) for d in sorted(data.makeup_days)]
    )
    return row


def workyear_load(data):
    """Load a year in the holiday-cn format (official), replacing what was there. Raises
    ValueError naming the bad entry. The caller re-plans the year (jobs.replan_year)."""
    parsed = workdays.parse_holiday_cn(data)
    parsed = workdays.WorkYear(year=parsed.year, days_off=parsed.days_off, makeup_days=parsed.makeup_days,
                               estimated=False, source=parsed.source)
    return _workyear_save(parsed)


def work_years_for(years):
    """{year: workdays.WorkYear} for the planner, creating missing rows first."""
    result = {}
    for year in sorted(set(years)):
        row = workyear_ensure(year)
        days = list(row.days.values_list("date", "is_off"))
        result[year] = workdays.WorkYear(
            year=year, days_off=frozenset(d for d, off in days if off),
            makeup_days=frozenset(d for d, off in days if not off), estimated=row.estimated, source=row.source)
    return result


# --------------------------------------------------------------------------- obligations


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    cancelled: list = field(default_factory=list)  # (obligation, reason)


def _contracts_of_year(year, region=None):
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    qs = Contract.objects.filter(status__in=SIGNED, valid_from__lte=last, valid_to__gte=first)
    if region is not None:
        qs = qs.filter(region_q(region, "centre__township"))
    return qs


def obligations_sync(year, provider_ids=None):
    """Create the obligations signed contracts owe in `year`, fit their windows to the
    contract, and cancel (with the reason) those a terminated contract no longer owes.
    Obligations already done are never cancelled."""
    report = SyncReport()
    qs = _contracts_of_year(year)
    if provider_ids is not None:
        qs = qs.filter(provider__in=provider_ids)
    contracts = list(qs)
    existing = {
        (o.contract_id, o.kind, o.period): o
        for o in Obligation.objects.of_year(year).filter(contract__in=qs.values("pk"))
    }
    to_create, to_update = [], []
    owed_keys = set()
    for contract in contracts:
        last_day = contract.last_day_in_force
        for kind, period in periods.owed_periods(
            contract.valid_from, last_day, year,
            settings.MIN_DAYS_IN_FORCE_QUARTER, settings.MIN_DAYS_IN_FORCE_YEAR,
        ):
            start, end = periods.in_force_window(contract.valid_from, last_day, period)
            key = (contract.pk, kind, period)
            owed_keys.add(key)
            ob = existing.get(key)
            if ob is None:
                to_create.append(Obligation(contract=contract, kind=kind, period=period, start=start, end=end))
            elif (ob.start, ob.end) != (start, end):
                ob.start, ob.end = start, end
                to_update.append(ob)
    Obligation.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        Obligation.objects.bulk_update(to_update, ["start", "end"], batch_size=1000)
    report.created, report.updated = len(to_create), len(to_update)
    by_pk = {c.pk: c for c in contracts}
    for key, ob in existing.items():
        if key in owed_keys or ob.resolution or ob.done_on:
            continue
        contract = by_pk[ob.contract_id]
        if contract.terminated_on:
            reason = f"协议已于 {contract.terminated_on:%Y-%m-%d} 终止"
        else:
            reason = "协议在该周期内有效天数不足"
        before = snapshot(ob)
        ob.resolution, ob.resolution_reason = Obligation.Resolution.CANCELLED, reason
        ob.save(update_fields=["resolution", "resolution_reason"])
        audit_change(ob, user=None, action="cancel", before=before, reason=reason)
        report.cancelled.append((ob, reason))
    return report


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


def statuses_refresh(today, obligations=None):
    """Recompute the stored status of `obligations` (default: all) as of `today` with the one
    status function, and their stored confirmation (confirmations_of). Two reads, then one
    UPDATE per (status, confirmation) and chunk of changed rows (a bulk_update of 100,000 rows
    builds huge CASE expressions and is 20 times slower)."""
    obligations = obligations if obligations is not None else Obligation.objects.all()
    confirmed = confirmations_of(obligations, as_of=today)
    qs = obligations.annotate(
        planned_on=Min("sessions__date", filter=Q(sessions__status=Session.Status.PLANNED)))
    changed = {}
    for pk, period, resolution, done_on, status, status_on, confirmation, planned_on in qs.values_list(
        "pk", "period", "resolution", "done_on", "status", "status_on", "confirmation", "planned_on"
    ):
        new = obligation_status(facts_of(period, resolution, done_on, planned_on), today, settings.GRACE_DAYS)
        new_confirmation = confirmed.get(pk, Confirmation.UNCONFIRMED)
        if new != status or new_confirmation != confirmation or status_on != today:
            changed.setdefault((new, new_confirmation), []).append(pk)
    for (new, new_confirmation), pks in changed.items():
        for i in range(0, len(pks), UPDATE_CHUNK):
            Obligation.objects.filter(pk__in=pks[i:i + UPDATE_CHUNK]).update(
                status=new, confirmation=new_confirmation, status_on=today)
    return sum(len(pks) for pks in changed.values())


UPDATE_CHUNK = 900  # ids per UPDATE: under SQLite's parameter limits everywhere


# --------------------------------------------------------------------------- the plan


def planner_settings():
    return planner.PlannerSettings(
        per_doctor_per_day=settings.SESSIONS_PER_DOCTOR_PER_DAY,
        buffer_working_days=settings.BUFFER_WORKING_DAYS,
        group_size=settings.TRAINING_GROUP_SIZE,
        group_parent_lectures=settings.GROUP_PARENT_LECTURES,
    )


@dataclass
class ScheduleReport:
    year: int
    estimated: bool
    obligations_created: int = 0
    obligations_cancelled: list = field(default_factory=list)  # (obligation str, reason)
    created: int = 0
    kept: int = 0
    moved: list = field(default_factory=list)  # (session id, from day, to day, reason)
    cancelled: list = field(default_factory=list)  # (session id, day, reason)
    warnings: list = field(default_factory=list)
    needs_decision: list = field(default_factory=list)  # (session id, day, reason): pinned, on a day off

    def lines(self):
        out = [
            f"{self.year} 年排期{'（估计：尚无国务院放假通知，按法定节假日推算）' if self.estimated else ''}",
            f"新建服务义务 obligations created: {self.obligations_created}",
            f"取消服务义务 obligations cancelled: {len(self.obligations_cancelled)}",
        ]
        out += [f"  {name}：{reason}" for name, reason in self.obligations_cancelled]
        out += [
            f"新建场次 sessions created: {self.created}",
            f"保持不变 kept: {self.kept}",
            f"改期 moved: {len(self.moved)}",
        ]
        out += [f"  #{sid} {old} → {new}：{reason}" for sid, old, new, reason in self.moved]
        out.append(f"取消场次 cancelled: {len(self.cancelled)}")
        out += [f"  #{sid} {day}：{reason}" for sid, day, reason in self.cancelled]
        if self.needs_decision:
            out.append(f"需要决定 needs a decision: {len(self.needs_decision)}")
            out += [f"  #{sid} {day}：{reason}" for sid, day, reason in self.needs_decision]
        if self.estimated:
            out.append("警告 warning: 该年度尚无官方节假日数据，所有场次标记为“估计”，载入通知后将重新排期")
        out += [f"警告 warning: {w}" for w in self.warnings]
        return out


def _provider_ids_for(year, region):
    """Providers to plan: those with a contract in the region. A provider is always planned
    whole, so that capacity counts all its sessions."""
    return set(_contracts_of_year(year, region).values_list("provider_id", flat=True))


def _doctors_by_provider(provider_ids):
    doctors = {}
    for m in Membership.objects.filter(role=Role.DOCTOR, provider__in=provider_ids).select_related("user") \
            .order_by("user__username"):
        doctors.setdefault(m.provider_id, []).append(m.user)
    return doctors


def schedule_generate(*, year, today, region=None, provider=None, dry_run=False, user=None):
    """Sync the year's obligations and plan its sessions. Deterministic and idempotent: a
    second run creates, moves and cancels nothing. Returns a ScheduleReport."""
    with transaction.atomic():
        report = _schedule_generate(year=year, today=today, region=region, provider=provider, user=user)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _schedule_generate(*, year, today, region, provider, user):
    work_years = work_years_for([year])
    report = ScheduleReport(year=year, estimated=work_years[year].estimated)
    provider_ids = _provider_ids_for(year, region)
    if provider is not None:
        provider_ids &= {provider.pk}
    sync = obligations_sync(year, provider_ids=provider_ids)
    report.obligations_created = sync.created
    report.obligations_cancelled = [(str(o), r) for o, r in sync.cancelled]

    obligations = list(
        Obligation.objects.of_year(year).filter(contract__provider__in=provider_ids)
        .values("pk", "kind", "period", "start", "end", "resolution", "done_on",
                "contract__provider_id", "contract__centre_id", "contract__centre__township_id")
    )
    active = [o for o in obligations if not o["resolution"]]
    cancelled_ids = frozenset(o["pk"] for o in obligations if o["resolution"])
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    session_qs = Session.objects.filter(provider__in=provider_ids, date__range=(first, last)).exclude(
        status=Session.Status.CANCELLED)
    sessions = list(session_qs)
    # One query on the link table, not prefetch_related: SQLite refuses the OR-chain a
    # prefetch of more than ~1,000 contracts builds ("Expression tree is too large").
    links = {}
    for session_id, obligation_id, centre_id in Session.obligations.through.objects.filter(
        session__in=session_qs.values("pk")
    ).values_list("session_id", "obligation_id", "obligation__contract__centre_id"):
        links.setdefault(session_id, []).append((obligation_id, centre_id))
    existing = [
        planner.ExistingSession(
            id=s.pk, provider_id=s.provider_id, kind=s.kind, day=s.date, start=s.start, end=s.end,
            obligation_ids=tuple(sorted(o for o, _c in links.get(s.pk, ()))),
            centre_ids=tuple(sorted({c for _o, c in links.get(s.pk, ())})),
            doctor_slot=s.doctor_slot, pinned=s.pinned or s.status == Session.Status.HELD,
        )
        for s in sessions
    ]
    closures = {}
    for centre_id, day in CentreClosure.objects.filter(
        centre__contracts__provider__in=provider_ids, date__range=(first, last)
    ).values_list("centre_id", "date").distinct():
        closures.setdefault(centre_id, set()).add(day)
    leave = {}
    for provider_id, day in DoctorLeave.objects.filter(provider__in=provider_ids, date__range=(first, last)) \
            .values_list("provider_id", "date"):
        leave.setdefault(provider_id, {}).setdefault(day, 0)
        leave[provider_id][day] += 1
    doctors = dict(Provider.objects.filter(pk__in=provider_ids).values_list("pk", "doctors"))
    inp = planner.PlannerInput(
        obligations=[
            planner.ObligationIn(
                id=o["pk"], provider_id=o["contract__provider_id"], centre_id=o["contract__centre_id"],
                township_id=o["contract__centre__township_id"], kind=o["kind"], period=o["period"],
                start=o["start"], end=o["end"],
            )
            for o in active
        ],
        sessions=existing,
        work_years=work_years,
        closures={k: frozenset(v) for k, v in closures.items()},
        doctors={k: max(v, 1) for k, v in doctors.items()},
        leave=leave,
        cancelled_obligation_ids=cancelled_ids,
        today=today,
    )
    plan = planner.plan(inp, planner_settings())
    _apply(plan, sessions, provider_ids, work_years, user, report)
    statuses_refresh(today, Obligation.objects.of_year(year).filter(contract__provider__in=provider_ids))
    return report


def _apply(plan, sessions, provider_ids, work_years, user, report):
    doctors = _doctors_by_provider(provider_ids)

    def doctor_for(provider_id, slot):
        people = doctors.get(provider_id, [])
        return people[slot] if slot is not None and slot < len(people) else None

    new = [
        Session(provider_id=n.provider_id, kind=n.kind, date=n.day, start=n.start, end=n.end,
                doctor_slot=n.doctor_slot, doctor=doctor_for(n.provider_id, n.doctor_slot), estimated=n.estimated)
        for n in plan.create
    ]
    Session.objects.bulk_create(new, batch_size=1000)
    if new and new[0].pk is None:  # backends that do not return keys: read them back by uid
        by_uid = dict(Session.objects.filter(uid__in=[s.uid for s in new]).values_list("uid", "pk"))
        for s in new:
            s.pk = s.id = by_uid[s.uid]
    Through = Session.obligations.through
    Through.objects.bulk_create(
        [Through(session_id=s.pk, obligation_id=oid) for s, n in zip(new, plan.create, strict=True)
         for oid in n.obligation_ids],
        batch_size=2000,
    )
    report.created = len(new)
    report.kept = len(plan.keep)
    by_pk = {s.pk: s for s in sessions}
    # A kept session whose year's calendar turned official (or back) is no longer estimated.
    official = {y for y, wy in work_years.items() if not wy.estimated}
    relabel = [by_pk[pk] for pk in plan.keep if by_pk[pk].estimated == (by_pk[pk].date.year in official)]
    for s in relabel:
        s.estimated = s.date.year not in official
    Session.objects.bulk_update(relabel, ["estimated"], batch_size=1000)
    for move in plan.move:
        s = by_pk[move.session_id]
        before = snapshot(s)
        old_day = s.date
        s.date, s.start, s.end, s.doctor_slot = move.day, move.start, move.end, move.doctor_slot
        s.doctor = doctor_for(s.provider_id, move.doctor_slot)
        s.estimated, s.change_reason = move.estimated, move.reason[:200]
        s.sequence += 1
        s.version += 1
        s.save()
        audit_change(s, user=user, action="move", before=before, reason=move.reason)
        report.moved.append((s.pk, old_day, move.day, move.reason))
    for cancel in plan.cancel:
        s = by_pk[cancel.session_id]
        before = snapshot(s)
        s.status, s.change_reason = Session.Status.CANCELLED, cancel.reason[:200]
        s.sequence += 1
        s.version += 1
        s.save()
        audit_change(s, user=user, action="cancel", before=before, reason=cancel.reason)
        report.cancelled.append((s.pk, s.date, cancel.reason))
    report.warnings.extend(plan.warnings)
    replan.decisions_apply(plan, by_pk, report)
