"""Writes of the scheduling app, grouped by entity; each public function is one transaction.

- calendar: the work calendar (WorkYear, WorkDay)
- obligations: what contracts owe, their stored statuses, cancel or waive
- plan: the year's plan (schedule_generate)
- sessions, records, quarters: the daily work

The protocol of a single change (guard, quarter lock, version, audit) is on the model it
changes (Session.reschedule, Record.submit, RecordCentre.confirm, Obligation.resolve, ...);
these functions lock rows, load inputs, call it and refresh statuses. Reads are in
scheduling.selectors; confirmations_of is also importable from here, where it used to live.
"""

from ..selectors import confirmations_of
from .calendar import work_years_for, workyear_ensure, workyear_load
from .obligations import SyncReport, obligation_resolve, obligations_sync, statuses_refresh
from .plan import ScheduleReport, planner_settings, schedule_generate
from .quarters import quarter_approve, quarter_reopen
from .records import record_confirm, record_save
from .sessions import session_move

__all__ = [
    "ScheduleReport", "SyncReport", "confirmations_of", "obligation_resolve", "obligations_sync",
    "planner_settings", "quarter_approve", "quarter_reopen", "record_confirm", "record_save",
    "schedule_generate", "session_move", "statuses_refresh", "work_years_for", "workyear_ensure",
    "workyear_load",
]
