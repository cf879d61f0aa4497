"""Writes of obligations: what signed contracts owe, their stored statuses, a manager's
cancel or waive."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from mch_link.audit import audit_change, snapshot
from mch_link.locks import lock_provider

from .. import periods
from ..models import Confirmation, Obligation, Session
from ..selectors import confirmations_of, contracts_of_year, planned_session_q, session_centre_ids
from ..status import facts_of, obligation_status
from . import handovers


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    cancelled: list = field(default_factory=list)  # (obligation, reason)


def obligations_sync(year, provider_ids=None):
    """Create the obligations signed contracts owe in `year`, fit their windows to the
    contract, and cancel (with the reason) those a terminated contract no longer owes.
    Obligations already done are never cancelled."""
    report = SyncReport()
    qs = contracts_of_year(year)
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
        ob.resolved_at = timezone.now()
        ob.save(update_fields=["resolution", "resolution_reason", "resolved_at"])
        audit_change(ob, user=None, action="cancel", before=before, reason=reason)
        report.cancelled.append((ob, reason))
    return report


def statuses_refresh(today, obligations=None):
    """Recompute the stored status of `obligations` (default: all) as of `today` with the one
    status function, and their stored confirmation (confirmations_of). Two reads, then one
    UPDATE per (status, confirmation) and chunk of changed rows (a bulk_update of 100,000 rows
    builds huge CASE expressions and is 20 times slower)."""
    obligations = obligations if obligations is not None else Obligation.objects.all()
    confirmed = confirmations_of(obligations, as_of=today)
    qs = obligations.annotate(
        planned_on=Min("sessions__date", filter=planned_session_q(today, "sessions__")))
    changed = {}
    for pk, period, resolution, done_on, status, status_on, confirmation, planned_on, known_on, resolved_at in \
            qs.values_list("pk", "period", "resolution", "done_on", "status", "status_on", "confirmation",
                           "planned_on", "done_known_on", "resolved_at"):
        resolved_on = timezone.localdate(resolved_at) if resolved_at else None  # knowledge time
        new = obligation_status(facts_of(period, resolution, done_on, planned_on, known_on, resolved_on), today,
                                settings.GRACE_DAYS)
        new_confirmation = confirmed.get(pk, Confirmation.UNCONFIRMED)
        if new != status or new_confirmation != confirmation or status_on != today:
            changed.setdefault((new, new_confirmation), []).append(pk)
    for (new, new_confirmation), pks in changed.items():
        for i in range(0, len(pks), UPDATE_CHUNK):
            Obligation.objects.filter(pk__in=pks[i:i + UPDATE_CHUNK]).update(
                status=new, confirmation=new_confirmation, status_on=today)
    n = sum(len(pks) for pks in changed.values())
    analyze_after_bulk_write(n, Obligation)
    return n


UPDATE_CHUNK = 900  # ids per UPDATE: under SQLite's parameter limits everywhere
BULK_ROWS = 1000  # rows written from which the planner's statistics are refreshed (PostgreSQL)


def analyze_after_bulk_write(rows, *models):
    """ANALYZE the tables of `models` once the transaction commits, on PostgreSQL, when `rows`
    (the rows just written) is a bulk write: the reports' plans then see the new rows at once
    instead of at autovacuum's next pass (a report on stale statistics took 20 times longer).
    Outside the transaction: its lock is not held while the write's transaction runs on."""
    if rows >= BULK_ROWS and connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        transaction.on_commit(lambda: connection.cursor().execute(f"ANALYZE {tables}"))


@transaction.atomic
def obligation_resolve(*, obligation, user, resolution, reason):
    """A manager cancels or waives an obligation, with the reason (Obligation.resolve);
    its statuses are refreshed. Locks in the one order (scheduling.locks): the provider
    (shared), the obligation's sessions, then the obligation."""
    lock_provider(obligation.contract.provider_id, shared=True)
    planned = [s.pk for s in Session.objects.select_for_update().filter(obligations=obligation).order_by("pk")
               if s.status == Session.Status.PLANNED]
    obligation = Obligation.objects.select_for_update().get(pk=obligation.pk)
    obligation.resolve(resolution, by=user, reason=reason)
    for session in Session.objects.filter(pk__in=planned, status=Session.Status.CANCELLED).select_related("provider"):
        handovers.session_changed(session, session_centre_ids(session), by=user)
    statuses_refresh(timezone.localdate(), Obligation.objects.filter(pk=obligation.pk))
    return obligation
