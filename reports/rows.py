"""The completion and signed-guidance report as plain rows: build once, render many times.

`completion_rows(region=, period=, provider=, as_of=, user=)` returns a `Report` for a region
(city, county, township, or None for the whole installation), a period ("2027Q1" or "2027")
and a day `as_of`. Renderers (reports.render) and the dashboard only read it.

Definitions (docs/reports.md has the full text):

- Statuses are computed as of `as_of` with scheduling.status.obligation_status, the one status
  function, from the stored facts (period, resolution, done_on, earliest planned session), never
  read from the stored Obligation.status: a report for a past day is right. Except when every
  stored status was computed as of `as_of` (status_on, statuses_refresh with that function):
  then they are counted in SQL, with the same figures (Report.used_stored_statuses).
- `owed` counts the obligations of the period whose resolution is neither cancelled nor waived:
  owed = done_on_time + done_late + missed + pending.
- `confirmed` / `disputed`: done obligations whose centre's part of the submitted record is
  confirmed / disputed (a confirmation stamped after `as_of` was not known yet: unconfirmed).
- A quarter report counts the quarter's three quarterly kinds; a year report the four quarters
  of the three quarterly kinds plus the year's supervision.
- Obligations belong to the region of their centre's township as the tree stood on the coverage
  day (the same resolution through boundary changes as mch_link.selectors.coverage()).

Dates are local calendar dates (Asia/Shanghai). A fixed number of queries whatever the size of
the region: the registry (registry_as_of) and the contracts in force (coverage), then the
region's contracts, its obligations, their planned sessions, their record confirmations and
the centres' names; everything else is Python over those rows.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections
from django.db.models import Case, CharField, Count, F, IntegerField, Min, Q, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mch_link.models import Centre, Contract, Provider, Region
from mch_link.scoping import region_q, scoped
from mch_link.selectors import Coverage, coverage, registry_as_of, townships_within
from scheduling import periods
from scheduling.models import Obligation, Record, RecordCentre, Session
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
    return round(part / whole, 4) if whole else None


# --------------------------------------------------------------------------- the figures


@dataclass
class Completion:
    """Completion figures of a set of obligations (one kind, or all kinds of a group).

    owed = done_on_time + done_late + missed + pending; `overdue` is part of `pending`;
    confirmed and disputed are parts of the done ones; cancelled and waived are outside `owed`.
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

    JSON_KEYS = ("owed", "done_on_time", "done_late", "missed", "pending", "confirmed")

    def add(self, status, confirmation=UNCONFIRMED, n=1):
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
        if confirmation == CONFIRMED:
            self.confirmed += n
        elif confirmation == DISPUTED:
            self.disputed += n

    def merge(self, other):
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

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
        total = Completion()
        for c in self.completion.values():
            total.merge(c)
        return total

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


@dataclass
class ObligationRow:
    """One obligation with its status as of the report's day (the overdue list, a centre's list)."""

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
    overdue: list  # ObligationRow with status overdue or missed
    settings_used: dict
    generated_at: datetime.datetime
    regions_on_day: dict = field(default_factory=dict, repr=False)  # id -> Region, for crumbs
    used_stored_statuses: bool = False  # the statuses were the stored ones, aggregated in SQL

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
        total = Completion()
        for c in self.completion.values():
            total.merge(c)
        return total

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

    @property
    def crumbs(self):
        """The region and its parents, top first."""
        chain, r = [], self.region
        while r is not None:
            chain.insert(0, r)
            r = self.regions_on_day.get(r.parent_id) if r.parent_id else None
        return chain

    def as_json(self):
        """The documented JSON (docs/reports.md): exactly these keys."""
        region = self.region
        return {
            "region": {"code": region.code if region else None, "name": self.region_name,
                       "level": region.level if region else None},
            "period": self.period,
            "as_of": self.as_of.isoformat(),
            "signed_guidance_rate": self.signed_guidance,
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
    """The period's last day, or today if earlier."""
    today = today or timezone.localdate()
    return min(periods.period_bounds(period)[1], today)


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
    }


class _StatusOf:
    """obligation_status() as of one day, memoised on the facts: many obligations share them."""

    def __init__(self, as_of):
        self.as_of = as_of
        self.grace = settings.GRACE_DAYS
        self.memo = {}

    def __call__(self, period, resolution, done_on, planned_on):
        """`done_on`: a date, or its ISO text (see _fetch), or None."""
        key = (period, resolution, done_on, planned_on)
        status = self.memo.get(key)
        if status is None:
            if isinstance(done_on, str):
                done_on = datetime.date.fromisoformat(done_on)
            facts = facts_of(period, resolution, done_on, planned_on)
            status = self.memo[key] = obligation_status(facts, self.as_of, self.grace)
        return status


def _fk_within(tree, township, region_id):
    """Whether `township` lies in region `region_id` following the stored parents (today's tree)."""
    if township.pk == region_id or township.parent_id == region_id:
        return True
    county = tree.rows.get(township.parent_id)
    return county is not None and county.parent_id == region_id


def _region_prefilter(tree, region_id, path):
    """Q narrowing rows at township FK `path` to `region_id` in SQL.

    The townships that resolve into the region on the tree's day (a 街道 that moved county
    counts in its new county), as an IN list of ids; past MAX_TOWNSHIP_IDS ids, today's tree
    (region_q) plus the townships that moved in, a superset: callers check each centre's
    resolved township in Python anyway."""
    if region_id is None:
        return Q()
    townships = [t for t in tree.rows.values() if t.level == Region.Level.TOWNSHIP]
    inside = [t.pk for t in townships if region_id in tree.ancestors(t.pk)]
    if len(inside) <= MAX_TOWNSHIP_IDS:
        return Q(**{f"{path}__in": inside})
    q = region_q(tree.get(region_id), path)
    moved_in = [pk for pk in inside if not _fk_within(tree, tree.get(pk), region_id)]
    if moved_in:
        q |= Q(**{f"{path}__in": moved_in})
    return q


MAX_TOWNSHIP_IDS = 2000  # well under SQLite's 32,766 parameters; a province has ~1,300 townships


def obligations_in_scope(*, user=None, provider=None):
    """Obligations `user` may see (all without a user), of `provider` when given."""
    qs = scoped(user, Obligation) if user is not None else Obligation.objects.all()
    if provider is not None:
        qs = qs.filter(contract__provider=provider)
    return qs


def _fetch(values_list_qs):
    """The rows of a values_list() queryset, read straight from a cursor: the ORM's per-row
    work (iteration, converters) is most of the cost of 150,000 rows. Callers select dates as
    text (Cast to CharField: "2027-03-05" on SQLite and PostgreSQL), which _StatusOf parses
    once per distinct date instead of once per row."""
    sql, params = values_list_qs.query.sql_with_params()
    with connections[values_list_qs.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _planned_dates(obligations):
    """{obligation id: earliest planned session date}: the `planned_on` fact, as statuses_refresh
    reads it (planned sessions only). One query.

    Joined from the obligations rather than `through.filter(obligation__in=<subquery>)`: SQLite
    uses such an IN list as an index constraint and probes it once per session (minutes at a
    province's scale)."""
    return dict(
        obligations.filter(sessions__status=Session.Status.PLANNED).values("pk")
        .annotate(day=Min("sessions__date")).values_list("pk", "day")
    )


def _confirmations(obligations, as_of, centre_of_contract, facts=None):
    """{obligation id: confirmed | disputed} from the centre's part of a submitted record of one
    of the obligation's sessions; confirmed wins over disputed. A confirmation stamped after
    `as_of` (local date) was not known yet. `centre_of_contract`: contract id -> its centre id.
    One query, joined from the obligations (see _planned_dates). `facts`: a dict, filled with
    {obligation id: (kind, period, stored status, contract id)} of the obligations found."""
    found = {}
    rows = obligations.filter(
        sessions__record__status=Record.Status.SUBMITTED,
        sessions__record__centres__confirmation__in=(CONFIRMED, DISPUTED),
    ).order_by().values_list(
        "pk", "contract_id", "sessions__record__centres__centre_id", "sessions__record__centres__confirmation",
        "sessions__record__centres__confirmed_at", "kind", "period", "status",
    )
    for obligation_id, contract_id, centre_id, confirmation, confirmed_at, kind, ob_period, status in rows:
        if confirmation == UNCONFIRMED or centre_of_contract(contract_id) != centre_id:
            continue  # another centre's part of a grouped session
        if confirmed_at is not None and timezone.localdate(confirmed_at) > as_of:
            continue
        if found.get(obligation_id) != CONFIRMED:
            found[obligation_id] = confirmation
            if facts is not None:
                facts[obligation_id] = (kind, ob_period, status, contract_id)
    return found


def _count_stored(obligations, as_of, tree, region_id, sub_index, township_level, group_index, counted, trend,
                  counts, trend_counts):
    """Count `obligations` by their stored status with one GROUP BY: by kind, period, status,
    provider and sub-region (a CASE over the township ids; the centre in a township report).
    Fills `counts` ((kind, group index, status, unconfirmed) -> n) and `trend_counts` and returns
    True; or returns False, filling nothing, if a status was not computed as of `as_of`."""
    if township_level:
        where = F("contract__centre_id")
    else:
        townships = townships_within(tree, region_id) if region_id is not None else [
            pk for pk, r in tree.rows.items() if r.level == Region.Level.TOWNSHIP]
        by_place = {}
        for township_id in townships:
            sub = tree.ancestors(township_id)[sub_index]
            if sub is not None:
                by_place.setdefault(sub, []).append(township_id)
        where = Case(*(When(contract__centre__township__in=ids, then=Value(sub))
                       for sub, ids in sorted(by_place.items())), default=Value(None), output_field=IntegerField())
    fields = ("kind", "period", "status", "status_on", "contract__provider_id", "where")
    rows = list(obligations.annotate(where=where).values(*fields).annotate(n=Count("pk")).values_list(*fields, "n"))
    if any(status_on != as_of for _k, _p, _s, status_on, _pr, _w, _n in rows):
        return False
    for kind, ob_period, status, _on, provider_id, sub, n in rows:
        group = (None, provider_id, sub) if township_level else (sub, provider_id, None)
        gi = group_index.setdefault(group, len(group_index))
        if ob_period in counted:
            counts[(kind, gi, status, UNCONFIRMED)] += n
        if ob_period in trend:
            trend_counts[(ob_period, status)] += n
    return True


def completion_rows(*, region, period, provider=None, as_of=None, user=None):
    """The report of `region` (a Region, or None for the whole installation) for `period`
    ("2027Q1" or "2027"), optionally one `provider`, as of `as_of` (default: the period's last
    day, or today if earlier), seeing only what `user` may see (None: everything).

    Raises ValueError for a bad period code. A fixed number of queries (see the module
    docstring); statuses are computed, never written.
    """
    first, last = periods.period_bounds(period)
    as_of = as_of or default_as_of(period)
    day = min(last, as_of)  # nothing after as_of is known: a running period is shown as of as_of
    registry = registry_as_of(day, region)  # the region's centres only
    cov = coverage(day, region, provider=provider, registry=registry)
    tree = registry.tree
    region_id = tree.resolve(region.pk) if region is not None else None
    region_row = tree.get(region_id) if region_id else None
    level = region_row.level if region_row else None
    year, quarter = periods.parse_period(period)
    counted = report_periods(period)
    trend_periods = periods.quarters_of_year(year)[: quarter or 4]
    kinds = report_kinds(period)

    # The contracts of the region (and provider): who owes, and to which centre. The obligations
    # are then read without joins, straight from the cursor, done_on as text (see _fetch).
    contracts = Contract.objects.filter(_region_prefilter(tree, region_id, "centre__township"))
    if provider is not None:
        contracts = contracts.filter(provider=provider)
    parties = {pk: (provider_id, centre_id) for pk, provider_id, centre_id in
               contracts.order_by().values_list("pk", "provider_id", "centre_id")}
    base = obligations_in_scope(user=user)
    if region_id is not None or provider is not None:
        base = base.filter(contract__in=contracts.values("pk"))
    counted_qs = base.filter(period__in=counted)
    all_qs = base.filter(period__in=sorted(set(counted) | set(trend_periods))).order_by()
    providers = {p.id: p for p in registry.providers}

    # Each centre's sub-region (county of a city, township of a county, city of everything;
    # None for a township report), its township resolved as of the coverage day. Centres whose
    # township resolves outside the region are left out.
    sub_index = {None: 2, Region.Level.CITY: 1, Region.Level.COUNTY: 0}.get(level)
    centres, place = {}, {}
    for pk, code, name, township_id in Centre.objects.filter(
            _region_prefilter(tree, region_id, "township")).order_by().values_list("pk", "code", "name", "township_id"):
        where = tree.ancestors(township_id)
        if region_id is None or region_id in where:
            centres[pk] = (code, name)
            place[pk] = where[sub_index] if sub_index is not None else None

    # Each contract inside the region, as (group index, provider id, centre id); a group is
    # (sub-region, provider, centre or None) and the loop counts small integer keys.
    township_level = level == Region.Level.TOWNSHIP
    group_index, contract_info = {}, {}
    for contract_id, (provider_id, centre_id) in parties.items():
        if centre_id not in place:
            continue  # its township resolves outside the region on the day
        group = (place[centre_id], provider_id, centre_id if township_level else None)
        contract_info[contract_id] = (group_index.setdefault(group, len(group_index)), provider_id, centre_id)

    def centre_of(contract_id):
        return parties.get(contract_id, (None, None))[1]

    counts = Counter()  # (kind, group index, status, confirmation) -> n
    trend_counts = Counter()  # (period, status) -> n
    overdue = []
    counted_set = frozenset(counted)
    trend_set = frozenset(trend_periods)
    # The fast path: when the stored statuses were computed as of `as_of` (statuses_refresh, with
    # the one status function), they are counted with one GROUP BY. Only when the region's
    # obligations are exactly the ones read (an IN list of townships, see _region_prefilter).
    exact = region_id is None or len(townships_within(tree, region_id)) <= MAX_TOWNSHIP_IDS
    used_stored = False
    if exact and all_qs.filter(status_on=as_of).exists():
        used_stored = _count_stored(all_qs, as_of, tree, region_id, sub_index, township_level, group_index,
                                    counted_set, trend_set, counts, trend_counts)
    if used_stored:
        facts = {}
        confirmed = _confirmations(counted_qs.filter(done_on__lte=as_of), as_of, centre_of, facts)
        for pk, confirmation in confirmed.items():
            kind, _period, status, contract_id = facts[pk]
            gi = contract_info[contract_id][0]
            counts[(kind, gi, status, UNCONFIRMED)] -= 1
            counts[(kind, gi, status, confirmation)] += 1
        counts = +counts  # drop the emptied keys
        for pk, kind, ob_period, done_on, contract_id, status, planned_on in counted_qs.filter(
            status__in=(OVERDUE, MISSED)
        ).order_by().annotate(
            planned_on=Min("sessions__date", filter=Q(sessions__status=Session.Status.PLANNED))
        ).values_list("pk", "kind", "period", "done_on", "contract_id", "status", "planned_on"):
            if done_on is not None and done_on <= as_of:
                planned_on = None  # not a fact of the status then (see _planned_dates' caller)
            _gi, provider_id, centre_id = contract_info[contract_id]
            p = providers[provider_id]
            code, name = centres[centre_id]
            overdue.append(ObligationRow(pk, ob_period, kind, p.code, p.name, code, name, planned_on, done_on,
                                         status, confirmed.get(pk, UNCONFIRMED)))
    else:
        # The obligations are read without joins, straight from the cursor, done_on as text
        # (see _fetch), and their statuses computed as of `as_of`.
        rows = _fetch(all_qs.annotate(done_text=Cast("done_on", CharField())).values_list(
            "pk", "kind", "period", "resolution", "done_text", "contract_id"))
        # planned_on decides a status only while nothing is done by as_of; confirmations count
        # only for what is done by then: each query reads just those obligations.
        planned = _planned_dates(
            counted_qs.filter(resolution="").filter(Q(done_on__isnull=True) | Q(done_on__gt=as_of)))
        confirmed = _confirmations(counted_qs.filter(done_on__lte=as_of), as_of, centre_of)
        status_of = _StatusOf(as_of)
        memo = status_of.memo
        for pk, kind, ob_period, resolution, done_raw, contract_id in rows:
            info = contract_info.get(contract_id)
            if info is None:
                continue
            planned_on = planned.get(pk)
            key = (ob_period, resolution, done_raw, planned_on)
            status = memo.get(key)
            if status is None:
                status = status_of(*key)
            if ob_period in counted_set:
                confirmation = confirmed.get(pk, UNCONFIRMED)
                counts[(kind, info[0], status, confirmation)] += 1
                if status == OVERDUE or status == MISSED:
                    p = providers[info[1]]
                    code, name = centres[info[2]]
                    done_on = datetime.date.fromisoformat(done_raw) if isinstance(done_raw, str) else done_raw
                    overdue.append(ObligationRow(pk, ob_period, kind, p.code, p.name, code, name, planned_on,
                                                 done_on, status, confirmation))
            if ob_period in trend_set:
                trend_counts[(ob_period, status)] += 1
    groups = list(group_index)
    completion = {kind: Completion() for kind in kinds}
    subs, by_provider, by_centre = {}, {}, {}
    for (kind, gi, status, confirmation), n in counts.items():
        sub, provider_id, centre_id = groups[gi]
        completion[kind].add(status, confirmation, n)
        if sub is not None:
            subs.setdefault(sub, {}).setdefault(kind, Completion()).add(status, confirmation, n)
        by_provider.setdefault(provider_id, {}).setdefault(kind, Completion()).add(status, confirmation, n)
        if centre_id is not None:
            by_centre.setdefault(centre_id, {}).setdefault(kind, Completion()).add(status, confirmation, n)

    def full(per_kind):
        return {kind: per_kind.get(kind) or Completion() for kind in kinds}

    by_region = []
    if sub_index is not None:
        child_regions = tree.children(region_id) if region_id else [
            r for r in tree.rows.values() if r.level == Region.Level.CITY and tree.resolve(r.pk) == r.pk]
        seen = set()
        for r in sorted(child_regions, key=lambda r: r.code):
            seen.add(r.pk)
            by_region.append(GroupRow(r.code, r.name, r.pk, full(subs.get(r.pk, {}))))
        for rid in sorted(set(subs) - seen, key=lambda rid: tree.get(rid).code):
            r = tree.get(rid)
            by_region.append(GroupRow(r.code, r.name, r.pk, full(subs[rid])))
    provider_rows = sorted(
        (GroupRow(providers[pid].code, providers[pid].name, pid, full(per_kind))
         for pid, per_kind in by_provider.items()),
        key=lambda g: g.code,
    )
    centre_rows = sorted(
        (GroupRow(*centres.get(cid, ("", "")), cid, full(per_kind)) for cid, per_kind in by_centre.items()),
        key=lambda g: (g.name, g.code),
    )
    trend = []
    for code in trend_periods:
        c = Completion()
        for (p, status), n in trend_counts.items():
            if p == code:
                c.add(status, n=n)
        trend.append(TrendRow(code, period_label(code), c.owed, c.done))
    overdue.sort(key=lambda o: (o.period, periods.KINDS.index(o.kind), o.provider_code, o.centre_code))
    return Report(
        region=region_row, period=period, as_of=as_of, coverage_day=day, provider=provider, kinds=kinds,
        coverage=cov, completion=completion, by_region=by_region, by_provider=provider_rows,
        by_centre=centre_rows, trend=trend, overdue=overdue, settings_used=settings_used(),
        generated_at=timezone.localtime(), regions_on_day=tree.rows, used_stored_statuses=used_stored,
    )


def centre_obligations(*, centre, period, provider=None, as_of=None, user=None):
    """The obligations owed to one centre in the report's periods, each with its status as of
    `as_of` and its confirmation: the last step of the drill-down. Three queries."""
    as_of = as_of or default_as_of(period)
    qs = obligations_in_scope(user=user, provider=provider).filter(
        contract__centre=centre, period__in=report_periods(period))
    rows = list(qs.values_list("pk", "kind", "period", "resolution", "done_on", "contract__provider__code",
                               "contract__provider__name"))
    planned = _planned_dates(qs)
    confirmed = _confirmations(qs, as_of, lambda _contract_id: centre.pk)
    status_of = _StatusOf(as_of)
    result = [
        ObligationRow(pk, ob_period, kind, p_code, p_name, centre.code, centre.name, planned.get(pk), done_on,
                      status_of(ob_period, resolution, done_on, planned.get(pk)), confirmed.get(pk, UNCONFIRMED))
        for pk, kind, ob_period, resolution, done_on, p_code, p_name in rows
    ]
    result.sort(key=lambda o: (o.period, periods.KINDS.index(o.kind), o.provider_code))
    return result
