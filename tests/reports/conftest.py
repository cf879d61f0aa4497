"""A hand-built first quarter of 2026, every figure known in advance.

Eight contracts (c1..c8) owe 2026Q1 its three quarterly kinds (24 obligations):

| contract | provider | centre | guidance | staff_training | parent_lecture |
|---|---|---|---|---|---|
| c1 | 塔山社区 P-TS | 阳光 | on time 02-10, record confirmed | on time 03-25, record confirmed | late 04-12 |
| c2 | 塔山社区 P-TS | 小星星 | on time 02-12, record disputed | on time 03-25 | missed |
| c3 | 越城妇幼 P-YC | 阳光 | late 04-10 | on time 03-25 | missed |
| c4 | 越城妇幼 P-YC | 小星星 | missed (session moved to 03-02) | missed | missed |
| c5 | 市妇幼 P-CITY | 阳光 | cancelled | on time 03-25 | missed |
| c6 | 柯桥社区 P-KQJD | 竹韵 (柯桥区) | waived | on time 03-25 | missed |
| c7 | 塔山社区 P-TS | 晨曦 (filed 02-10) | on time 03-05 | on time 03-25 | missed |
| c8 | 富盛卫生院 P-FS | 暮云 (closed 03-01) | on time 02-01 | on time 03-25 | missed |

Not signed: 柯桥妇幼–竹韵 (county tier) and 富盛–稻香 (grassroots): 稻香 is the uncovered centre.
The stored statuses are left as schedule_generate wrote them ("planned"): the report must not
read them.
"""

import datetime
from types import SimpleNamespace

import pytest

from mch_link.models import Contract
from scheduling.models import Obligation, Record, RecordCentre, Session
from scheduling.services import schedule_generate
from tests import factories as f

D = datetime.date
AS_OF = D(2026, 4, 20)  # after 2026Q1 and its 15 grace days
YEAR_START, YEAR_END = D(2026, 1, 1), D(2026, 12, 31)


def sign(provider, centre, start=YEAR_START, end=YEAR_END, **kw):
    return Contract.objects.create(provider=provider, centre=centre, status=kw.pop("status", "signed"),
                                   signed_on=start, valid_from=start, valid_to=end, **kw)


def obligation(contract, kind, period="2026Q1"):
    return Obligation.objects.get(contract=contract, kind=kind, period=period)


def done(contract, kind, day, period="2026Q1"):
    Obligation.objects.filter(contract=contract, kind=kind, period=period).update(done_on=day)


def record(ob, day, doctor, parts):
    """A submitted record of `ob`'s session held on `day`; `parts`: {centre: confirmation}."""
    session = ob.sessions.get()
    Session.objects.filter(pk=session.pk).update(status=Session.Status.HELD, date=day)
    rec = Record.objects.create(session=session, doctor=doctor, held_on=day, start=datetime.time(9),
                                end=datetime.time(11), status=Record.Status.SUBMITTED)
    for centre, confirmation in parts.items():
        RecordCentre.objects.create(record=rec, centre=centre, confirmation=confirmation,
                                    dispute_reason="时间不符" if confirmation == "disputed" else "")
    return rec


@pytest.fixture
def case(world):
    w = world
    w.dawn = f.centre("晨曦托育", w.tashan, filed_on=D(2026, 2, 10))
    w.dusk = f.centre("暮云托育", w.fusheng, closed_on=D(2026, 3, 1))
    c = SimpleNamespace(
        c1=sign(w.tashan_chc, w.sunny), c2=sign(w.tashan_chc, w.little),
        c3=sign(w.yc_mch, w.sunny), c4=sign(w.yc_mch, w.little),
        c5=sign(w.city_mch, w.sunny), c6=sign(w.keqiao_chc, w.bamboo),
        c7=sign(w.tashan_chc, w.dawn, start=D(2026, 2, 10)),
        c8=sign(w.fusheng_thc, w.dusk, status="terminated", terminated_on=D(2026, 3, 1), termination_reason="停办"),
    )
    schedule_generate(year=2026, today=D(2026, 1, 5))
    w.c = c

    # guidance
    record(obligation(c.c1, "guidance"), D(2026, 2, 10), w.dan, {w.sunny: "confirmed"})
    done(c.c1, "guidance", D(2026, 2, 10))
    record(obligation(c.c2, "guidance"), D(2026, 2, 12), w.dan, {w.little: "disputed"})
    done(c.c2, "guidance", D(2026, 2, 12))
    done(c.c3, "guidance", D(2026, 4, 10))
    Session.objects.filter(obligations=obligation(c.c4, "guidance")).update(date=D(2026, 3, 2))
    Obligation.objects.filter(contract=c.c5, kind="guidance", period="2026Q1").update(
        resolution="cancelled", resolution_reason="机构停业整顿")
    Obligation.objects.filter(contract=c.c6, kind="guidance", period="2026Q1").update(
        resolution="waived", resolution_reason="上级检查代替")
    done(c.c7, "guidance", D(2026, 3, 5))
    done(c.c8, "guidance", D(2026, 2, 1))

    # staff_training: everyone but c4 on 03-25; c1's record confirmed by 阳光 only (in a grouped
    # session the other centres' parts stay unconfirmed)
    training = obligation(c.c1, "staff_training")
    session = training.sessions.get()
    centres = {o.contract.centre for o in session.obligations.select_related("contract__centre")}
    record(training, D(2026, 3, 25), w.dan, {centre: "confirmed" if centre == w.sunny else "unconfirmed"
                                            for centre in centres})
    for contract in (c.c1, c.c2, c.c3, c.c5, c.c6, c.c7, c.c8):
        done(contract, "staff_training", D(2026, 3, 25))

    # parent_lecture: only c1, late
    done(c.c1, "parent_lecture", D(2026, 4, 12))
    return w


def at(day, hour=10):
    """Freeze the clock at `hour` o'clock Shanghai time (UTC+8) on `day`."""
    import time_machine

    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, hour - 8, tzinfo=datetime.UTC))


def grow(case):
    """Ten times the centres, contracts, obligations, sessions and records."""
    for i in range(30):
        township = case.tashan if i % 2 else case.keqiao
        centre = f.centre(f"新托育{i:02d}", township, grade="二级" if i % 3 == 0 else None)
        sign(case.tashan_chc if township == case.tashan else case.keqiao_chc, centre)
        if i % 3 == 0:
            sign(case.yc_mch if township == case.tashan else case.kq_mch, centre)
    schedule_generate(year=2026, today=D(2026, 1, 5))
    for i, ob in enumerate(Obligation.objects.filter(period="2026Q1", kind="guidance", done_on__isnull=True,
                                                     resolution="")[:20]):
        record(ob, D(2026, 3, 10), case.dan, {ob.contract.centre: "confirmed" if i % 2 else "disputed"})
        done(ob.contract, "guidance", D(2026, 3, 10))
    assert Obligation.objects.count() > 10 * 24
