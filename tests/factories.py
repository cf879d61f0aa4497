"""Small builders for a named cast. Every test builds only what it reads."""

import datetime
import itertools

from django.contrib.auth import get_user_model

from mch_link.models import Centre, CentreGrade, Contract, Grade, Membership, Provider, Region, Role
from mch_link.validators import uscc_check_char

_seq = itertools.count(1)
PASSWORD = "pass-for-tests-1"


def region(code, name, level=None, parent=None, **kw):
    if level is None:
        level = {6: "county", 9: "township"}.get(len(code), "city") if parent else "city"
    return Region.objects.create(code=code, name=name, level=level, parent=parent, **kw)


def uscc(n=None, county="330602"):
    """A valid unified social credit code (GB 32100 check digit), unique per call."""
    n = next(_seq) if n is None else n
    body = f"52{county}MJ{n:07d}"[:17]
    return body + uscc_check_char(body)


def provider(code, name, kind, region, doctors=2, **kw):
    return Provider.objects.create(code=code, name=name, kind=kind, region=region, doctors=doctors, **kw)


def centre(name, township, grade=None, filed_on=datetime.date(2024, 1, 1), awarded_on=None, **kw):
    c = Centre.objects.create(code=kw.pop("code", None) or uscc(county=township.parent.code),
                              name=name, township=township, filed_on=filed_on, **kw)
    if grade:
        CentreGrade.objects.create(centre=c, grade=grade_named(grade),
                                   awarded_on=awarded_on or filed_on)
    return c


def grade_named(name):
    """The Grade seeded by migration 0002; re-seeded when a transactional test flushed it."""
    import importlib

    seed = importlib.import_module("mch_link.migrations.0002_reference_data_and_contract_overlap")
    if not Grade.objects.exists():
        for code, label, rank in seed.GRADES:
            Grade.objects.create(code=code, name=label, rank=rank)
    return Grade.objects.get(name=name)


def user(username, role=None, organisation=None, **kw):
    u = get_user_model().objects.create_user(username=username, password=PASSWORD, **kw)
    if role:
        field = {
            Role.CITY_ADMIN: "region", Role.COUNTY_REVIEWER: "region",
            Role.PROVIDER_MANAGER: "provider", Role.DOCTOR: "provider", Role.CENTRE_STAFF: "centre",
        }[role]
        Membership.objects.create(user=u, role=role, **{field: organisation})
    return u


def signed_contract(provider, centre, year=2026):
    """A contract signed on 1 January of `year`, in force the whole year."""
    return Contract.objects.create(provider=provider, centre=centre, status="signed",
                                   signed_on=datetime.date(year, 1, 1), valid_from=datetime.date(year, 1, 1),
                                   valid_to=datetime.date(year, 12, 31))
