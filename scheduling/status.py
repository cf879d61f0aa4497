"""An obligation's status at a date: the one place it is computed, from dates alone.

Pure: dataclasses and dates in, a status code out; `today` is always passed in. Confirmation by
the centre (unconfirmed / confirmed / disputed) is a separate dimension and is not decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .periods import period_bounds

CANCELLED = "cancelled"
WAIVED = "waived"
DONE_ON_TIME = "done_on_time"
DONE_LATE = "done_late"
MISSED = "missed"
OVERDUE = "overdue"
PLANNED = "planned"
UNPLANNED = "unplanned"

STATUSES = (CANCELLED, WAIVED, DONE_ON_TIME, DONE_LATE, MISSED, OVERDUE, PLANNED, UNPLANNED)

STATUS_LABELS = {
    CANCELLED: "已取消",
    WAIVED: "已豁免",
    DONE_ON_TIME: "按时完成",
    DONE_LATE: "延期完成",
    MISSED: "未完成",
    OVERDUE: "逾期未开展",
    PLANNED: "已排期",
    UNPLANNED: "未排期",
}


@dataclass(frozen=True)
class ObligationFacts:
    """The dates an obligation's status is derived from.

    `done_on`: the date of the held session's record, if any. `planned_on`: the date of the next
    planned session, if any. Days are local dates (Asia/Shanghai), inclusive.

    Knowledge time: `done_known_on` is the day the record was entered (submitted), and
    `resolved_on` the day the cancellation or waiver was entered; a fact entered after the day
    asked about was not known then. None: known since ever (entered before this was kept).
    """

    period_start: date
    period_end: date
    cancelled: bool = False
    waived: bool = False
    done_on: date | None = None
    planned_on: date | None = None
    done_known_on: date | None = None
    resolved_on: date | None = None


def facts_of(period: str, resolution: str, done_on: date | None, planned_on: date | None,
             done_known_on: date | None = None, resolved_on: date | None = None) -> ObligationFacts:
    """ObligationFacts from an obligation's stored fields: its period code, its resolution
    ("", "cancelled" or "waived"), its record date, its earliest planned session date, and the
    days the record and the resolution were entered."""
    first, last = period_bounds(period)
    return ObligationFacts(period_start=first, period_end=last, cancelled=resolution == CANCELLED,
                           waived=resolution == WAIVED, done_on=done_on, planned_on=planned_on,
                           done_known_on=done_known_on, resolved_on=resolved_on)


def known(entered_on: date | None, today: date) -> bool:
    """Whether a fact entered on `entered_on` (None: since ever) was known on `today`."""
    return entered_on is None or entered_on <= today


def entered_late(done_on: date | None, done_known_on: date | None, late_entry_days: int,
                 start: date | None = None) -> bool:
    """"补录": the record was entered more than `late_entry_days` days after it was held; one
    held before `start`, the obligation's first day (allowed early), is not a late entry."""
    if done_on is None or done_known_on is None or (start is not None and done_on < start):
        return False
    return (done_known_on - done_on).days > late_entry_days


def obligation_status(ob: ObligationFacts, today: date, grace_days: int) -> str:
    """The status of an obligation as of `today`, one of STATUSES.

    - cancelled / waived: explicit, and win over everything else.
    - done_on_time: a record dated on or before the period's last day (a record before the
      period starts counts as on time too).
    - done_late: a record after the period, on or before its last grace day.
    - missed: the period and its `grace_days` are over and nothing counting was done. A record
      dated after the last grace day is too late to count: still missed.
    - overdue: the planned date has passed, nothing done, and the period plus grace is not over.
    - planned: a session ahead (today <= planned_on).
    - unplanned: nothing of the above.

    "As of": a record or plan dated after `today` is not known yet at `today`, so a record
    dated later than `today` is ignored (a report as of a past day sees what was true then);
    so is a record or resolution entered after `today` (knowledge time: done_known_on,
    resolved_on), whatever the day it is about.
    """
    if grace_days < 0:
        raise ValueError(f"grace_days must be >= 0, got {grace_days}")
    if known(ob.resolved_on, today):
        if ob.cancelled:
            return CANCELLED
        if ob.waived:
            return WAIVED
    last_grace_day = ob.period_end + timedelta(days=grace_days)
    if ob.done_on is not None and ob.done_on <= today and known(ob.done_known_on, today):
        if ob.done_on <= ob.period_end:
            return DONE_ON_TIME
        if ob.done_on <= last_grace_day:
            return DONE_LATE
        return MISSED
    if today > last_grace_day:
        return MISSED
    if ob.planned_on is not None:
        return PLANNED if today <= ob.planned_on else OVERDUE
    return UNPLANNED



def status_sql(today: date, grace_days: int, period_codes, *, period: str, resolution: str, done_on: str,
               planned_on: str) -> tuple[str, list]:
    """obligation_status() as one SQL CASE expression over a row's facts, for counting statuses
    in the database (a report as of a past day): (sql, params), %s placeholders.

    The arguments name SQL expressions of the facts *as known on `today`*: `resolution` ("" when
    the resolution was entered after it), `done_on` (NULL when the record is dated after
    `today` or was entered after it), `planned_on` (the earliest session planned as of
    `today`). `period_codes`: every period the rows can have; each one's last day and last
    grace day are written in as constants (no date arithmetic in SQL), so the branches are
    those of obligation_status, in its order. tests/reports/test_past_day_sql.py checks both
    give the same statuses."""
    if grace_days < 0:
        raise ValueError(f"grace_days must be >= 0, got {grace_days}")
    ends, graces, params_end, params_grace = [], [], [], []
    for code in sorted(period_codes):
        last = period_bounds(code)[1]
        ends.append("WHEN %s THEN %s")
        params_end += [code, last]
        graces.append("WHEN %s THEN %s")
        params_grace += [code, last + timedelta(days=grace_days)]
    end = f"(CASE {period} {' '.join(ends)} END)"
    last_grace = f"(CASE {period} {' '.join(graces)} END)"
    sql = (f"CASE WHEN {resolution} = %s THEN %s WHEN {resolution} = %s THEN %s "
           f"WHEN {done_on} IS NOT NULL THEN (CASE WHEN {done_on} <= {end} THEN %s "
           f"WHEN {done_on} <= {last_grace} THEN %s ELSE %s END) "
           f"WHEN %s > {last_grace} THEN %s "
           f"WHEN {planned_on} IS NOT NULL THEN (CASE WHEN %s <= {planned_on} THEN %s ELSE %s END) "
           f"ELSE %s END")
    params = [CANCELLED, CANCELLED, WAIVED, WAIVED,
              *params_end, DONE_ON_TIME, *params_grace, DONE_LATE, MISSED,
              today, *params_grace, MISSED,
              today, PLANNED, OVERDUE, UNPLANNED]
    return sql, params
