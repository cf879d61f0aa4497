"""The plan of a mid-size random registry, every row of it, is the one the planner gave before
its speed-ups (issue 16, "Planning near the floor"): a speed-up must not move a single session.

Each test builds its input deterministically (random.Random with a fixed seed), plans it, and
compares a SHA-256 of the whole output, written out by natural values (dates, times, ids or
codes, never a Python repr), with the digest recorded from the code before the speed-ups.

If a planning *rule* changes on purpose, these digests change too: check the new plan by the
rule's own tests, then record the new digest (the assertion message prints it) and say why in
the commit.
"""

import datetime
import hashlib
import random
from datetime import date, time

import pytest

from mch_link.models import Centre, CentreGrade, Contract, Grade, Membership, Provider, Region, Role
from scheduling.models import CentreClosure, DoctorLeave, Obligation, Session
from scheduling.periods import in_force_window, owed_periods
from scheduling.planner import ExistingSession, ObligationIn, PlannerInput, PlannerSettings, plan
from scheduling.services import schedule_generate
from scheduling.workdays import from_chinese_calendar
from tests import factories as f

YEAR = 2027  # no notice in chinesecalendar: estimated, with likely bridge days


def digest(lines):
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def plan_lines(result):
    """Every decision of a Plan, one line each, by value."""
    out = [f"create {n.provider_id} {n.kind} {n.day} {n.start} {n.end} {n.obligation_ids} {n.centre_ids} "
           f"{n.doctor_slot} {n.estimated}" for n in result.create]
    out += [f"keep {pk}" for pk in result.keep]
    out += [f"move {m.session_id} {m.day} {m.start} {m.end} {m.doctor_slot} {m.estimated} {m.reason}"
            for m in result.move]
    out += [f"cancel {c.session_id} {c.reason}" for c in result.cancel]
    out += [f"warn {w}" for w in result.warnings]
    out += [f"decide {d.session_id} {d.day} {d.reason}" for d in result.decisions]
    return out


# --- the pure planner: a first plan, then a re-plan of a disturbed calendar ----------------------


def random_input(rng, year):
    """Five providers (one short of doctors), 240 centres in 8 townships, contracts starting
    anywhere in the year, closures and leave."""
    obligations, closures, doctors, leave = [], {}, {}, {}
    next_id = 1
    for provider in range(1, 6):
        doctors[provider] = 1 if provider == 5 else rng.randint(2, 4)
        leave[provider] = {date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365)): rng.randint(1, 2)
                           for _ in range(rng.randint(0, 25))}
    for centre in range(1, 241):
        township = 100 + centre % 8
        for provider in {1 + centre % 4, 5} if centre % 3 == 0 else {1 + centre % 4}:
            valid_from = date(year, 1, 1) + datetime.timedelta(days=rng.choice([0, 0, 0, rng.randrange(300)]))
            for kind, period in owed_periods(valid_from, None, year):
                start, end = in_force_window(valid_from, None, period)
                obligations.append(ObligationIn(next_id, provider, centre, township, kind, period, start, end))
                next_id += 1
        if rng.random() < 0.3:
            closures[centre] = frozenset(date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))
                                         for _ in range(rng.randint(1, 30)))
    rng.shuffle(obligations)  # the planner's order must not depend on the input's
    return obligations, closures, doctors, leave


def disturbed(rng, result, year):
    """The sessions of `result` as stored, some moved by hand to random days (weekends, closed
    days, clashes), some pinned."""
    sessions = []
    for pk, n in enumerate(result.create, start=1):
        day, start, end, slot, pinned = n.day, n.start, n.end, n.doctor_slot, False
        draw = rng.random()
        if draw < 0.1:
            day = date(year, 1, 1) + datetime.timedelta(days=rng.randrange(365))
            pinned = draw < 0.02
        elif draw < 0.12:
            pinned = True
        elif draw < 0.15:
            start, end, slot = time(14, 0), time(16, 0), 0
        sessions.append(ExistingSession(pk, n.provider_id, n.kind, day, start, end, n.obligation_ids, n.centre_ids,
                                        slot, pinned))
    return sessions


def test_the_planner_gives_the_recorded_plan_of_a_random_registry_and_of_its_re_plan():
    rng = random.Random(16)
    obligations, closures, doctors, leave = random_input(rng, YEAR)
    settings = PlannerSettings(group_parent_lectures=True, group_size=4)
    first = plan(PlannerInput(obligations=obligations, closures=closures, doctors=doctors, leave=leave), settings)
    sessions = disturbed(rng, first, YEAR)
    cancelled = frozenset(o.id for o in obligations if rng.random() < 0.03)
    more_leave = {p: {**days, date(YEAR, 5, 10): doctors[p]} for p, days in leave.items()}
    again = plan(PlannerInput(obligations=obligations, sessions=sessions, closures=closures, doctors=doctors,
                              leave=more_leave, cancelled_obligation_ids=cancelled, today=date(YEAR, 4, 20)),
                 settings)
    # an official year too: make-up working days, no bridge days
    official = plan(PlannerInput(obligations=random_input(random.Random(26), 2026)[0],
                                 work_years={2026: from_chinese_calendar(2026)}, doctors=doctors))

    assert (len(first.create), len(first.warnings)) == (1997, 283)
    assert (len(again.keep), len(again.move), len(again.cancel), len(again.create), len(again.decisions)) == \
        (1835, 105, 57, 40, 13)
    found = {name: digest(plan_lines(result))
             for name, result in (("first", first), ("again", again), ("official", official))}
    assert found == {
        "first": "cb6106338213f09c509cb9deed48ee9a6d1a11f215dfce48d0f226606e006b20",
        "again": "fd684efc842e07aee8fc2865af22d336354067bd0a5be47f8553593d72291157",
        "official": "9cfb0e970fb10bf7d91b2de5ff28fd26b69ff3deb30f47b9f5629f837fdb10f3",
    }, found


# --- the whole service: sync, plan, write, statuses --------------------------------------------


def build_registry(rng):
    """Two counties, 12 townships, their providers and doctors, 160 centres (some graded, so
    county and city contracts too), contracts starting anywhere in 2027 (some ending early),
    closures and leave. Rows in a fixed order, so the ids' order is the same on every database."""
    city = f.region("339900", "测试市")
    counties = [f.region(f"3399{i:02d}", f"第{i}区", parent=city) for i in (1, 2)]
    townships = [f.region(f"{counties[i % 2].code}{i:03d}", f"第{i}{'街道' if i % 3 else '镇'}",
                          parent=counties[i % 2]) for i in range(12)]
    providers = [f.provider("G-CITY", "测试市妇幼保健院", Provider.Kind.CITY_MCH, city, doctors=2)]
    providers += [f.provider(f"G-{c.code}", f"{c.name}妇幼", Provider.Kind.COUNTY_MCH, c, doctors=2) for c in counties]
    providers += [f.provider(f"G-{t.code}", f"{t.name}中心", Provider.Kind.COMMUNITY if t.is_subdistrict
                             else Provider.Kind.TOWNSHIP, t, doctors=rng.randint(1, 3)) for t in townships]
    for p in providers:
        for i in range(p.doctors):
            Membership.objects.create(user=f.user(f"g-{p.code}-{i}"), role=Role.DOCTOR, provider=p)
    grades = {g.rank: g for g in Grade.objects.all()}
    centres = []
    for n in range(160):
        township = townships[rng.randrange(len(townships))]
        centres.append(Centre.objects.create(code=f.uscc(700000 + n, township.parent.code), name=f"金托育{n:03d}",
                                             township=township, filed_on=date(2024, 1, 1)))
        if rng.random() < 0.25:
            CentreGrade.objects.create(centre=centres[-1], grade=grades[rng.choice([1, 2, 3, 4])],
                                       awarded_on=date(2024, 6, 1))
    by_township = {t.pk: p for t, p in zip(townships, providers[3:], strict=True)}
    for c in centres:
        grade = CentreGrade.objects.filter(centre=c).values_list("grade__rank", flat=True).first() or 0
        chosen = [by_township[c.township_id]]
        if grade >= 2:
            chosen.append(providers[1 + counties.index(Region.objects.get(pk=c.township.parent_id))])
        if grade == 4:
            chosen.append(providers[0])
        for p in chosen:
            start = date(YEAR, 1, 1) + datetime.timedelta(days=rng.choice([0, 0, rng.randrange(330)]))
            end = date(YEAR, 12, 31) if rng.random() < 0.9 else start + datetime.timedelta(days=rng.randrange(30, 200))
            Contract.objects.create(provider=p, centre=c, status="signed", signed_on=date(2026, 11, 1),
                                    valid_from=start, valid_to=min(end, date(YEAR, 12, 31)))
        if rng.random() < 0.2:
            for _ in range(rng.randint(1, 10)):
                CentreClosure.objects.get_or_create(
                    centre=c, date=date(YEAR, 1, 1) + datetime.timedelta(days=rng.randrange(365)))
    for p in providers:
        doctors = list(Membership.objects.filter(provider=p).order_by("user__username"))
        for _ in range(rng.randint(0, 8)):
            DoctorLeave.objects.get_or_create(doctor=rng.choice(doctors).user, provider=p,
                                              date=date(YEAR, 1, 1) + datetime.timedelta(days=rng.randrange(365)))


def stored_lines():
    """The saved plan by natural keys (codes, dates), not database ids."""
    out = []
    links = {}
    for session_id, centre, kind, period in Session.obligations.through.objects.filter(live=True).values_list(
            "session_id", "obligation__contract__centre__code", "obligation__kind", "obligation__period"):
        links.setdefault(session_id, []).append(f"{centre}/{kind}/{period}")
    for row in Session.objects.order_by("date", "provider__code", "start", "doctor_slot", "pk").values_list(
            "pk", "provider__code", "kind", "date", "start", "end", "doctor_slot", "doctor__username", "status",
            "estimated", "pinned", "sequence"):
        out.append(f"session {' '.join(map(str, row[1:]))} {sorted(links.get(row[0], []))}")
    out += [f"obligation {' '.join(map(str, row))}" for row in Obligation.objects.order_by(
        "contract__provider__code", "contract__centre__code", "period", "kind").values_list(
        "contract__provider__code", "contract__centre__code", "kind", "period", "start", "end", "resolution",
        "status", "status_on", "confirmation")]
    return out


@pytest.mark.django_db
def test_schedule_generate_saves_the_recorded_plan_of_a_random_registry():
    build_registry(random.Random(16))
    report = schedule_generate(year=YEAR, today=date(2026, 12, 1))
    first = stored_lines()
    # a contract cut short and a closure added: the re-plan moves and cancels
    cut = Contract.objects.filter(provider__code__startswith="G-").order_by("pk")[7]
    Contract.objects.filter(pk=cut.pk).update(valid_to=date(YEAR, 6, 30))
    some = Session.objects.filter(provider__code__startswith="G-", date__gt=date(YEAR, 3, 1)).order_by("pk")[40]
    CentreClosure.objects.create(centre=some.obligations.first().contract.centre, date=some.date)
    again = schedule_generate(year=YEAR, today=date(2027, 3, 1))

    assert (report.obligations_created, report.created, len(report.warnings)) == (2196, 1717, 0)
    assert (len(again.moved), len(again.cancelled), again.created, len(again.obligations_cancelled)) == (1, 4, 0, 6)
    assert digest(first) == "bbafb5a7b48734d52ff82b4e7fdff6619363750b6742f93ad23602ffd3c707e4"
    assert digest(stored_lines()) == "20555436db8cefde2e0f74a16d6765ae3ccb4b6c2efc521f522a6a71a441366c"
