"""Who sees what, as a table: every role × every relation a row can have to it × the expected
visibility, for every scoped model, then the permission predicates the same way.

The world (tests/conftest.py) plus:

- OWN    塔山 health centre ↔ 阳光托育园 (its own township), signed
- OUT    塔山 health centre ↔ 竹韵托育 (柯桥, outside its area and bob's county), signed
- IN     柯桥街道 health centre ↔ 小星星托育 (an outside provider serving bob's county), signed
- DRAFT  柯桥区妇幼 ↔ 阳光托育园, a draft (hidden from the centre)
- 富盛镇卫生院 also covers 塔山街道; hal is its doctor.

One obligation, session, record (with one attachment) per signed contract, keyed by the contract,
and a joint training ("JOINT") of 塔山 for 阳光 and 竹韵 with a part for each centre.
"""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from mch_link.models import Centre, Contract, Provider, Region, Role
from mch_link.permissions import (
    can_approve,
    can_confirm,
    can_import,
    can_manage_contracts,
    can_record,
    can_resolve,
    has_role,
    is_staff_of_centre,
    report_provider_forced,
)
from mch_link.scoping import Principal, scoped
from scheduling.models import Attachment, Kind, Obligation, Record, RecordCentre, Session
from tests import factories as f

pytestmark = pytest.mark.django_db

D = datetime.date
USERS = ["alice", "bob", "carol", "dan", "erin", "fay", "gus", "hal", "root", "nobody"]
EVERY = {"root", "alice"}  # who sees every row of this small world


@pytest.fixture
def related(world, django_user_model):
    w = world
    w.fusheng_thc.also_covers.add(w.tashan)
    w.hal = f.user("hal", Role.DOCTOR, w.fusheng_thc)
    w.root = django_user_model.objects.create_superuser("root", password="x")
    w.nobody = f.user("nobody")

    def contract(provider, centre, status="signed"):
        return Contract.objects.create(provider=provider, centre=centre, status=status, valid_from=D(2026, 1, 1),
                                       valid_to=D(2026, 12, 31),
                                       signed_on=D(2026, 1, 1) if status == "signed" else None)

    w.contracts = {"OWN": contract(w.tashan_chc, w.sunny), "OUT": contract(w.tashan_chc, w.bamboo),
                   "IN": contract(w.keqiao_chc, w.little), "DRAFT": contract(w.kq_mch, w.sunny, "draft")}

    def session(key, provider, contracts, kind=Kind.GUIDANCE):
        obligations = [Obligation.objects.create(contract=c, kind=kind, period="2026Q1", start=D(2026, 1, 1),
                                                 end=D(2026, 3, 31)) for c in contracts]
        s = Session.objects.create(provider=provider, kind=kind, date=D(2026, 2, 3), start=datetime.time(9),
                                   end=datetime.time(11), place=key)
        s.obligations.set(obligations)
        rec = Record.objects.create(session=s, held_on=s.date, start=s.start, end=s.end,
                                    status=Record.Status.SUBMITTED, topics_other=key)
        for c in contracts:
            RecordCentre.objects.create(record=rec, centre=c.centre)
        Attachment.objects.create(record=rec, file=ContentFile(b"x", name="a.txt"), original_name=key, size=1)

    c = w.contracts
    session("OWN", w.tashan_chc, [c["OWN"]])
    session("OUT", w.tashan_chc, [c["OUT"]])
    session("IN", w.keqiao_chc, [c["IN"]])
    session("JOINT", w.tashan_chc, [c["OWN"], c["OUT"]], kind=Kind.STAFF_TRAINING)
    return w


CONTRACT_LABELS = {("P-TS", "阳光托育园"): "OWN", ("P-TS", "竹韵托育"): "OUT", ("P-KQJD", "小星星托育"): "IN",
                   ("P-KQ", "阳光托育园"): "DRAFT"}


def _label(contract):
    return CONTRACT_LABELS[contract.provider.code, contract.centre.name]


KEYS = {
    Region: lambda r: r.name,
    Provider: lambda p: p.code,
    Centre: lambda c: c.name,
    Contract: lambda c: _label(c),
    Obligation: lambda o: _label(o.contract),
    Session: lambda s: s.place,
    Record: lambda r: r.topics_other,
    RecordCentre: lambda p: f"{p.record.topics_other}:{p.centre.name}",
}
ALL = {
    Region: {"绍兴市", "越城区", "柯桥区", "塔山街道", "富盛镇", "柯桥街道"},
    Provider: {"P-CITY", "P-YC", "P-KQ", "P-TS", "P-FS", "P-KQJD"},
    Centre: {"阳光托育园", "小星星托育", "稻香托育", "竹韵托育"},
    Contract: {"OWN", "OUT", "IN", "DRAFT"},
    Obligation: {"OWN", "OUT", "IN"},
    Session: {"OWN", "OUT", "IN", "JOINT"},
    Record: {"OWN", "OUT", "IN", "JOINT"},
    RecordCentre: {"OWN:阳光托育园", "OUT:竹韵托育", "IN:小星星托育", "JOINT:阳光托育园", "JOINT:竹韵托育"},
}
PROVIDER_TS = {  # what 塔山's manager and doctor see of the scheduling rows
    Obligation: {"OWN", "OUT"}, Session: {"OWN", "OUT", "JOINT"}, Record: {"OWN", "OUT", "JOINT"},
    RecordCentre: {"OWN:阳光托育园", "OUT:竹韵托育", "JOINT:阳光托育园", "JOINT:竹韵托育"},
}

# (who, model, expected keys, the relation the row has to the user that the case pins)
CASES = [
    *[(who, model, ALL[model], "superuser and the city admin: everything in the city")
      for who in sorted(EVERY) for model in ALL],
    *[("nobody", model, set(), "no membership: nothing") for model in ALL],
    # county reviewer of 越城区
    ("bob", Region, {"越城区", "塔山街道", "富盛镇"}, "its county and below, not the city or another county"),
    ("bob", Provider, {"P-YC", "P-TS", "P-FS", "P-KQJD", "P-KQ"},
     "providers of its county, and outside providers with a contract (draft too) in it"),
    ("bob", Centre, {"阳光托育园", "小星星托育", "稻香托育"}, "centres of its county"),
    ("bob", Contract, {"OWN", "IN", "DRAFT"}, "contracts of its county's centres, whoever the provider"),
    ("bob", Obligation, {"OWN", "IN"}, "obligations of those contracts"),
    ("bob", Session, {"OWN", "IN", "JOINT"}, "sessions serving one of its centres, joint ones too"),
    ("bob", Record, {"OWN", "IN", "JOINT"}, "records of those sessions"),
    ("bob", RecordCentre, {"OWN:阳光托育园", "IN:小星星托育", "JOINT:阳光托育园", "JOINT:竹韵托育"},
     "every part of a visible record, another county's centre's too"),
    # 塔山's manager and doctor
    *[(who, model, expected, "provider staff: own provider, its area, its contracted centres")
      for who in ("carol", "dan") for model, expected in {
          Region: {"塔山街道"}, Provider: {"P-TS"}, Centre: {"阳光托育园", "小星星托育", "竹韵托育"},
          Contract: {"OWN", "OUT"}, **PROVIDER_TS}.items()],
    # 柯桥街道's doctor: its township, and 小星星 in another county through its contract
    ("erin", Centre, {"竹韵托育", "小星星托育"}, "its area plus a contracted centre outside it"),
    ("erin", Provider, {"P-KQJD"}, "its own provider only"),
    ("erin", Contract, {"IN"}, "its provider's contracts"),
    ("erin", Session, {"IN"}, "its provider's sessions"),
    ("erin", RecordCentre, {"IN:小星星托育"}, "the parts of its provider's records"),
    # 富盛镇卫生院's doctor: a grassroots area is its township and those it also covers
    ("hal", Centre, {"稻香托育", "阳光托育园", "小星星托育"}, "own township plus also_covers"),
    ("hal", Region, {"富盛镇"}, "its provider's region"),
    ("hal", Contract, set(), "no contracts"),
    ("hal", Session, set(), "no sessions"),
    # 阳光托育园's staff
    ("fay", Region, {"塔山街道"}, "its centre's township"),
    ("fay", Provider, {"P-TS"}, "providers of its signed contracts, not of a draft"),
    ("fay", Centre, {"阳光托育园"}, "its own centre"),
    ("fay", Contract, {"OWN"}, "its contracts, drafts hidden"),
    ("fay", Obligation, {"OWN"}, "obligations of its contracts"),
    ("fay", Session, {"OWN", "JOINT"}, "sessions serving it, a joint one too"),
    ("fay", Record, {"OWN", "JOINT"}, "records of those sessions"),
    ("fay", RecordCentre, {"OWN:阳光托育园", "JOINT:阳光托育园"}, "its own part of a joint record only"),
    # 竹韵托育's staff: served by a provider from another county
    ("gus", Provider, {"P-TS"}, "the outside provider it signed with"),
    ("gus", Contract, {"OUT"}, "its contract"),
    ("gus", Session, {"OUT", "JOINT"}, "sessions serving it"),
    ("gus", RecordCentre, {"OUT:竹韵托育", "JOINT:竹韵托育"}, "its own parts only"),
]


@pytest.mark.parametrize("who, model, expected, relation", CASES,
                         ids=[f"{c[0]}-{c[1].__name__}" for c in CASES])
def test_who_sees_what(related, who, model, expected, relation):
    assert {KEYS[model](row) for row in scoped(getattr(related, who), model)} == expected, relation


ATTACHMENTS = {  # who may download which record's attachment (the others 404)
    "root": {"OWN", "OUT", "IN", "JOINT"}, "alice": {"OWN", "OUT", "IN", "JOINT"},
    "bob": {"OWN", "IN", "JOINT"}, "carol": {"OWN", "OUT", "JOINT"}, "erin": {"IN"}, "hal": set(),
    "fay": {"OWN", "JOINT"}, "gus": {"OUT", "JOINT"}, "nobody": set(),
}


@pytest.mark.parametrize("who", sorted(ATTACHMENTS))
def test_who_may_download_which_attachment(related, client, who):
    client.force_login(getattr(related, who))
    got = {a.original_name for a in Attachment.objects.all()
           if client.get(reverse("scheduling:attachment", args=[a.pk])).status_code == 200}
    assert got == ATTACHMENTS[who]


@pytest.mark.parametrize("owner, like", [("centre", "fay"), ("provider", "carol")])
def test_a_feed_sees_what_its_organisation_staff_see(related, owner, like):
    principal = Principal.of_organisation(**{owner: related.sunny if owner == "centre" else related.tashan_chc})
    for model in (Session, Contract, RecordCentre):
        assert set(scoped(principal, model)) == set(scoped(getattr(related, like), model))


def _session(key):
    return Session.objects.get(place=key)


def _part(key):
    record_key, centre = key.split(":")
    return RecordCentre.objects.get(record__topics_other=record_key, centre__name=centre)


# (predicate, subject, users for whom it holds); every other user of USERS: it does not.
PREDICATES = [
    (can_record, lambda w: _session("OWN"), {"carol", "dan"}),
    (can_record, lambda w: _session("IN"), {"erin"}),
    (can_resolve, lambda w: _session("OWN"), {"carol"}),
    (can_confirm, lambda w: _part("JOINT:阳光托育园"), {"fay"}),
    (can_confirm, lambda w: _part("JOINT:竹韵托育"), {"gus"}),
    (can_manage_contracts, lambda w: w.tashan_chc, {"carol"}),
    (can_manage_contracts, lambda w: w.keqiao_chc, set()),
    (can_approve, lambda w: w.yc, {"bob"}),
    (can_approve, lambda w: w.kq, set()),
    (is_staff_of_centre, lambda w: w.sunny, {"fay"}),
    (is_staff_of_centre, lambda w: w.bamboo, {"gus"}),
]


@pytest.mark.parametrize("predicate, subject, holds", PREDICATES,
                         ids=[f"{p.__name__}-{i}" for i, (p, _s, _h) in enumerate(PREDICATES)])
def test_who_may_act_on_what(related, predicate, subject, holds):
    row = subject(related)
    assert {who for who in USERS if predicate(getattr(related, who), row)} == holds


# (predicate of a user, users for whom it holds)
USER_PREDICATES = [
    (can_import, {"alice", "root"}),
    (report_provider_forced, {"carol"}),
    (lambda u: has_role(u, Role.COUNTY_REVIEWER), {"bob", "root"}),
    (lambda u: has_role(u, Role.DOCTOR, Role.PROVIDER_MANAGER), {"carol", "dan", "erin", "hal", "root"}),
    (lambda u: has_role(u, Role.CENTRE_STAFF), {"fay", "gus", "root"}),
]


@pytest.mark.parametrize("predicate, holds", USER_PREDICATES, ids=range(len(USER_PREDICATES)))
def test_which_users_a_predicate_admits(related, predicate, holds):
    assert {who for who in USERS if predicate(getattr(related, who))} == holds


def test_a_superuser_with_a_membership_acts_through_it(related):
    """Pages open to a superuser whatever its membership; row actions follow the membership."""
    related.dan.is_superuser = True
    assert has_role(related.dan, Role.CENTRE_STAFF)
    assert not can_confirm(related.dan, _part("OWN:阳光托育园"))
    assert can_record(related.dan, _session("OWN"))
    assert not report_provider_forced(related.dan)
    assert set(scoped(related.dan, Session)) == set(Session.objects.all())
