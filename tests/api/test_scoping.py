"""Scoping of every endpoint for every role, generated from the API's own OpenAPI document:
a list holds exactly the rows `scoped(user, Model)` holds, a row outside it is 404, a write
is 404 unless the permission predicate allows it, and the figures answer the roles their
pages answer. An endpoint added without an entry here fails test_every_endpoint_is_covered."""

import datetime

import pytest

from api.main import api as ninja_api
from mch_link.models import AuditEvent, Centre, Contract, Provider, Region
from mch_link.permissions import BUREAUS, MANAGERS, can_confirm, can_record, has_role
from mch_link.scoping import scoped
from scheduling.models import Obligation, Record, RecordCentre, Session
from tests import factories as f

from .conftest import at

pytestmark = pytest.mark.django_db
ROLES = ["alice", "bob", "carol", "dan", "erin", "fay", "gus"]

# path -> (model, the field the path and the answers name a row by)
ROWS = {
    "/api/v1/regions": (Region, "code"),
    "/api/v1/providers": (Provider, "code"),
    "/api/v1/centres": (Centre, "code"),
    "/api/v1/contracts": (Contract, "id"),
    "/api/v1/obligations": (Obligation, "id"),
    "/api/v1/sessions": (Session, "id"),
    "/api/v1/records": (Record, "id"),
}
DETAILS = {f"{path}/{{{key}}}": (model, key) for path, (model, key) in ROWS.items()}
FIGURES = {"/api/v1/coverage": BUREAUS, "/api/v1/reports/completion": (*BUREAUS, *MANAGERS)}
UNSCOPED = {"/api/v1/workdays"}  # the State Council's calendar: the same for everyone
MOVE = {"date": "2026-12-01", "start": "09:00", "end": "10:00", "reason": "改期", "version": 999}
RECORD = {"version": 999, "held_on": "2026-11-27", "start": "09:00", "end": "10:00", "content": "晨检"}
ANSWER = {"action": "confirm", "version": 999, "record_version": 999}
# path -> (model, body, may(user, row)): a write allowed by the predicate, else 404
WRITES = {
    "/api/v1/sessions/{id}/move": (Session, MOVE, can_record),
    "/api/v1/sessions/{id}/record": (Session, RECORD, can_record),
    "/api/v1/parts/{id}/answer": (RecordCentre, ANSWER, can_confirm),
}


def operations():
    schema = ninja_api.get_openapi_schema(path_prefix="/api/")
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


def test_every_endpoint_is_covered():
    covered = {("GET", p) for p in [*ROWS, *DETAILS, *FIGURES, *UNSCOPED]} | {("POST", p) for p in WRITES}
    assert operations() == covered


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(ROWS))
def test_a_list_holds_exactly_the_rows_in_scope(recorded, api, role, path):
    user = getattr(recorded, role)
    model, key = ROWS[path]
    response = api(user).get(path.removeprefix("/api/v1/"), limit=500)
    assert response.status_code == 200
    got = [item[key] for item in response.json()["items"]]
    expected = list(scoped(user, model).order_by("pk").values_list(key, flat=True))
    assert got == expected
    assert len(expected) < model.objects.count() or role == "alice"  # someone else's rows exist


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(DETAILS))
def test_a_row_outside_the_scope_is_404(recorded, api, role, path):
    user = getattr(recorded, role)
    model, key = DETAILS[path]
    visible = set(scoped(user, model).values_list("pk", flat=True))
    client = api(user)
    for row in model.objects.all():
        response = client.get(path.removeprefix("/api/v1/").replace(f"{{{key}}}", str(getattr(row, key))))
        assert response.status_code == (200 if row.pk in visible else 404), (row, response.content)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(FIGURES))
def test_the_figures_answer_the_roles_of_their_pages(recorded, api, role, path):
    user = getattr(recorded, role)
    response = api(user).get(path.removeprefix("/api/v1/"))
    assert response.status_code == (200 if has_role(user, *FIGURES[path]) else 404)


@pytest.mark.parametrize("role", ["bob", "carol"])
def test_a_region_or_provider_outside_the_scope_is_404_in_the_figures(recorded, api, role):
    client = api(getattr(recorded, role))
    assert client.get("reports/completion", region=recorded.kq.code).status_code == 404
    assert client.get("reports/completion", provider=recorded.keqiao_chc.code).status_code == 404


def test_a_centre_sees_only_its_own_centre_of_a_joint_training(recorded, api):
    training = recorded.training
    contract = f.signed_contract(recorded.tashan_chc, recorded.little)
    joint = Obligation.objects.create(contract=contract, kind=training.kind, period=training.obligations.first().period,
                                      start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31))
    training.obligations.add(joint)
    assert api(recorded.fay).get(f"sessions/{training.pk}").json()["centres"] == [recorded.sunny.code]
    assert len(api(recorded.carol).get(f"sessions/{training.pk}").json()["centres"]) == 2


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", sorted(WRITES))
def test_a_write_is_404_unless_the_user_may_make_it(recorded, api, role, path):
    user = getattr(recorded, role)
    model, body, may = WRITES[path]
    client, audited = api(user), AuditEvent.objects.count()
    with at(datetime.date(2026, 11, 29)):
        for row in model.objects.all():
            response = client.post(path.removeprefix("/api/v1/").replace("{id}", str(row.pk)), body)
            assert (response.status_code != 404) == may(user, row), (row, response.content)
            assert response.status_code < 500
    assert AuditEvent.objects.count() == audited  # nothing written: stale versions or not allowed
