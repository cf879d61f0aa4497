"""The session planner: obligations, existing sessions and the work calendar in, a plan out.

Pure, deterministic and idempotent (design.md, "Scheduling rules"):

- Sessions fall on working days (scheduling.workdays), avoid centre closures, and respect each
  provider's daily capacity: (doctors - doctors on leave) x per_doctor_per_day, one doctor at
  most per_doctor_per_day sessions a day in time slots that do not overlap.
- New sessions are spread evenly over each quarter's working days, leaving the last
  `buffer_working_days` working days of every quarter free for rescheduling; supervision (a
  yearly obligation) is spread over the whole year, avoiding the same buffers.
- `staff_training` (and, if configured, `parent_lecture`) obligations of one provider, one
  township and one period share sessions of up to `group_size` centres.
- A centre never has two sessions on one day, and its supervision is never in the ISO week of
  one of its guidance sessions.
- In a year without a notice, the likely bridge days (可能调休, WorkYear.possible_bridge_days)
  are avoided while another day will do.
- Existing sessions that are still valid are kept where they are; invalid ones are moved to the
  nearest valid day outside the quarters' buffers (later days of their window first, then
  earlier), and into a buffer only when nothing else is left, saying so; each with a reason.
  Pinned sessions (held, recorded or moved by hand) are never moved or cancelled: one that now
  falls on a day that is not a working day is listed in `Plan.decisions` for a person to decide.
  With `PlannerInput.today`, sessions before that day are never moved, and nothing moves to it.
  Feeding the plan back in as the existing sessions gives a plan with nothing to create, move or
  cancel.

Callers load, call, save: no ORM here. New sessions ignore `today`: a caller that must not plan
in the past clips each ObligationIn.start to the first plannable day.
Dates are local dates (Asia/Shanghai); times are naive local wall-clock times.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from operator import itemgetter
from typing import NamedTuple

from scheduling import periods
from scheduling.periods import (
    GUIDANCE,
    KIND_LABELS,
    KINDS,
    PARENT_LECTURE,
    STAFF_TRAINING,
    SUPERVISION,
)
from scheduling.workdays import WorkYear, is_working_day, work_year_for

Slot = tuple[time, time]

MORNING: Slot = (time(9, 0), time(11, 0))
AFTERNOON: Slot = (time(14, 0), time(16, 0))
LATE_AFTERNOON: Slot = (time(16, 30), time(18, 0))

# Reasons given to the people whose calendar changes (Chinese: shown as is).
REASON_CLOSED = "托育机构闭园"
REASON_CAPACITY = "超出当日接待能力"
REASON_OUTSIDE = "不在服务周期内"
REASON_CENTRE_BUSY = "托育机构当日已有其他服务"
REASON_SAME_WEEK = "督导与业务指导在同一周"
REASON_DOCTOR_BUSY = "医生该时段已有安排"
REASON_DOCTOR_AWAY = "医生请假"
CANCEL_OBLIGATIONS_CANCELLED = "所服务的义务均已取消"
CANCEL_OBLIGATIONS_GONE = "所服务的义务已不存在"
CANCEL_DUPLICATE = "所服务的义务已另有排期"
CANCEL_NO_DAY = "服务周期内已无可用日期"
NOTE_IN_BUFFER = "缓冲期外已无可用日期，改在季度末缓冲期内"
NOTE_ON_BRIDGE = "其他日期已满，改在可能调休的日期"
DECISION_DAY_OFF = "人工安排的场次落在非工作日，需要决定是否改期"


def reason_day_off(day: date) -> str:
    return f"{day.isoformat()} 为法定节假日"


def reason_not_working(day: date) -> str:
    return f"{day.isoformat()} 不是工作日"


def _default_slots() -> dict[str, list[Slot]]:
    return {
        GUIDANCE: [MORNING, AFTERNOON],
        STAFF_TRAINING: [MORNING, AFTERNOON],
        SUPERVISION: [MORNING, AFTERNOON],
        PARENT_LECTURE: [LATE_AFTERNOON],
    }


# --- inputs -------------------------------------------------------------------------------------


class ObligationIn(NamedTuple):
    """One obligation to serve. start..end (inclusive): the days of the period the contract is
    in force, i.e. the period's bounds clipped to the contract (periods.in_force_window).

    ObligationIn and NewSession are NamedTuples, not frozen dataclasses: a year's plan makes
    one per obligation and per session (10^5 at province scale), and a frozen dataclass takes
    six times as long to build (one object.__setattr__ per field). Build them positionally in
    bulk code: keywords cost as much again."""

    id: int
    provider_id: int
    centre_id: int
    township_id: int
    kind: str
    period: str
    start: date
    end: date


@dataclass(frozen=True)
class ExistingSession:
    """A session already in the calendar. `pinned`: held/recorded or moved by hand; the planner
    never moves or cancels it, but it still takes its doctor, its centres' day and capacity."""

    id: int
    provider_id: int
    kind: str
    day: date
    start: time
    end: time
    obligation_ids: tuple[int, ...]
    centre_ids: tuple[int, ...]
    doctor_slot: int | None
    pinned: bool = False


@dataclass(frozen=True)
class PlannerInput:
    """Everything the planner looks at. `doctors`: provider id -> number of doctors. `leave`:
    provider id -> {day: doctors on leave that day}. `closures`: centre id -> closed days.
    `work_years`: year -> WorkYear; a missing year is planned as estimated (workdays.estimated_year).
    `today`: sessions before it are in the past: never moved, and nothing is moved before it."""

    obligations: Sequence[ObligationIn]
    sessions: Sequence[ExistingSession] = ()
    work_years: dict[int, WorkYear] = field(default_factory=dict)
    closures: dict[int, frozenset[date]] = field(default_factory=dict)
    doctors: dict[int, int] = field(default_factory=dict)
    leave: dict[int, dict[date, int]] = field(default_factory=dict)
    cancelled_obligation_ids: frozenset[int] = frozenset()
    today: date | None = None


@dataclass(frozen=True)
class PlannerSettings:
    per_doctor_per_day: int = 2
    buffer_working_days: int = 10
    group_size: int = 5
    group_parent_lectures: bool = False
    # kind -> time slots in order of preference; a doctor's sessions of one day never overlap.
    slots: dict[str, list[Slot]] = field(default_factory=_default_slots)

    def __post_init__(self):
        if self.per_doctor_per_day < 1 or self.group_size < 1 or self.buffer_working_days < 0:
            raise ValueError("per_doctor_per_day and group_size must be >= 1, buffer_working_days >= 0")
        for kind in KINDS:
            if not self.slots.get(kind):
                raise ValueError(f"no time slot configured for {kind!r}")

    def grouped(self, kind: str) -> bool:
        return kind == STAFF_TRAINING or (kind == PARENT_LECTURE and self.group_parent_lectures)


# --- outputs ------------------------------------------------------------------------------------


class NewSession(NamedTuple):
    provider_id: int
    kind: str
    day: date
    start: time
    end: time
    obligation_ids: tuple[int, ...]
    centre_ids: tuple[int, ...]
    doctor_slot: int
    estimated: bool


@dataclass(frozen=True)
class Move:
    session_id: int
    day: date
    start: time
    end: time
    doctor_slot: int
    reason: str
    estimated: bool


@dataclass(frozen=True)
class Cancel:
    session_id: int
    reason: str


@dataclass(frozen=True)
class Decision:
    """A pinned session the planner may not move that now falls where it should not be."""

    session_id: int
    day: date
    reason: str


@dataclass
class Plan:
    create: list[NewSession] = field(default_factory=list)
    keep: list[int] = field(default_factory=list)
    move: list[Move] = field(default_factory=list)
    cancel: list[Cancel] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)  # not a change: the session stays

    @property
    def changes_anything(self) -> bool:
        return bool(self.create or self.move or self.cancel)


# --- the calendar and the board -----------------------------------------------------------------


def _days_between(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


class _Calendar:
    """Working days per year and plannable days per period, computed once per plan() call."""

    def __init__(self, work_years: dict[int, WorkYear], buffer_working_days: int):
        self._work_years = work_years
        self._buffer = buffer_working_days
        self._years: dict[int, tuple[WorkYear, frozenset[date], list[date]]] = {}
        self._plannable: dict[str, list[date]] = {}
        self._bridges: dict[tuple[int, int], bool] = {}

    def _year(self, year: int) -> tuple[WorkYear, frozenset[date], list[date]]:
        cached = self._years.get(year)
        if cached is None:
            work_year = work_year_for(year, self._work_years)
            days = [d for d in _days_between(date(year, 1, 1), date(year, 12, 31))
                    if is_working_day(d, work_year)]
            cached = self._years[year] = (work_year, frozenset(days), days)
        return cached

    def is_working(self, day: date) -> bool:
        return day in self._year(day.year)[1]

    def estimated(self, day: date) -> bool:
        return self._year(day.year)[0].estimated

    def is_bridge(self, day: date) -> bool:
        return day in self._year(day.year)[0].possible_bridge_days

    def has_bridges(self, first: date, last: date) -> bool:
        key = (first.year, last.year)
        found = self._bridges.get(key)
        if found is None:
            found = self._bridges[key] = any(self._year(year)[0].possible_bridge_days
                                             for year in range(first.year, last.year + 1))
        return found

    def not_working_reason(self, day: date) -> str:
        work_year = self._year(day.year)[0]
        return reason_day_off(day) if day in work_year.days_off else reason_not_working(day)

    def working_between(self, first: date, last: date) -> list[date]:
        days: list[date] = []
        for year in range(first.year, last.year + 1):
            of_year = self._year(year)[2]
            days.extend(of_year[bisect_left(of_year, first):bisect_right(of_year, last)])
        return days

    def plannable(self, code: str) -> list[date]:
        """Working days of a period where new sessions may go: every quarter's last
        `buffer_working_days` working days are left out (for a year: of each of its quarters)."""
        cached = self._plannable.get(code)
        if cached is None:
            year, quarter = periods.parse_period(code)
            cached = []
            for q in [quarter] if quarter else [1, 2, 3, 4]:
                days = self.working_between(*periods.period_bounds(periods.quarter_code(year, q)))
                cached.extend(days[:max(0, len(days) - self._buffer)])
            self._plannable[code] = cached
        return cached

    def plannable_in(self, code: str, start: date, end: date) -> list[date]:
        days = self.plannable(code)
        return days[bisect_left(days, start):bisect_right(days, end)]


_WEEK_RIVAL = {GUIDANCE: SUPERVISION, SUPERVISION: GUIDANCE}


class _Board:
    """Who is busy when: sessions per provider and day, each doctor's time slots, centres' days
    and the ISO weeks of each centre's guidance and supervision. Everything keyed by ids and
    dates in dicts and sets, so each check is O(centres of the session)."""

    def __init__(self, inp: PlannerInput, settings: PlannerSettings, calendar: _Calendar):
        self.calendar = calendar
        self.per_doctor = settings.per_doctor_per_day
        self.doctors = inp.doctors
        self.leave = inp.leave
        self.closures = inp.closures
        self.load: dict[tuple[int, date], int] = defaultdict(int)
        self.seats: dict[tuple[int, date], dict[int, list[Slot]]] = {}
        self.centre_days: set[tuple[int, date]] = set()
        self.weeks: dict[str, set[tuple[int, int, int]]] = {GUIDANCE: set(), SUPERVISION: set()}
        self._iso_weeks: dict[date, tuple[int, int]] = {}  # day -> (ISO year, ISO week)
        # (provider, period) -> plannable days not known to be full. Full days are dropped lazily
        # when a search meets them, so an overbooked provider fails fast instead of rescanning.
        self._open: dict[tuple[int, str], list[date]] = {}

    def open_days(self, provider_id: int, period: str) -> list[date]:
        days = self._open.get((provider_id, period))
        if days is None:
            days = self._open[(provider_id, period)] = list(self.calendar.plannable(period))
        return days

    def drop_full(self, provider_id: int, period: str, full: list[date]) -> None:
        days = self.open_days(provider_id, period)
        for day in full:
            index = bisect_left(days, day)
            if index < len(days) and days[index] == day:
                del days[index]

    def is_full(self, provider_id: int, day: date) -> bool:
        return self.load.get((provider_id, day), 0) >= self.doctors_on(provider_id, day) * self.per_doctor

    def doctors_on(self, provider_id: int, day: date) -> int:
        on_leave = self.leave.get(provider_id)
        away = on_leave.get(day, 0) if on_leave else 0
        return max(0, self.doctors.get(provider_id, 0) - away)

    def iso_week(self, day: date) -> tuple[int, int]:
        week = self._iso_weeks.get(day)
        if week is None:
            week = self._iso_weeks[day] = day.isocalendar()[:2]
        return week

    def problem(self, provider_id: int, kind: str, day: date, centres: Sequence[int]) -> str | None:
        """Why `day` cannot take one more session (doctor seat aside), or None."""
        if not self.calendar.is_working(day):
            return self.calendar.not_working_reason(day)
        found = self.centres_problem(kind, day, centres)
        if found is None and self.is_full(provider_id, day):
            return REASON_CAPACITY
        return found

    def centres_problem(self, kind: str, day: date, centres: Sequence[int]) -> str | None:
        """Why the centres of a session cannot have it on `day` (closed, another session that
        day, guidance and supervision in one week), or None. Part of problem()."""
        closures = self.closures
        for centre in centres:
            closed = closures.get(centre)
            if closed and day in closed:
                return REASON_CLOSED
        centre_days = self.centre_days
        for centre in centres:
            if (centre, day) in centre_days:
                return REASON_CENTRE_BUSY
        rival = _WEEK_RIVAL.get(kind)
        if rival is not None:
            iso_year, iso_week = self.iso_week(day)
            rival_weeks = self.weeks[rival]
            for centre in centres:
                if (centre, iso_year, iso_week) in rival_weeks:
                    return REASON_SAME_WEEK
        return None

    def _fits(self, taken: list[Slot], slot: Slot) -> bool:
        if len(taken) >= self.per_doctor:
            return False
        start, end = slot
        for s, e in taken:
            if start < e and s < end:
                return False
        return True

    def seat_problem(self, provider_id: int, day: date, doctor_slot: int, slot: Slot) -> str | None:
        """Why this doctor cannot take this time slot that day, or None."""
        if not 0 <= doctor_slot < self.doctors_on(provider_id, day):
            on_leave = self.leave.get(provider_id)
            return REASON_DOCTOR_AWAY if on_leave and on_leave.get(day) else REASON_CAPACITY
        taken = self.seats.get((provider_id, day), {}).get(doctor_slot, [])
        return None if self._fits(taken, slot) else REASON_DOCTOR_BUSY

    def find_seat(self, provider_id: int, day: date, slots: Sequence[Slot]) -> tuple[int, Slot] | None:
        """The first slot (in preference order) some doctor is free for; among free doctors
        the least busy that day, then the lowest number."""
        taken = self.seats.get((provider_id, day))
        doctors = range(self.doctors_on(provider_id, day))
        if not taken:  # nobody busy yet: the first doctor, the first slot
            return (0, slots[0]) if doctors and self.per_doctor else None
        doctors = sorted(doctors, key=lambda d: (len(taken.get(d, ())), d))
        for slot in slots:
            for doctor in doctors:
                if self._fits(taken.get(doctor, []), slot):
                    return doctor, slot
        return None

    def occupy(self, provider_id: int, kind: str, day: date, centres: Sequence[int],
               doctor_slot: int | None, slot: Slot) -> None:
        self.load[(provider_id, day)] += 1
        if doctor_slot is not None:
            self.seats.setdefault((provider_id, day), {}).setdefault(doctor_slot, []).append(slot)
        for centre in centres:
            self.centre_days.add((centre, day))
        weeks = self.weeks.get(kind)
        if weeks is not None:
            iso_year, iso_week = self.iso_week(day)
            for centre in centres:
                weeks.add((centre, iso_year, iso_week))


# --- units of new work --------------------------------------------------------------------------


@dataclass(slots=True)
class _Unit:
    """Obligations that will share one new session."""

    provider_id: int
    kind: str
    period: str
    township_id: int
    obligations: list[ObligationIn]
    start: date
    end: date
    centres: list[int]  # ascending; obligations join in centre order

    def add(self, ob: ObligationIn) -> None:
        self.obligations.append(ob)
        self.centres.append(ob.centre_id)
        self.start, self.end = max(self.start, ob.start), min(self.end, ob.end)

    def sort_key(self) -> tuple:
        return (_KIND_ORDER[self.kind], self.township_id, self.centres[0], self.obligations[0].id)


_KIND_ORDER = {kind: index for index, kind in enumerate(KINDS)}


def _single(ob: ObligationIn) -> _Unit:
    return _Unit(ob.provider_id, ob.kind, ob.period, ob.township_id, [ob], ob.start, ob.end, [ob.centre_id])


def _units(todo: list[ObligationIn], settings: PlannerSettings) -> dict[tuple[int, str], list[_Unit]]:
    """Group what still needs a session, keyed by (provider, period), each list in placement
    order. Grouped kinds: centres sorted by id fill groups of up to group_size, first fit; a
    centre joins a group only if their windows share at least one day."""
    by_bucket: dict[tuple, list[ObligationIn]] = defaultdict(list)
    units: dict[tuple[int, str], list[_Unit]] = defaultdict(list)
    grouped = {kind for kind in KINDS if settings.grouped(kind)}
    for ob in todo:
        if ob.kind in grouped:
            by_bucket[(ob.provider_id, ob.kind, ob.period, ob.township_id)].append(ob)
        else:
            units[(ob.provider_id, ob.period)].append(_single(ob))
    for bucket in sorted(by_bucket):
        open_groups: list[_Unit] = []
        for ob in sorted(by_bucket[bucket], key=lambda o: (o.centre_id, o.id)):
            for group in open_groups:
                if (ob.centre_id not in group.centres
                        and max(group.start, ob.start) <= min(group.end, ob.end)):
                    group.add(ob)
                    if len(group.obligations) >= settings.group_size:
                        open_groups.remove(group)
                    break
            else:
                group = _single(ob)
                units[(ob.provider_id, ob.period)].append(group)
                if settings.group_size > 1:
                    open_groups.append(group)
    for unit_list in units.values():
        unit_list.sort(key=_Unit.sort_key)
    return units


def _outward(target: int, size: int) -> Iterator[int]:
    """target, target+1, target-1, target+2, ... within 0..size-1: the nearest day first,
    the later one on a tie."""
    yield target
    for step in range(1, size):
        later, earlier = target + step, target - step
        if later < size:
            yield later
        if earlier >= 0:
            yield earlier
        if later >= size and earlier < 0:
            return


# --- plan ---------------------------------------------------------------------------------------


def _check_obligations(obligations: Sequence[ObligationIn]) -> dict[int, ObligationIn]:
    by_id: dict[int, ObligationIn] = {}
    bounds: dict[tuple[str, str], tuple[date, date]] = {}  # (kind, period) -> the period's bounds
    for ob in obligations:
        if ob.id in by_id:
            raise ValueError(f"obligation {ob.id} given twice")
        first_last = bounds.get((ob.kind, ob.period))
        if first_last is None:
            if ob.kind not in KINDS or not periods.kind_matches_period(ob.kind, ob.period):
                raise ValueError(f"obligation {ob.id}: kind {ob.kind!r} does not fit period {ob.period!r}")
            first_last = bounds[(ob.kind, ob.period)] = periods.period_bounds(ob.period)
        first, last = first_last
        if not first <= ob.start <= ob.end <= last:
            raise ValueError(f"obligation {ob.id}: {ob.start}..{ob.end} is not inside {ob.period}")
        by_id[ob.id] = ob
    return by_id


def _warning(ob: ObligationIn) -> str:
    return (f"义务 {ob.id}（{KIND_LABELS[ob.kind]}，{ob.period}，托育机构 {ob.centre_id}，"
            f"医疗卫生机构 {ob.provider_id}）：{ob.start}至{ob.end}内已无可用日期，未排期")


def plan(inp: PlannerInput, settings: PlannerSettings | None = None) -> Plan:
    """Plan sessions for `inp.obligations`; see the module docstring for the rules.

    Deterministic: everything is processed in id/date order. Raises ValueError on malformed
    obligations (unknown kind, kind/period mismatch, start..end outside the period, duplicate id).
    """
    settings = settings or PlannerSettings()
    obligations = _check_obligations(inp.obligations)
    cancelled = inp.cancelled_obligation_ids
    calendar = _Calendar(inp.work_years, settings.buffer_working_days)
    board = _Board(inp, settings, calendar)
    result = Plan()
    covered: set[int] = set()

    # 1. Existing sessions: pinned ones first (they stand whatever happens), then by id, so the
    #    older of two clashing sessions stays.
    to_move: list[tuple[ExistingSession, list[ObligationIn], str]] = []
    for session in sorted(inp.sessions, key=lambda s: (not s.pinned, s.id)):
        active = sorted({i for i in session.obligation_ids if i in obligations and i not in cancelled})
        obs = [obligations[i] for i in active]
        centres = sorted({o.centre_id for o in obs}) if obs else sorted(set(session.centre_ids))
        slot = (session.start, session.end)
        past = inp.today is not None and session.day < inp.today
        if session.pinned:
            board.occupy(session.provider_id, session.kind, session.day, centres, session.doctor_slot, slot)
            result.keep.append(session.id)
            covered.update(active)
            if not past and not calendar.is_working(session.day):
                result.decisions.append(Decision(
                    session.id, session.day, f"{DECISION_DAY_OFF}（{calendar.not_working_reason(session.day)}）"))
            continue
        if not obs:
            gone = any(i not in obligations for i in session.obligation_ids) or not session.obligation_ids
            result.cancel.append(Cancel(session.id, CANCEL_OBLIGATIONS_GONE if gone
                                        else CANCEL_OBLIGATIONS_CANCELLED))
            continue
        if covered.issuperset(active):
            result.cancel.append(Cancel(session.id, CANCEL_DUPLICATE))
            continue
        start, end = max(o.start for o in obs), min(o.end for o in obs)
        if not start <= session.day <= end:
            problem = REASON_OUTSIDE
        else:
            problem = board.problem(session.provider_id, session.kind, session.day, centres)
        if problem is None and session.doctor_slot is not None:
            problem = board.seat_problem(session.provider_id, session.day, session.doctor_slot, slot)
        if problem is None or past:  # a past session stays where it was, valid or not
            board.occupy(session.provider_id, session.kind, session.day, centres, session.doctor_slot, slot)
            result.keep.append(session.id)
            covered.update(active)
        else:
            to_move.append((session, obs, problem))

    # 2. Move the invalid ones: the same day with another doctor if only the doctor clashed, then
    #    the nearest later plannable day of their window (outside the buffers, no likely bridge
    #    day), then the nearest earlier one; only then the other working days, nearest first, with
    #    a note. Never before `today`. A moved session keeps its time if it can.
    for session, obs, reason in to_move:
        if covered.issuperset(o.id for o in obs):
            result.cancel.append(Cancel(session.id, CANCEL_DUPLICATE))
            continue
        centres = sorted({o.centre_id for o in obs})
        start, end = max(o.start for o in obs), min(o.end for o in obs)
        if inp.today is not None:
            start = max(start, inp.today)
        own = (session.start, session.end)
        slots = [own, *(s for s in settings.slots.get(session.kind, [MORNING, AFTERNOON]) if s != own)]
        placed = None
        for day, note in _move_candidates(session.day, obs[0].period, start, end, calendar):
            if board.problem(session.provider_id, session.kind, day, centres) is None:
                seat = board.find_seat(session.provider_id, day, slots)
                if seat is not None:
                    placed = day, seat
                    reason = f"{reason}；{note}" if note else reason
                    break
        if placed is None:
            # Its obligations fall back into the pool of new work below (and get a warning there
            # if nothing is found either).
            result.cancel.append(Cancel(session.id, f"{CANCEL_NO_DAY}（{reason}）"))
            continue
        day, (doctor, slot) = placed
        board.occupy(session.provider_id, session.kind, day, centres, doctor, slot)
        result.move.append(Move(session.id, day, slot[0], slot[1], doctor, reason, calendar.estimated(day)))
        covered.update(o.id for o in obs)

    # 3. New sessions for what is still uncovered, provider by provider; quarters before years
    #    so supervision finds the guidance weeks already placed.
    todo = [ob for ob_id, ob in sorted(obligations.items()) if ob_id not in covered and ob_id not in cancelled]
    units = _units(todo, settings)
    order = sorted(units, key=lambda key: (key[0], not periods.is_quarter(key[1]), key[1]))
    for provider_id, period in order:
        unit_list = units[(provider_id, period)]
        for index, unit in enumerate(unit_list):
            fraction = (index + 0.5) / len(unit_list)
            new = _place_new(unit, fraction, board, calendar, settings)
            if new is None and len(unit.obligations) > 1:
                # No common day for the whole group: serve its centres one by one.
                for ob in unit.obligations:
                    single = _place_new(_single(ob), fraction, board, calendar, settings)
                    if single is None:
                        result.warnings.append(_warning(ob))
                    else:
                        result.create.append(single)
            elif new is None:
                result.warnings.append(_warning(unit.obligations[0]))
            else:
                result.create.append(new)

    result.keep.sort()
    result.move.sort(key=lambda m: m.session_id)
    result.cancel.sort(key=lambda c: c.session_id)
    result.create.sort(key=_CREATE_ORDER)
    result.decisions.sort(key=lambda d: d.session_id)
    return result


# NewSession by day, provider, start, doctor, obligations (a C-level key: 10^5 sessions)
_CREATE_ORDER = itemgetter(NewSession._fields.index("day"), NewSession._fields.index("provider_id"),
                           NewSession._fields.index("start"), NewSession._fields.index("doctor_slot"),
                           NewSession._fields.index("obligation_ids"))


def _move_candidates(day: date, period: str, start: date, end: date,
                     calendar: _Calendar) -> Iterator[tuple[date, str]]:
    """Days a session of `period` on `day` may move to, best first, each with the note its
    reason gets: `day` itself (another doctor), then the plannable days of start..end that are
    no likely bridge day, then its other working days (a buffer, then a bridge day)."""
    if start > end:
        return
    days = calendar.working_between(start, end)
    plannable = set(calendar.plannable_in(period, start, end))
    if start <= day <= end and calendar.is_working(day):
        yield day, ""
    nearest = [*days[bisect_right(days, day):], *reversed(days[:bisect_left(days, day)])]
    for candidate in nearest:
        if candidate in plannable and not calendar.is_bridge(candidate):
            yield candidate, ""
    for candidate in nearest:
        if candidate not in plannable:
            yield candidate, NOTE_IN_BUFFER
        elif calendar.is_bridge(candidate):
            yield candidate, NOTE_ON_BRIDGE


def _place_new(unit: _Unit, fraction: float, board: _Board, calendar: _Calendar,
               settings: PlannerSettings) -> NewSession | None:
    """Put `unit` on the free plannable day nearest to its even-spread target (`fraction` of the
    way through its window), or return None when no plannable day of its window is free."""
    provider_id, kind, start, end = unit.provider_id, unit.kind, unit.start, unit.end
    # the window: the plannable days of start..end (calendar.plannable_in, without the copy)
    plannable = calendar.plannable(unit.period)
    first_day, past_last = bisect_left(plannable, start), bisect_right(plannable, end)
    if first_day == past_last:
        return None
    size = past_last - first_day
    target = plannable[first_day + min(int(fraction * size), size - 1)]
    days = board.open_days(provider_id, unit.period)
    low, high = bisect_left(days, start), bisect_right(days, end)
    if low == high:
        return None
    first = min(bisect_left(days, target, low, high), high - 1) - low
    centres = unit.centres
    slots = settings.slots[kind]
    full: list[date] = []
    # Likely bridge days last: a first pass without them, a second only if it found nothing.
    passes = (True, False) if calendar.has_bridges(start, end) else (False,)
    try:
        for avoid_bridges in passes:
            for index in _outward(first, high - low):
                day = days[low + index]
                if avoid_bridges and calendar.is_bridge(day):
                    continue
                if board.is_full(provider_id, day):
                    full.append(day)
                    continue
                # board.problem but for what holds on an open plannable day: a working day,
                # not full (just checked)
                if board.centres_problem(kind, day, centres) is not None:
                    continue
                seat = board.find_seat(provider_id, day, slots)
                if seat is None:
                    continue
                doctor, slot = seat
                board.occupy(provider_id, kind, day, centres, doctor, slot)
                obligations = unit.obligations
                return NewSession(  # positionally: see ObligationIn
                    provider_id, kind, day, slot[0], slot[1],
                    (obligations[0].id,) if len(obligations) == 1 else tuple(sorted(o.id for o in obligations)),
                    tuple(centres), doctor, calendar.estimated(day))
        return None
    finally:
        if full:
            board.drop_full(provider_id, unit.period, full)
