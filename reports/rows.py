"""The completion and signed-guidance report as plain rows: build once, render many times.

`completion_rows(region=, period=, provider=, as_of=, user=)` returns a `Report` for a region
(city, county, township, or None for the whole installation), a period ("2027Q1" or "2027")
and a day `as_of`. Renderers (reports.render) and the dashboard only read it.

Definitions (docs/reports.md has the full text):

- Statuses are those of scheduling.status.obligation_status, the one status function, as of
  `as_of` (default: today). When every stored status of the report was computed as of `as_of`
  (status_on: statuses_refresh, with that function), the stored statuses and confirmations are
  counted in SQL; otherwise (a past day) each status is computed from the stored facts as
  known that day (period, resolution, done_on, earliest planned session), in SQL too
  (status.status_sql). Both sources yield tallies of one shape, counted by one loop (_count),
  and give the same report (Report.used_stored_statuses tells which ran).
- `owed` counts the obligations of the period whose resolution is neither cancelled nor waived:
  owed = done_on_time + done_late + missed + pending.
- `confirmed` / `disputed`: done obligations whose centre's part of the submitted record is
  confirmed / disputed (a confirmation stamped after `as_of` was not known yet: unconfirmed).
- A quarter report counts the quarter's three quarterly kinds; a year report the four quarters
  of the three quarterly kinds plus the year's supervision.
- Obligations belong to the region of their centre's township as the tree stood on the coverage
  day (the same resolution through boundary changes as mch_link.selectors.coverage()).

Dates are local calendar dates (Asia/Shanghai). A fixed number of queries whatever the size of
the region: the registry (registry_as_of, with the contracts in force that coverage counts), a
freshness probe, then one statement (the stored statuses counted, or the statuses computed as of the
day and counted); everything else is Python over its rows. docs/reports.md, "Queries", has the
details.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mch_link import statements
from mch_link.models import Centre, Contract, Provider, Region
from mch_link.rates import rate
from mch_link.scoping import scoped
from mch_link.selectors import Coverage, coverage, region_q, registry_as_of
from scheduling import periods
from scheduling.models import Obligation, Record, RecordCentre
from scheduling.selectors import confirmations_of, end_of_day, planned_session_q
from scheduling.status import (
    CANCELLED,
    DONE_LATE,
    DONE_ON_TIME,
    MISSED,
    OVERDUE,
    STATUS_LABELS,
    WAIVED,
    facts_of,
    obligation_status,
    status_sql,
)

QUARTER_NAMES = {1: _("第一季度"), 2: _("第二季度"), 3: _("第三季度"), 4: _("第四季度")}
KIND_SHORT_LABELS = {
    periods.GUIDANCE: _("业务指导"),
    periods.STAFF_TRAINING: _("从业人员培训"),
    periods.PARENT_LECTURE: _("家长讲座"),
    periods.SUPERVISION: _("督导"),
}
CONFIRMED = RecordCentre.Confirmation.CONFIRMED
DISPUTED = RecordCentre.Confirmation.DISPUTED
UNCONFIRMED = RecordCentre.Confirmation.UNCONFIRMED
WHOLE_INSTALLATION = _("全部地区")


def period_label(code):
    """"2027Q1" -> "2027年第一季度"; "2027" -> "2027年度"."""
    year, quarter = periods.parse_period(code)
    if quarter:
        return gettext("{year}年{quarter}").format(year=year, quarter=QUARTER_NAMES[quarter])
    return gettext("{year}年度").format(year=year)


def _rate(part, whole):
    """A documented 4-decimal fraction that is shown by the one rounding rule (mch_link.rates)."""
    return rate(part, whole)


# --------------------------------------------------------------------------- the figures


@dataclass
class Completion:
    """Completion figures of a set of obligations (one kind, or all kinds of a group).

    owed = done_on_time + done_late + missed + pending; `overdue` is part of `pending`;
    confirmed, disputed and backfilled (补录) are parts of the done ones; cancelled and waived are
    outside `owed`.
    """

    owed: int = 0
    done_on_time: int = 0
    done_late: int = 0
    missed: int = 0
    pending: int = 0
    overdue: int = 0
    confirmed: int = 0
    disputed: int = 0
    cancelled: int = 0
    waived: int = 0
    backfilled: int = 0  # 补录: part of the done ones, entered > LATE_ENTRY_DAYS after they were held

    JSON_KEYS = ("owed", "done_on_time", "done_late", "missed", "pending", "confirmed", "backfilled")

    def add(self, status, confirmation=UNCONFIRMED, n=1):
        """Count `n` obligations of `status` whose centre's answer is `confirmation`."""
        self.add_tally(status, n, n if confirmation == CONFIRMED else 0, n if confirmation == DISPUTED else 0)

    def add_tally(self, status, n, confirmed=0, disputed=0, backfilled=0):
        """Count `n` obligations of `status`, `confirmed` and `disputed` of them with that answer
        of their centre (a confirmation counts for what is done only), `backfilled` of them done
        by a late entry (补录)."""
        self.backfilled += backfilled
        if status == CANCELLED:
            self.cancelled += n
            return
        if status == WAIVED:
            self.waived += n
            return
        self.owed += n
        if status == DONE_ON_TIME:
            self.done_on_time += n
        elif status == DONE_LATE:
            self.done_late += n
        elif status == MISSED:
            self.missed += n
            return
        else:
            self.pending += n
            if status == OVERDUE:
                self.overdue += n
            return
        self.confirmed += confirmed
        self.disputed += disputed

    def merge(self, other):
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    @classmethod
    def sum(cls, completions):
        """One Completion adding up `completions` (per kind, say)."""
        total = cls()
        for c in completions:
            total.merge(c)
        return total

    @property
    def done(self):
        return self.done_on_time + self.done_late

    @property
    def rate(self):
        """Done over owed (a fraction, 4 decimals), None when nothing is owed."""
        return _rate(self.done, self.owed)

    @property
    def on_time_rate(self):
        return _rate(self.done_on_time, self.owed)

    @property
    def confirmed_rate(self):
        """Confirmed over done."""
        return _rate(self.confirmed, self.done)

    def segments(self):
        """Shares of `owed` for a stacked bar: [(key, label, count, percent)], percents of owed."""
        parts = [("done_on_time", STATUS_LABELS[DONE_ON_TIME], self.done_on_time),
                 ("done_late", STATUS_LABELS[DONE_LATE], self.done_late),
                 ("missed", STATUS_LABELS[MISSED], self.missed),
                 ("pending", gettext("待完成"), self.pending)]
        return [(key, label, n, round(100 * n / self.owed, 1) if self.owed else 0) for key, label, n in parts]

    def as_json(self):
        return {key: getattr(self, key) for key in self.JSON_KEYS}


@dataclass
class GroupRow:
    """Completion of one sub-region, provider or centre: per kind, and in total."""

    code: str
    name: str
    pk: int | None = None
    completion: dict = field(default_factory=dict)  # kind -> Completion

    @property
    def total(self):
        return Completion.sum(self.completion.values())

    def as_json(self):
        return {"code": self.code, "name": self.name,
                "completion": {kind: c.as_json() for kind, c in self.completion.items()}}


@dataclass
class TrendRow:
    """One quarter of the year's three quarterly kinds together."""

    period: str
    label: str
    owed: int
    done: int

    @property
    def rate(self):
        return _rate(self.done, self.owed)


class ObligationRow(NamedTuple):
    """One obligation with its status as of the report's day (the overdue list, a centre's list).
    A named tuple: a province's overdue list has 10,000s of them."""

    pk: int
    period: str
    kind: str
    provider_code: str
    provider_name: str
    centre_code: str
    centre_name: str
    planned_on: datetime.date | None
    done_on: datetime.date | None
    status: str
    confirmation: str = UNCONFIRMED

    @property
    def kind_label(self):
        return periods.KIND_LABELS[self.kind]

    @property
    def kind_short_label(self):
        return str(KIND_SHORT_LABELS[self.kind])

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def confirmation_label(self):
        return RecordCentre.Confirmation(self.confirmation).label

    def as_json(self):
        return {
            "period": self.period, "kind": self.kind,
            "provider": self.provider_code, "provider_name": self.provider_name,
            "centre": self.centre_code, "centre_name": self.centre_name,
            "planned_on": self.planned_on.isoformat() if self.planned_on else None,
            "status": self.status,
        }


@dataclass
class Report:
    region: Region | None  # as it stood on coverage_day; None: the whole installation
    period: str
    as_of: datetime.date
    coverage_day: datetime.date  # D of the signed-guidance rate: min(period's last day, as_of)
    provider: Provider | None
    kinds: tuple
    coverage: Coverage
    completion: dict  # kind -> Completion
    by_region: list  # GroupRow per sub-region: counties of a city, townships of a county, cities
    by_provider: list  # GroupRow per provider with an obligation in the report
    by_centre: list  # GroupRow per centre (township reports only)
    trend: list  # TrendRow per quarter of the year (up to the report's quarter)
    overdue: list  # ObligationRow with status overdue or missed (the first overdue_limit of them, if given)
    settings_used: dict
    generated_at: datetime.datetime
    used_stored_statuses: bool = False  # the statuses were the stored ones, aggregated in SQL
    projected: bool = False  # 预计: the period has not begun; the rates are taken on its first day
    overdue_count: int = 0  # the overdue list's length, also when `overdue` holds only its first rows

    @property
    def full_coverage(self):
        """The stricter indicator beside the signed-guidance rate: centres that have every
        contract the tier rules require (no missing pair) over the centres counted."""
        t = self.coverage.totals
        missing = len({m["centre"] for m in self.coverage.missing_pairs})
        full = max(t.centres - missing, 0)
        return {"numerator": full, "denominator": t.centres, "rate": rate(full, t.centres)}

    @property
    def region_name(self):
        return self.region.name if self.region else str(WHOLE_INSTALLATION)

    @property
    def region_code(self):
        return self.region.code if self.region else ""

    @property
    def period_label(self):
        return period_label(self.period)

    @property
    def title(self):
        who = f"{self.region_name} {self.provider.name}" if self.provider else self.region_name
        return gettext("{who} {period} 医育结合签约服务“四个一”完成情况").format(who=who, period=self.period_label)

    @property
    def sub_level_label(self):
        """What the by_region rows are."""
        if self.region is None:
            return Region.Level.CITY.label
        return {Region.Level.CITY: Region.Level.COUNTY.label,
                Region.Level.COUNTY: Region.Level.TOWNSHIP.label}.get(self.region.level, "")

    @property
    def total(self):
        return Completion.sum(self.completion.values())

    @property
    def signed_guidance(self):
        t = self.coverage.totals
        return {"numerator": t.signed_centres, "denominator": t.centres, "rate": t.signed_guidance_rate}

    @property
    def missing_pairs(self):
        return self.coverage.missing_pairs

    @property
    def uncovered_centres(self):
        return self.coverage.uncovered_centres

    @property
    def by_tier(self):
        return self.coverage.by_tier

    def as_json(self):
        """The documented JSON (docs/reports.md): exactly these keys."""
        region = self.region
        return {
            "region": {"code": region.code if region else None, "name": self.region_name,
                       "level": region.level if region else None},
            "period": self.period,
            "as_of": self.as_of.isoformat(),
            "projected": self.projected,
            "signed_guidance_rate": self.signed_guidance,
            "full_coverage_rate": self.full_coverage,
            "completion": {kind: c.as_json() for kind, c in self.completion.items()},
            "by_region": [row.as_json() for row in self.by_region],
            "by_provider": [row.as_json() for row in self.by_provider],
            "uncovered_centres": [{"code": c.code, "name": c.name} for c in self.uncovered_centres],
            "missing_pairs": [
                {"tier": m["tier"], "provider": m["provider"], "provider_name": m["provider_name"],
                 "centre": m["centre"], "centre_name": m["centre_name"]}
                for m in self.missing_pairs
            ],
            "overdue": [o.as_json() for o in self.overdue],
        }


# --------------------------------------------------------------------------- building


def default_as_of(period, today=None):
    """Today: a finished period is reported with what is known now (records within its grace
    days, confirmations since), a running one as it stands. The signed-guidance rate is still
    taken on the period's last day when that is earlier (coverage_day)."""
    periods.period_bounds(period)  # a bad period code raises ValueError here too
    return today or timezone.localdate()


def report_periods(period):
    """The obligation periods a report counts: the quarter, or the year's quarters and the year."""
    year, quarter = periods.parse_period(period)
    return [period] if quarter else periods.periods_of_year(year)


def report_kinds(period):
    return periods.QUARTERLY_KINDS if periods.is_quarter(period) else periods.KINDS


def settings_used():
    return {
        "MIN_DAYS_IN_FORCE_QUARTER": settings.MIN_DAYS_IN_FORCE_QUARTER,
        "MIN_DAYS_IN_FORCE_YEAR": settings.MIN_DAYS_IN_FORCE_YEAR,
        "GRACE_DAYS": settings.GRACE_DAYS,
        "LATE_ENTRY_DAYS": settings.LATE_ENTRY_DAYS,
    }


class _StatusOf:
    """obligation_status() as of one day, memoised on the facts: many obligations share them."""

    def __init__(self, as_of):
        self.as_of = as_of
        self.grace = settings.GRACE_DAYS
        self.memo = {}

    def __call__(self, period, resolution, done_on, planned_on):
        """`done_on`: a date, or its ISO text (see _run), or None."""
        key = (period, resolution, done_on, planned_on)
        status = self.memo.get(key)
        if status is None:
            facts = facts_of(period, resolution, _DayOf.parse(done_on), planned_on)
            status = self.memo[key] = obligation_status(facts, self.as_of, self.grace)
        return status


def _region_prefilter(tree, region_id, path):
    """Q narrowing rows at township FK `path` to `region_id` on the tree's day (region_q)."""
    if region_id is None:
        return Q()
    return region_q(tree.get(region_id), path, on=tree)



def _in_region(obligations, tree, region_id):
    """`obligations` narrowed to the region `region_id` on the tree's day (_region_prefilter). On
    SQLite as "their contract is one of the contracts of the region's centres" (an uncorrelated
    IN subquery, evaluated once) rather than a filter on their centre's township through the
    joins: the same rows, but SQLite, which reads a report's obligations by their period, then
    tests each against the list of the region's contracts instead of looking up the contract and
    the centre of every obligation of the period in the province first (a city's year at 1,000
    centres: ~14,000 looked up for its ~1,250; its statements 25-40 % faster). PostgreSQL
    plans the joins well and the subquery badly (its semi-join applied after the sessions' hash
    joins: a city's statement 2-3 times slower), so there the filter goes through the joins."""
    if region_id is None:
        return obligations
    if connections[obligations.db].vendor == "sqlite":
        return obligations.filter(contract__in=Contract.objects.filter(
            _region_prefilter(tree, region_id, "centre__township")))
    return obligations.filter(_region_prefilter(tree, region_id, "contract__centre__township"))


def obligations_in_scope(*, user=None, provider=None):
    """Obligations `user` may see (all without a user), of `provider` when given."""
    qs = scoped(user, Obligation) if user is not None else Obligation.objects.all()
    if provider is not None:
        qs = qs.filter(contract__provider=provider)
    return qs


def _run(db, statement):
    """The rows of `statement` ((sql, params), or None: no rows) on database `db`, streamed
    straight from a cursor: the ORM's per-row work (iteration, converters) is most of the cost
    of 150,000 rows. The statements select dates as text (Cast to CharField: "2027-03-05" on
    SQLite and PostgreSQL), which _DayOf parses once per distinct date instead of once per row.
    Streamed, each row is freed once read: holding them all would have the cyclic garbage
    collector walk them again and again. The statements are kept (STATEMENTS below), so on
    PostgreSQL they are prepared once per connection (mch_link.statements.rows)."""
    if statement is None:  # e.g. a region without townships: an empty IN list
        return
    yield from statements.rows(db, *statement)  # prepared on PostgreSQL (PREPARED_STATEMENTS)


# The report's statements (the freshness probe, the tallies), compiled once per process and
# input (mch_link.statements). The key of a statement is everything its text and parameters
# are made from: the SQL and parameters of the queryset of the report's obligations
# (base_key: the user's scope, the provider, the region's townships as of the day, the
# periods read, and the database), the builder's other arguments, the settings it reads
# (GRACE_DAYS, LATE_ENTRY_DAYS) and the time zone (end_of_day). What is kept is the statement
# the ORM path compiled for that key, so the rules stay defined once.
STATEMENTS = statements.STATEMENTS


def base_key(obligations):
    """What identifies the statements built from the queryset `obligations`: its database, SQL
    and parameters (two querysets of the same SQL and parameters select the same rows, and the
    report's statements are built from them alike); None when it can match nothing or a
    parameter is not hashable (then nothing is kept)."""
    try:
        sql, params = obligations.query.sql_with_params()
        key = (obligations.db, sql, tuple(params))
        hash(key)
    except (EmptyResultSet, TypeError):
        return None
    return key


def _inputs_key(base, *inputs):
    """The key of a statement built from the obligations of `base` (base_key) and `inputs`, with
    what the builders read besides their arguments."""
    if base is None:
        return None
    return (base, *inputs, settings.GRACE_DAYS, settings.LATE_ENTRY_DAYS, timezone.get_current_timezone_name())


class _DayOf(dict):
    """A date from its ISO text (or a date, or None), parsed once per distinct text."""

    @staticmethod
    def parse(value):
        return datetime.date.fromisoformat(value) if isinstance(value, str) else value

    def __call__(self, value):
        if value is None or isinstance(value, datetime.date):
            return value
        day = self.get(value)
        if day is None:
            day = self[value] = self.parse(value)
        return day


def _planned_dates(obligations, as_of=None):
    """{obligation id: earliest planned session date}: the `planned_on` fact, as statuses_refresh
    reads it (planned sessions, and with `as_of` held ones whose record was entered after it:
    selectors.planned_session_q). One query.

    Joined from the obligations rather than `through.filter(obligation__in=<subquery>)`: SQLite
    uses such an IN list as an index constraint and probes it once per session (minutes at a
    province's scale)."""
    return dict(
        obligations.filter(planned_session_q(as_of, "sessions__")).values("pk")
        .annotate(day=Min("sessions__date")).values_list("pk", "day")
    )


def _known_facts(obligations, as_of):
    """`obligations` with their facts as known on `as_of` (knowledge time), as text for _run:
    `done_text` and `known_text` (the record's day and the day it was entered), and
    `known_resolution` (a resolution entered after as_of was not known: "")."""
    return obligations.annotate(
        done_text=Cast("done_on", CharField()), known_text=Cast("done_known_on", CharField()),
        start_text=Cast("start", CharField()),
        known_resolution=Case(When(resolved_at__gte=end_of_day(as_of), then=Value("")), default=F("resolution"),
                              output_field=CharField()))


def _done_by(obligations, as_of):
    """Those of `obligations` done by `as_of` as known on that day."""
    return obligations.filter(done_on__lte=as_of).exclude(done_known_on__gt=as_of)


class _DaysAfter(Func):
    """Whole days from date `earlier` to date `later` (an integer): a date difference on
    PostgreSQL, julianday() on SQLite, where Django's date arithmetic is a Python function
    called once per row (most of a province report's time)."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = IntegerField()

    def __init__(self, later, earlier):
        super().__init__(later, earlier)

    def as_sqlite(self, compiler, connection, **extra):
        (later, later_params), (earlier, earlier_params) = (
            compiler.compile(e) for e in self.get_source_expressions())
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)", [*later_params, *earlier_params]


def _entered_late_q():
    """Q of the obligations whose record was a late entry (补录, status.entered_late): entered more
    than LATE_ENTRY_DAYS days after it was held, one held before the obligation's first day
    excepted."""
    return Q(done_on__gte=F("start"), done_known_on__isnull=False) & Q(
        GreaterThan(_DaysAfter("done_known_on", "done_on"), settings.LATE_ENTRY_DAYS))


def _backfilled_q():
    """Q of the obligations done by a late entry (补录) by their stored status, counted among the
    done."""
    return Q(status__in=(DONE_ON_TIME, DONE_LATE)) & _entered_late_q()


class _Places:
    """Where an obligation is counted besides its provider: its group (sub-region, centre,
    either None when not grouped by it), and the obligation field the queries read to place it
    (`field`).

    The sub-region is the county of a city, the township of a county, the city of everything;
    a township report groups by centre instead. Places are taken as of the tree's day: when no
    township was replaced or moved (the tree as stored is the tree of the day), the queries read
    the sub-region itself (the centre's township's parent, ...), as a plain GROUP BY would;
    otherwise they read the township, resolved here (memoised), and obligations whose township
    resolves outside the region are left out (group None)."""

    SUB_INDEX = {None: 2, Region.Level.CITY: 1, Region.Level.COUNTY: 0}
    SUB_FIELD = {None: "contract__centre__township__parent__parent_id",
                 Region.Level.CITY: "contract__centre__township__parent_id",
                 Region.Level.COUNTY: "contract__centre__township_id"}

    def __init__(self, tree, region_id, level, centre_township=None):
        self.tree, self.region_id = tree, region_id
        self.sub_index = self.SUB_INDEX.get(level)
        self.centre_township = centre_township  # township reports: centre id -> township id
        self.subs = {}  # township id -> sub-region id (None: none) or False (outside)
        rows = tree.rows
        self.as_stored = tree.as_stored or all(  # no region changed by the day, or none that places a township
            tree.ancestors(pk) == (pk, r.parent_id, rows[r.parent_id].parent_id if r.parent_id else None)
            for pk, r in rows.items() if r.level == Region.Level.TOWNSHIP)
        if centre_township is not None:
            self.field = "contract__centre_id"
        elif self.as_stored:
            self.field = self.SUB_FIELD[level]
        else:
            self.field = "contract__centre__township_id"

    def sub(self, township_id):
        sub = self.subs.get(township_id)
        if sub is None and township_id not in self.subs:
            where = self.tree.ancestors(township_id)
            if self.region_id is not None and self.region_id not in where:
                sub = False
            else:
                sub = where[self.sub_index] if self.sub_index is not None else None
            self.subs[township_id] = sub
        return sub

    def group(self, place_id):
        """The group of an obligation from its `field` value: (sub-region id, centre id), either
        None when not grouped by it; None: outside the region."""
        if self.centre_township is not None:
            township_id = self.centre_township.get(place_id)
            if township_id is None or self.sub(township_id) is False:
                return None
            return (None, place_id)
        if self.as_stored:  # place_id is the sub-region; the region's filter was exact
            return (place_id, None)
        sub = self.sub(place_id)
        return None if sub is False else (sub, None)


FIELD_SEP = "\x1f"  # the ASCII unit separator: never in a code or name


def _late_text(as_of):
    """Per overdue or missed obligation, its facts as one text: id, period, done_on, earliest
    planned session, confirmation, centre code and name, separated by FIELD_SEP. The planned
    day is an aggregate over the obligation's sessions (joined, the rows grouped per
    obligation): no correlated subquery, which PostgreSQL's JIT compiled at every report."""
    sep = Value(FIELD_SEP)
    done_on = Case(When(done_known_on__gt=as_of, then=Value(None)), default=F("done_on"),
                   output_field=DateField())  # entered after as_of: not known then
    planned = Min("sessions__date", filter=planned_session_q(as_of, "sessions__"))
    return Concat(Cast("pk", CharField()), sep, "period", sep, Cast(done_on, CharField()), sep,
                  Cast(planned, CharField()), sep, "confirmation", sep, "contract__centre__code", sep,
                  "contract__centre__name", output_field=TextField())


# Both sources of the counts yield tallies of one shape, one per (provider, place, kind, status):
#   (provider id, place id, kind, status, n, confirmed, disputed, backfilled, late, *per_trend)
# grouped in that order: SQLite's GROUP BY sorts its rows by those keys, and comparing the
# integers first took it 10 % less time than the kind's and status's texts first.
# n, confirmed, disputed and backfilled (补录) over the counted periods (parts of n);
# late the overdue and missed obligations of the counted periods, each (id, period, done_on,
# planned_on, confirmation, centre code, centre name), ids and dates as values or as their text:
# a list of tuples, or one obligation's facts as one text (FIELD_SEP) as the SQL statement gives
# them, or None; per_trend the counts per trend period (any confirmation). _count reads them.
# A quarter's trend read apart (`trend_apart`, when no row read is to be left out after placing)
# comes as one tally per kind and status with no provider, no place and nothing counted but
# per_trend (the earlier quarters'); the other tallies then read only the counted periods, and
# their per_trend count those. A late tally's per_trend are 0.


def _stored_statement(obligations, place_field, counted, trend, as_of, limit=None, trend_apart=False):
    """The statement of the tallies of `obligations` by their stored status and confirmation:
    (sql, params), or None when it can match nothing (EmptyResultSet), run by _run. A GROUP BY
    (provider, place, kind and status, see _Places; the periods as conditional counts), and
    after it (UNION ALL) one tally per late (overdue or missed) obligation of the counted
    periods, counting nothing, with the obligation's facts as text: with `limit`, only the
    first in the overdue list's order (late_order). The caller has checked that the stored
    statuses are of its day (_stored_statuses_fresh).

    With `trend_apart` (the caller places no row outside the region), the trend's quarters
    before a quarter report's own (only read for the trend) are counted by kind and status alone,
    in a GROUP BY of their own, and the first reads only the counted periods: their rows are not
    grouped by provider and place for nothing (at the province's second quarter, a quarter
    fewer tallies)."""
    fields = ("contract__provider_id", place_field, "kind", "status")  # the tallies' order (above)
    read_all = set(trend) <= set(counted)  # a year report: every row read is counted
    per_period = {f"t{i}": Count("pk", filter=Q(period=code)) for i, code in enumerate(trend)}
    none = Value(0, output_field=IntegerField())
    trend_rows = None
    if trend_apart and not read_all:
        earlier = [code for code in trend if code not in counted]
        nothing = Value(None, output_field=IntegerField())
        trend_rows = obligations.filter(period__in=earlier).values("kind", "status").annotate(
            provider0=nothing, place0=nothing, n0=none, confirmed0=none, disputed0=none, backfilled0=none,
            late0=Value(None, output_field=TextField()),
            **{name: none if code in counted else count
               for (name, count), code in zip(per_period.items(), trend, strict=True)},
        ).values_list("provider0", "place0", "kind", "status", "n0", "confirmed0", "disputed0", "backfilled0", "late0",
                      *per_period)
        obligations, read_all = obligations.filter(period__in=sorted(counted)), True
    in_counted = Q() if read_all else Q(period__in=sorted(counted))
    counts = obligations.values(*fields).annotate(
        n=Count("pk", filter=in_counted) if not read_all else Count("pk"),
        confirmed=Count("pk", filter=in_counted & Q(confirmation=CONFIRMED)),
        disputed=Count("pk", filter=in_counted & Q(confirmation=DISPUTED)),
        backfilled=Count("pk", filter=in_counted & _backfilled_q()),
        late=Value(None, output_field=TextField()),
        **per_period,
    ).values_list(*fields, "n", "confirmed", "disputed", "backfilled", "late", *per_period)
    zeros = {name: none for name in ("n0", "confirmed0", "disputed0", "backfilled0", *(f"z{p}" for p in per_period))}
    late = obligations.filter(in_counted, status__in=(OVERDUE, MISSED)).values(*fields, "pk").annotate(
        **zeros, late_text=_late_text(as_of),
    ).values_list(*fields, "n0", "confirmed0", "disputed0", "backfilled0", "late_text", *(f"z{p}" for p in per_period))
    trend_rows = () if trend_rows is None else (trend_rows,)  # one compound statement, no nesting
    try:
        if limit is None:
            return counts.union(*trend_rows, late, all=True).query.sql_with_params()
        if trend_rows:
            counts = counts.union(*trend_rows, all=True)
        counts_sql, counts_params = counts.query.sql_with_params()
        # the limited branch as a derived table, which SQLite and PostgreSQL both accept in a
        # compound statement
        late_sql, late_params = late.order_by(*late_order("contract__"))[:limit].query.sql_with_params()
    except EmptyResultSet:  # e.g. a region without townships: an empty IN list
        return None
    return f"{counts_sql} UNION ALL SELECT * FROM ({late_sql}) late", (*counts_params, *late_params)


def late_order(contract_path):
    """The overdue list's order in SQL: period, kind (in periods.KINDS order), provider code,
    centre code, id (the order completion_rows sorts the list in); `contract_path`: the path
    to the obligation's contract ("contract__")."""
    kind = Case(*(When(kind=k, then=Value(i)) for i, k in enumerate(periods.KINDS)), output_field=IntegerField())
    return ("period", kind, f"{contract_path}provider__code", f"{contract_path}centre__code", "pk")


def _facts_as_known(obligations, place_field, as_of):
    """The facts of `obligations` as known on `as_of` (knowledge time), for _computed_statement's
    statement, as two querysets of named columns:

    - one row per obligation: kind, period, provider and place, the resolution ("" when
      entered after as_of), the record's day (NULL when dated after as_of or entered after it:
      f_done; for the overdue list, NULL only when entered after it: f_done_list), whether the
      record was a late entry (补录, status.entered_late), the centre's id (its code and name,
      and the provider's code, are joined only to the late rows);
    - one row per obligation that has sessions, grouped by its id alone: the earliest session
      planned as of as_of (selectors.planned_session_q) and the confirmation known by then (2
      confirmed, 1 disputed, 0 neither: the rule of selectors.confirmations_of, confirmed wins).

    Joined by id in the statement (no correlated subquery); a GROUP BY over every column of
    the first took SQLite twice as long."""
    eod = end_of_day(as_of)
    facts = obligations.order_by().annotate(
        f_id=F("pk"), f_kind=F("kind"), f_period=F("period"), f_provider=F("contract__provider_id"),
        f_place=F(place_field),
        f_res=Case(When(resolved_at__gte=eod, then=Value("")), default=F("resolution"), output_field=CharField()),
        f_done=Case(When(Q(done_on__lte=as_of) & ~Q(done_known_on__gt=as_of), then=F("done_on")),
                    default=None, output_field=DateField()),
        f_done_list=Case(When(done_known_on__gt=as_of, then=Value(None)), default=F("done_on"),
                         output_field=DateField()),
        f_entered_late=Case(When(_entered_late_q(), then=Value(1)), default=Value(0), output_field=IntegerField()),
        f_centre=F("contract__centre_id"),
    ).values_list("f_id", "f_kind", "f_period", "f_provider", "f_place", "f_res", "f_done", "f_done_list",
                  "f_entered_late", "f_centre")
    part = "sessions__record__centres__"
    known_part = (Q(sessions__record__status=Record.Status.SUBMITTED, **{f"{part}centre_id": F("contract__centre_id")})
                  & (Q(**{f"{part}confirmed_at__isnull": True}) | Q(**{f"{part}confirmed_at__lt": eod})))
    sessions = obligations.order_by().filter(sessions__isnull=False).values("pk").annotate(
        g_planned=Min("sessions__date", filter=planned_session_q(as_of, "sessions__")),
        g_conf=Max(Case(When(known_part & Q(**{f"{part}confirmation": CONFIRMED}), then=Value(2)),
                        When(known_part & Q(**{f"{part}confirmation": DISPUTED}), then=Value(1)),
                        default=Value(0), output_field=IntegerField())),
    ).values_list("pk", "g_planned", "g_conf")
    return facts, sessions


def _computed_statement(obligations, place_field, counted, trend, as_of, limit=None, trend_apart=False):
    """The statement of the tallies of `obligations` with each status computed as of `as_of` in
    the database: (sql, params), or None when it can match nothing, run by _run. The facts as
    known on as_of, one row per obligation (_facts_as_known), then each status by
    status.status_sql (obligation_status as a CASE expression), counted by provider, place,
    kind and status as _stored_statement counts the stored ones (the periods as conditional
    counts; with `trend_apart`, a quarter's trend by kind and status in a GROUP BY of its own),
    and after it (UNION ALL) one tally per late (overdue or missed)
    obligation of the counted periods, with its facts as text (with `limit`, only the first in
    the overdue list's order, see late_order)."""
    facts, sessions = _facts_as_known(obligations, place_field, as_of)
    try:
        facts_sql, facts_params = facts.query.sql_with_params()
        sessions_sql, sessions_params = sessions.query.sql_with_params()
    except EmptyResultSet:  # e.g. a region without townships: an empty IN list
        return None
    # the sessions' columns in order ("pk" may not be aliased as such): obligation id, planned, confirmation
    sessions_sql = f"SELECT * FROM ({sessions_sql}) g0"
    status, status_params = status_sql(as_of, settings.GRACE_DAYS, {*counted, *trend}, period="f_period",
                                       resolution="f_res", done_on="f_done", planned_on="f_planned")
    counted_marks = ", ".join(["%s"] * len(counted))
    in_counted = f"f_period IN ({counted_marks})"
    counted_list = sorted(counted)
    per_trend = "".join(", SUM(CASE WHEN f_period = %s THEN 1 ELSE 0 END)" for _ in trend)
    zeros = ", 0" * len(trend)
    apart = trend_apart and not set(trend) <= set(counted)  # the trend's own GROUP BY (see _stored_statement)
    confirmation = "(CASE WHEN f_done IS NULL THEN 0 ELSE f_conf END)"
    sep = "%s"
    late_text = (f"CAST(f_id AS TEXT) || {sep} || f_period || {sep} || COALESCE(CAST(f_done_list AS TEXT), '') || "
                 f"{sep} || COALESCE(CAST(f_planned AS TEXT), '') || {sep} || "
                 f"(CASE {confirmation} WHEN 2 THEN %s WHEN 1 THEN %s ELSE %s END) || {sep} || ce.code || {sep} || "
                 f"ce.name")
    sql = (
        f"WITH g (g_id, f_planned, f_conf) AS ({sessions_sql}), "
        f"s AS (SELECT f.*, g.f_planned, g.f_conf, {status} AS f_status FROM ({facts_sql}) f "
        f"LEFT JOIN g ON g.g_id = f.f_id) "
        f"SELECT f_provider, f_place, f_kind, f_status, "
        f"SUM(CASE WHEN {in_counted} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {in_counted} AND {confirmation} = 2 THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {in_counted} AND {confirmation} = 1 THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {in_counted} AND f_status IN (%s, %s) AND f_entered_late = 1 THEN 1 ELSE 0 END), "
        + (f"NULL{per_trend} FROM s WHERE {in_counted} GROUP BY f_provider, f_place, f_kind, f_status "
           f"UNION ALL SELECT NULL, NULL, f_kind, f_status, 0, 0, 0, 0, NULL{per_trend} FROM s WHERE NOT {in_counted} "
           f"GROUP BY f_kind, f_status " if apart
           else f"NULL{per_trend} FROM s GROUP BY f_provider, f_place, f_kind, f_status ")
    )
    quote = connections[obligations.db].ops.quote_name
    late = (f"SELECT f_provider, f_place, f_kind, f_status, 0, 0, 0, 0, {late_text}{zeros} FROM s "
            f"JOIN {quote(Centre._meta.db_table)} ce ON ce.id = s.f_centre "
            f"JOIN {quote(Provider._meta.db_table)} pr ON pr.id = s.f_provider "
            f"WHERE {in_counted} AND f_status IN (%s, %s)")
    params = [*sessions_params, *status_params, *facts_params,
              *counted_list, *counted_list, *counted_list, *counted_list, DONE_ON_TIME, DONE_LATE,
              *((*trend, *counted_list, *trend, *counted_list) if apart else trend),
              FIELD_SEP, FIELD_SEP, FIELD_SEP, FIELD_SEP, CONFIRMED, DISPUTED, UNCONFIRMED, FIELD_SEP, FIELD_SEP,
              *counted_list, OVERDUE, MISSED]
    if limit is None:
        sql += f"UNION ALL {late}"
    else:  # the order of late_order()
        kind = " ".join("WHEN %s THEN " + str(i) for i in range(len(periods.KINDS)))
        sql += (f"UNION ALL SELECT * FROM ({late} ORDER BY f_period, CASE f_kind {kind} END, pr.code, "
                f"ce.code, f_id LIMIT %s) late")
        params += [*periods.KINDS, limit]
    return sql, tuple(params)


def _count(tallies, places, trend, providers, kinds, as_of):
    """The one count of a report from its tallies (either source): (completion, subs,
    by_provider, by_centre, trend_counts, overdue): completion {kind: Completion} over the
    counted periods, for each of `kinds`; subs, by_provider and by_centre {(id, kind):
    Completion} of the sub-regions, providers and centres with a count (Completion.add_tally
    counts each tally); trend_counts {(period, status): n}; overdue the ObligationRows of the
    late ones. Tallies whose place resolves outside the region on the day are left out.

    One pass over the tallies (a province has thousands): each counts at once for its provider
    and centre, and is summed for its sub-region and kind, which have a few keys each."""
    by_provider, by_centre, sums, overdue = {}, {}, {}, []
    group, day_of = places.group, _DayOf()
    provider_get, centre_get, sums_get = by_provider.get, by_centre.get, sums.get
    of_status = {}  # status -> its tallies' per_trend, summed at the end (a column at a time)
    row = tuple.__new__  # ObligationRow from a tuple (a province's overdue list has 1,000s)
    for tally in tallies:
        provider_id, place_id, kind, status, n, confirmed, disputed, backfilled, late = tally[:9]
        if provider_id is not None:  # else a quarter's trend read apart: counts nothing else, placed nowhere
            where = group(place_id)
            if where is None:
                continue
            if n:
                sub, centre_id = where
                key = (provider_id, kind)
                c = provider_get(key)
                if c is None:
                    c = by_provider[key] = Completion()
                c.add_tally(status, n, confirmed, disputed, backfilled)
                if centre_id is not None:
                    key = (centre_id, kind)
                    c = centre_get(key)
                    if c is None:
                        c = by_centre[key] = Completion()
                    c.add_tally(status, n, confirmed, disputed, backfilled)
                key = (sub, kind, status)
                total = sums_get(key)
                if total is None:
                    sums[key] = [n, confirmed, disputed, backfilled]
                else:
                    total[0] += n
                    total[1] += confirmed
                    total[2] += disputed
                    total[3] += backfilled
        if not late:  # a late tally's per_trend are 0
            same = of_status.get(status)
            if same is None:
                of_status[status] = [tally[9:]]
            else:
                same.append(tally[9:])
        else:
            p = providers[provider_id]
            if isinstance(late, str):  # one obligation's facts as text (_stored_statement)
                late = (late.split(FIELD_SEP, 6),)
            for pk, ob_period, done_on, planned_on, confirmation, c_code, c_name in late:
                done_on = day_of(done_on) if done_on else None
                # planned_on is not a fact of the status once done by as_of
                done = done_on is not None and done_on <= as_of
                planned_on = day_of(planned_on) if planned_on and not done else None
                overdue.append(row(ObligationRow, (int(pk), ob_period, kind, p.code, p.name, c_code, c_name, planned_on,
                                                   done_on, status, confirmation)))
    completion, subs = {kind: Completion() for kind in kinds}, {}
    for (sub, kind, status), (n, confirmed, disputed, backfilled) in sums.items():
        completion[kind].add_tally(status, n, confirmed, disputed, backfilled)
        if sub is not None:
            c = subs.get((sub, kind))
            if c is None:
                c = subs[(sub, kind)] = Completion()
            c.add_tally(status, n, confirmed, disputed, backfilled)
    trend_counts = Counter()
    for status, same in of_status.items():
        for code, column in zip(trend, zip(*same, strict=True), strict=True):
            m = sum(column)
            if m:
                trend_counts[(code, status)] += m
    return completion, subs, by_provider, by_centre, trend_counts, overdue


def _freshness_statement(obligations, as_of):
    """The freshness probe's statement: the first stale row, if any (three index range lookups
    on (period, status_on) in one query, which reads only the stale rows and stops at the
    first); None when no obligation can match (a region without townships: none is stale)."""
    stale = [obligations.filter(status_on__lt=as_of), obligations.filter(status_on__gt=as_of),
             obligations.filter(status_on__isnull=True)]
    first, *rest = (qs.order_by().values_list("pk") for qs in stale)
    try:
        return first.union(*rest, all=True)[:1].query.sql_with_params()
    except EmptyResultSet:
        return None


def _stored_statuses_fresh(obligations, as_of, key=None):
    """Whether every one of `obligations` has its stored status computed as of `as_of`
    (status_on): none before, after or never computed. One query. `key`: base_key(obligations),
    if known (the statement is kept under it)."""
    key = base_key(obligations) if key is None else key
    statement = STATEMENTS.get(_inputs_key(key, "fresh", as_of),
                               lambda: statements.bound(obligations.db, _freshness_statement(obligations, as_of)))
    return next(_run(obligations.db, statement), None) is None


def _centres(tree, region_id):
    """{centre id: (code, name, township id)} of the region's centres (a superset, see
    _region_prefilter), closed ones too. One query."""
    return {pk: (code, name, township_id) for pk, code, name, township_id in Centre.objects.filter(
        _region_prefilter(tree, region_id, "township")).order_by().values_list("pk", "code", "name", "township_id")}


def completion_rows(*, region, period, provider=None, as_of=None, user=None, overdue_limit=None, keep_registry=None):
    """The report of `region` (a Region, or None for the whole installation) for `period`
    ("2027Q1" or "2027"), optionally one `provider`, as of `as_of` (default: today),
    seeing only what `user` may see (None: everything). With `overdue_limit`, the overdue list
    holds only its first `overdue_limit` obligations (the dashboard shows those; the downloads
    all of them); Report.overdue_count is always the whole list's length.

    `keep_registry(key, build)`: where the registry part (the registry on the coverage day and
    its coverage; it reads only the tables of reports.freshness.REGISTRY) may be kept, as
    statements.Kept.get: `key` is (day, region id, provider id), what it depends on besides
    those tables; None builds it every time.

    Raises ValueError for a bad period code. A fixed number of queries (see the module
    docstring); statuses are computed, never written.
    """
    first, last = periods.period_bounds(period)
    as_of = as_of or default_as_of(period)
    day = min(last, as_of)  # nothing after as_of is known: a running period is shown as of as_of
    projected = as_of < first  # 预计: a period ahead takes its rates on its first day, from the
    if projected:              # contracts signed so far
        day = first
    def registry_part():
        registry = registry_as_of(day, region)  # the region's centres only
        return registry, coverage(day, region, provider=provider, registry=registry, drill_down=False)

    if keep_registry is None:
        registry, cov = registry_part()
    else:
        registry, cov = keep_registry((day, region and region.pk, provider and provider.pk), registry_part)
    tree = registry.tree
    region_id = tree.resolve(region.pk) if region is not None else None
    region_row = tree.get(region_id) if region_id else None
    level = region_row.level if region_row else None
    year, quarter = periods.parse_period(period)
    counted = report_periods(period)
    trend_periods = periods.quarters_of_year(year)[: quarter or 4]
    kinds = report_kinds(period)
    providers = {p.id: p for p in registry.providers}

    # The region's obligations (a superset when the township list is long, see
    # _region_prefilter): each is then placed by its township as of the day (_Places).
    base = _in_region(obligations_in_scope(user=user, provider=provider), tree, region_id)
    all_qs = base.filter(period__in=sorted(set(counted) | set(trend_periods))).order_by()

    # Each obligation's group: (sub-region, provider, None) — the sub-region being the county of
    # a city, the township of a county, the city of everything — or, in a township report,
    # (None, provider, centre). The centres' names are read only where they are shown.
    township_level = level == Region.Level.TOWNSHIP
    centres = _centres(tree, region_id) if township_level else {}
    places = _Places(tree, region_id, level, {pk: c[2] for pk, c in centres.items()} if township_level else None)

    # The stored statuses (and confirmations) when they were computed as of `as_of`
    # (statuses_refresh, with the one status function); otherwise computed from the facts.
    counted_set = frozenset(counted)
    key = base_key(all_qs)
    used_stored = _stored_statuses_fresh(all_qs, as_of, key)
    # Every row read is in the region at its place (the stored tree is the day's, not a township
    # report's centres): the overdue list limited in SQL; else it is cut after placing. The
    # trend's earlier quarters counted apart only at the whole installation, where their GROUP BY
    # reads the obligations alone: a region's joins read twice cost a city's report on
    # PostgreSQL more than its fewer tallies saved (measured: 1.09x the report; 0.98x on SQLite).
    exact = places.as_stored and not township_level
    limit = overdue_limit if exact else None
    build = _stored_statement if used_stored else _computed_statement
    inputs = (places.field, counted_set, tuple(trend_periods), as_of, limit, exact and region_id is None)
    statement = STATEMENTS.get(_inputs_key(key, "stored" if used_stored else "computed", *inputs),
                               lambda: statements.bound(all_qs.db, build(all_qs, *inputs)))
    tallies = _run(all_qs.db, statement)
    completion, subs, by_provider, by_centre, trend_counts, overdue = _count(
        tallies, places, trend_periods, providers, kinds, as_of)

    def row_of(table, key):
        """{kind: Completion} of `key` in a table of (id, kind) keys, every kind of the report there."""
        return {kind: table.get((key, kind)) or Completion() for kind in kinds}

    def rows_of(table):
        return {key: row_of(table, key) for key in dict.fromkeys(key for key, _kind in table)}

    by_provider, by_centre = rows_of(by_provider), rows_of(by_centre)

    by_region = []
    if places.sub_index is not None:
        city = Region.Level.CITY
        child_regions = tree.children(region_id) if region_id else [
            r for r in tree.rows.values() if r.parent_id is None and r.level == city and tree.resolve(r.pk) == r.pk]
        seen = set()
        for r in sorted(child_regions, key=lambda r: r.code):
            seen.add(r.pk)
            by_region.append(GroupRow(r.code, r.name, r.pk, row_of(subs, r.pk)))
        for rid in sorted({sub for sub, _kind in subs} - seen, key=lambda rid: tree.get(rid).code):
            r = tree.get(rid)
            by_region.append(GroupRow(r.code, r.name, r.pk, row_of(subs, rid)))
    provider_rows = sorted(
        (GroupRow(providers[pid].code, providers[pid].name, pid, per_kind) for pid, per_kind in by_provider.items()),
        key=lambda g: g.code,
    )
    centre_rows = sorted(
        (GroupRow(*centres.get(cid, ("", "", None))[:2], cid, per_kind) for cid, per_kind in by_centre.items()),
        key=lambda g: (g.name, g.code),
    )
    trend = []
    for code in trend_periods:
        c = Completion()
        for (p, status), n in trend_counts.items():
            if p == code:
                c.add(status, n=n)
        trend.append(TrendRow(code, period_label(code), c.owed, c.done))
    kind_order = {kind: i for i, kind in enumerate(periods.KINDS)}
    overdue.sort(key=lambda o: (o.period, kind_order[o.kind], o.provider_code, o.centre_code, o.pk))  # late_order
    if overdue_limit is not None:
        del overdue[overdue_limit:]
    return Report(
        region=region_row, period=period, as_of=as_of, coverage_day=day, provider=provider, kinds=kinds,
        coverage=cov, completion=completion, by_region=by_region, by_provider=provider_rows,
        by_centre=centre_rows, trend=trend, overdue=overdue, settings_used=settings_used(),
        generated_at=timezone.localtime(), used_stored_statuses=used_stored,
        overdue_count=sum(c.overdue + c.missed for c in completion.values()),
        projected=projected,
    )


def centre_obligations(*, centre, period, provider=None, as_of=None, user=None):
    """The obligations owed to one centre in the report's periods, each with its status as of
    `as_of` and its confirmation: the last step of the drill-down. Three queries."""
    as_of = as_of or default_as_of(period)
    qs = obligations_in_scope(user=user, provider=provider).filter(
        contract__centre=centre, period__in=report_periods(period))
    rows = list(_known_facts(qs, as_of).values_list(
        "pk", "kind", "period", "known_resolution", "done_on", "done_known_on", "contract__provider__code",
        "contract__provider__name"))
    planned = _planned_dates(qs, as_of)
    confirmed = confirmations_of(_done_by(qs, as_of), as_of)
    status_of = _StatusOf(as_of)
    result = []
    for pk, kind, ob_period, resolution, done_on, known_on, p_code, p_name in rows:
        if known_on is not None and known_on > as_of:
            done_on = None  # entered after as_of: not known then
        result.append(ObligationRow(
            pk, ob_period, kind, p_code, p_name, centre.code, centre.name, planned.get(pk), done_on,
            status_of(ob_period, resolution, done_on, planned.get(pk)), confirmed.get(pk, UNCONFIRMED)))
    result.sort(key=lambda o: (o.period, periods.KINDS.index(o.kind), o.provider_code))
    return result
