"""Writes of obligations: what signed contracts owe, their stored statuses, a manager's
cancel or waive."""

from collections import namedtuple
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from mch_link.audit import audit_change, snapshot
from mch_link.dbstats import analyze_after_bulk_write
from mch_link.locks import lock_provider
from mch_link.models import Contract

from .. import periods
from ..models import Confirmation, Obligation, Session
from ..selectors import confirmations_of, contracts_of_year, planned_session_q, session_centre_ids
from ..status import facts_of, obligation_status
from . import bulk, handovers

# An obligation to create, with its key reserved (obligations_sync(defer_new=True)).
NewObligation = namedtuple("NewObligation", "pk contract_id kind period start end provider_id centre_id township_id")
NEW_FIELDS = ("contract_id", "kind", "period", "start", "end")
# What the sync reads of a contract (one tuple each).
_Contract = namedtuple("_Contract", "pk provider_id centre_id township_id valid_from valid_to terminated_on")


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    cancelled: list = field(default_factory=list)  # (obligation, reason)
    new: list = field(default_factory=list)  # NewObligation, with defer_new: not written yet


def obligations_sync(year, provider_ids=None, *, defer_new=False):
    """Create the obligations signed contracts owe in `year`, fit their windows to the
    contract, and cancel (with the reason) those a terminated contract no longer owes.
    Obligations already done are never cancelled. With `defer_new` the obligations to create
    get their keys (bulk.reserve_ids) and are listed in `report.new` for the caller to write
    (obligations_write_new, with their statuses), not written."""
    report = SyncReport()
    qs = contracts_of_year(year)
    if provider_ids is not None:
        qs = qs.filter(provider__in=provider_ids)
    # tuples, not instances (10,000s of contracts), in the model's order (the new obligations'
    # keys follow it, and the planner's order the keys)
    contracts = [_Contract(*row) for row in qs.values_list(
        "pk", "provider_id", "centre_id", "centre__township_id", "valid_from", "valid_to", "terminated_on")]
    # tuples: a re-sync keeps nearly every row; instances only of those it changes
    existing = {
        (contract_id, kind, period): (pk, start, end, resolution, done_on)
        for pk, contract_id, kind, period, start, end, resolution, done_on in Obligation.objects.of_year(year)
        .filter(contract__in=qs.values("pk")).order_by()
        .values_list("pk", "contract_id", "kind", "period", "start", "end", "resolution", "done_on")
    }
    to_create, to_update = [], {}
    owed_keys = set()
    owed_by_dates = {}  # (valid_from, valid_to, terminated_on) -> [(kind, period, start, end)]: few
    for contract in contracts:
        dates = contract[4:7]
        owed = owed_by_dates.get(dates)
        if owed is None:
            # the one rule of a contract's last day, on an unsaved instance
            span = (contract.valid_from, Contract(valid_to=contract.valid_to,
                                                  terminated_on=contract.terminated_on).last_day_in_force)
            owed = owed_by_dates[dates] = [
                (kind, period, *periods.in_force_window(*span, period))
                for kind, period in periods.owed_periods(*span, year, settings.MIN_DAYS_IN_FORCE_QUARTER,
                                                         settings.MIN_DAYS_IN_FORCE_YEAR)]
        for kind, period, start, end in owed:
            key = (contract.pk, kind, period)
            owed_keys.add(key)
            ob = existing.get(key)
            if ob is None:
                to_create.append((contract, kind, period, start, end))
            elif (ob[1], ob[2]) != (start, end):
                to_update[ob[0]] = (start, end)
    if defer_new:
        keys = bulk.reserve_ids(Obligation, len(to_create))
        report.new = [NewObligation(pk, c.pk, kind, period, start, end, c.provider_id, c.centre_id, c.township_id)
                      for pk, (c, kind, period, start, end) in zip(keys, to_create, strict=True)]
    else:
        bulk.insert(Obligation, NEW_FIELDS, ((c.pk, *rest) for c, *rest in to_create))
    if to_update:
        changed = _instances(to_update)
        for ob in changed:
            ob.start, ob.end = to_update[ob.pk]
        Obligation.objects.bulk_update(changed, ["start", "end"], batch_size=1000)
    report.created, report.updated = len(to_create), len(to_update)
    by_pk = {c.pk: c for c in contracts}
    gone = [ob[0] for key, ob in existing.items() if key not in owed_keys and not ob[3] and not ob[4]]
    for ob in _instances(gone):
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


def obligations_write_new(new, planned_on, today):
    """Write the NewObligation rows `new` (obligations_sync(defer_new=True)) with their stored
    status as of `today` (statuses_refresh would give the same: nothing done, no record,
    `planned_on` {obligation id: its earliest planned session day})."""
    statuses = {}  # (period, planned_on) -> status: a few hundred pairs for a year

    def status(period, planned):
        found = statuses.get((period, planned))
        if found is None:
            found = statuses[(period, planned)] = obligation_status(
                facts_of(period, "", None, planned), today, settings.GRACE_DAYS)
        return found

    bulk.insert(Obligation, (*NEW_FIELDS, "status", "status_on", "confirmation"), (
        (o.contract_id, o.kind, o.period, o.start, o.end, status(o.period, planned_on.get(o.pk)), today,
         Confirmation.UNCONFIRMED)
        for o in new), ids=[o.pk for o in new])


def _instances(pks):
    """The obligations of `pks`, in the model's order, read in chunks of UPDATE_CHUNK ids."""
    pks = sorted(pks)
    found = []
    for i in range(0, len(pks), UPDATE_CHUNK):
        found += Obligation.objects.filter(pk__in=pks[i:i + UPDATE_CHUNK])
    found.sort(key=lambda o: (o.period, o.kind, o.contract_id))
    return found


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
