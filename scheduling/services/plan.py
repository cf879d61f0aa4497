"""Writes of the plan: sync the year's obligations, plan its sessions, apply the plan.

The rules live in pure modules (periods, workdays, status, planner); these functions load
their inputs, call them and save the result, in one transaction.
"""

import datetime
from collections import namedtuple
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mch_link.dbstats import analyze_after_bulk_write
from mch_link.locks import lock_providers
from mch_link.models import Membership, Provider, Role

from .. import planner, replan
from ..models import CentreClosure, DoctorLeave, Obligation, Session
from ..selectors import doctors_by_provider, provider_ids_for
from . import bulk
from .calendar import work_years_for
from .obligations import (
    UPDATE_CHUNK,
    obligations_sync,
    obligations_write_new,
    statuses_refresh,
)

# What the plan reads of a stored session (one tuple each).
_Stored = namedtuple("_Stored", "pk provider_id kind date start end doctor_slot pinned status estimated "
                                "needs_decision_on")


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


def schedule_generate(*, year, today, region=None, provider=None, dry_run=False, user=None):
    """Sync the year's obligations and plan its sessions. Deterministic and idempotent: a
    second run creates, moves and cancels nothing. Returns a ScheduleReport."""
    with bulk.collector_paused(), transaction.atomic():
        report = _schedule_generate(year=year, today=today, region=region, provider=provider, user=user)
        if dry_run:
            transaction.set_rollback(True)
    return report


def _schedule_generate(*, year, today, region, provider, user):
    work_years = work_years_for([year])
    report = ScheduleReport(year=year, estimated=work_years[year].estimated)
    provider_ids = provider_ids_for(year, region)
    if provider is not None:
        provider_ids &= {provider.pk}
    # single-flight: a second plan of these providers waits here, then reads this one's sessions
    lock_providers(provider_ids)
    # the obligations to create are written with the sessions, their statuses known (_apply)
    sync = obligations_sync(year, provider_ids=provider_ids, defer_new=True)
    report.obligations_created = sync.created
    report.obligations_cancelled = [(str(o), r) for o, r in sync.cancelled]

    # tuples in planner.ObligationIn's order, then the resolution
    obligations = list(
        Obligation.objects.of_year(year).filter(contract__provider__in=provider_ids)
        .values_list("pk", "contract__provider_id", "contract__centre_id", "contract__centre__township_id",
                     "kind", "period", "start", "end", "resolution")
    )
    active = [planner.ObligationIn(*o[:-1]) for o in obligations if not o[-1]]
    cancelled_ids = frozenset(o[0] for o in obligations if o[-1])
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    session_qs = Session.objects.filter(provider__in=provider_ids, date__range=(first, last)).exclude(
        status=Session.Status.CANCELLED)
    # tuples, not instances: a re-plan keeps nearly all of them; the few it changes are loaded
    # in _apply
    sessions = {row[0]: _Stored(*row) for row in session_qs.order_by().values_list(*_Stored._fields)}
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
        for s in sessions.values()
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
        obligations=active + [
            # positionally (planner.ObligationIn): id, provider, centre, township, kind, period, start, end
            planner.ObligationIn(o.pk, o.provider_id, o.centre_id, o.township_id, o.kind, o.period, o.start, o.end)
            for o in sync.new
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
    _apply(plan, sessions, sync.new, provider_ids, work_years, today, user, report)
    stored = Obligation.objects.of_year(year).filter(contract__provider__in=provider_ids)
    if sync.new:  # written with their statuses; their keys are above every other one's
        stored = stored.filter(pk__lt=sync.new[0].pk)
    statuses_refresh(today, stored)
    analyze_after_bulk_write(report.created + len(sync.new), Session, Session.obligations.through, Obligation)
    return report


# The columns of a new session the plan sets (the rest: the model's defaults).
NEW_SESSION_FIELDS = ("provider_id", "kind", "date", "start", "end", "doctor_slot", "doctor_id", "estimated")


def _apply(plan, sessions, new_obligations, provider_ids, work_years, today, user, report):
    # The doctor of each slot: ids for the new sessions, instances (Session.change) for the moved
    doctor_ids = {}
    for provider_id, user_id in Membership.objects.filter(role=Role.DOCTOR, provider__in=provider_ids) \
            .order_by("user__username").values_list("provider_id", "user_id"):
        doctor_ids.setdefault(provider_id, []).append(user_id)
    doctors = doctors_by_provider({sessions[m.session_id].provider_id for m in plan.move}) if plan.move else {}

    def slot_of(people, slot):
        return people[slot] if slot is not None and slot < len(people) else None

    def doctor_for(provider_id, slot):
        return slot_of(doctors.get(provider_id, []), slot)

    # A kept session whose year's calendar turned official (or back) is no longer estimated.
    official = {y for y, wy in work_years.items() if not wy.estimated}
    relabel = {}
    for pk in plan.keep:
        s = sessions[pk]
        if s.estimated == (s.date.year in official):
            relabel.setdefault(s.date.year not in official, []).append(pk)
    # Instances only of the sessions that change one by one (audited, SEQUENCE raised)
    by_pk = Session.objects.in_bulk([c.session_id for c in plan.cancel] + [m.session_id for m in plan.move]
                                    + [d.session_id for d in plan.decisions])
    # cancels first: their links stop being live before new sessions link the same obligations
    for cancel in plan.cancel:
        s = by_pk[cancel.session_id]
        # Session.change, not Session.cancel: the planner's decisions carry their own rules
        # and, as before this split, no by-hand guard or lock check
        s.change(by=user, action="cancel", reason=cancel.reason, status=Session.Status.CANCELLED,
                 change_reason=cancel.reason[:200])
        report.cancelled.append((s.pk, s.date, cancel.reason))
    planned_on = {}
    for n in plan.create:
        for oid in n.obligation_ids:
            if planned_on.get(oid, n.day) >= n.day:
                planned_on[oid] = n.day
    obligations_write_new(new_obligations, planned_on, today)
    ids = bulk.reserve_ids(Session, len(plan.create))
    bulk.insert(Session, NEW_SESSION_FIELDS, (
        (n.provider_id, n.kind, n.day, n.start, n.end, n.doctor_slot,
         slot_of(doctor_ids.get(n.provider_id, []), n.doctor_slot), n.estimated)
        for n in plan.create), ids=ids)
    bulk.insert(Session.obligations.through, ("session_id", "obligation_id"), (
        (pk, oid) for pk, n in zip(ids, plan.create, strict=True) for oid in n.obligation_ids),
        batch_size=2000)
    report.created = len(ids)
    report.kept = len(plan.keep)
    for estimated, pks in relabel.items():
        # updated_at too: a feed shows whether a date is estimated (feeds.py's fingerprint)
        for i in range(0, len(pks), UPDATE_CHUNK):
            Session.objects.filter(pk__in=pks[i:i + UPDATE_CHUNK]).update(
                estimated=estimated, updated_at=timezone.now())
    for move in plan.move:
        s = by_pk[move.session_id]
        old_day = s.date
        s.change(by=user, action="move", reason=move.reason, date=move.day, start=move.start, end=move.end,
                 doctor_slot=move.doctor_slot, doctor=doctor_for(s.provider_id, move.doctor_slot),
                 estimated=move.estimated, change_reason=move.reason[:200])
        report.moved.append((s.pk, old_day, move.day, move.reason))
    report.warnings.extend(plan.warnings)
    replan.decisions_apply(plan, {pk: sessions[pk].needs_decision_on for pk in plan.keep}, by_pk, report)
