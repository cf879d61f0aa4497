"""One home per rule: the contract protocol on the model, the range constraints' messages as
forms, the admin's full_clean and the importer show them, and the one-year helper."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from mch_link.dates import one_year_from, years_after
from mch_link.forms import DraftMissingForm, SignForm
from mch_link.importer import read_folder, registry_import
from mch_link.models import AuditEvent, Centre, Contract, Region
from mch_link.signals import contract_changed
from tests.mch_link.test_import import CONTRACTS, REGIONS, write_tables

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def sent():
    """The contract_ids of every contract_changed sent while the test runs."""
    calls = []

    def receiver(sender, contract_ids, **kwargs):
        calls.append(contract_ids)

    contract_changed.connect(receiver)
    yield calls
    contract_changed.disconnect(receiver)


YEAR_2026 = (D(2026, 1, 1), D(2026, 12, 31))


def draft(world, start=YEAR_2026[0], end=YEAR_2026[1]):
    return Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, valid_from=start, valid_to=end)


# --------------------------------------------------------------------------- Contract.sign


def test_signing_saves_audits_and_tells_the_scheduler_once_committed(world, sent, django_capture_on_commit_callbacks):
    contract = draft(world)

    with django_capture_on_commit_callbacks(execute=True):
        contract.sign(signed_on=D(2025, 12, 20), by=world.carol, valid_to=D(2026, 6, 30))

    contract.refresh_from_db()
    assert (contract.status, contract.signed_on, contract.valid_to) == ("signed", D(2025, 12, 20), D(2026, 6, 30))
    event = AuditEvent.objects.get(model="contract", object_id=str(contract.pk))
    assert (event.action, event.user) == ("sign", world.carol)
    assert event.before == {"status": "draft", "signed_on": None, "valid_to": "2026-12-31",
                            "updated_at": event.before["updated_at"]}
    assert event.after["status"] == "signed"
    assert sent == [[contract.pk]]


def test_signing_is_refused_for_a_contract_that_is_not_a_draft(world, sent):
    contract = draft(world)
    contract.sign(signed_on=D(2025, 12, 20), by=world.carol)

    with pytest.raises(ValidationError, match="只有草稿协议可以签约"):
        contract.sign(signed_on=D(2025, 12, 21), by=world.carol)
    assert AuditEvent.objects.filter(action="sign").count() == 1


def test_signing_an_overlapping_draft_is_refused_and_leaves_no_trace(world, sent, django_capture_on_commit_callbacks):
    draft(world).sign(signed_on=D(2025, 12, 20), by=world.carol)
    other = draft(world, D(2026, 12, 31), D(2027, 12, 30))

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError, match="时间重叠"):
        other.sign(signed_on=D(2026, 12, 1), by=world.carol)

    other.refresh_from_db()
    assert other.status == "draft"
    assert AuditEvent.objects.filter(object_id=str(other.pk)).count() == 0
    assert sent == []


def test_signing_with_an_end_before_the_start_gives_the_constraints_message_on_valid_to(world):
    contract = draft(world)

    with pytest.raises(ValidationError) as refused:
        contract.sign(signed_on=D(2025, 12, 20), by=world.carol, valid_to=D(2025, 12, 31))

    assert refused.value.message_dict == {"valid_to": ["到期日期不能早于生效日期"]}


# --------------------------------------------------------------------------- Contract.terminate


def test_terminating_saves_audits_with_the_reason_and_tells_the_scheduler(world, sent,
                                                                          django_capture_on_commit_callbacks):
    contract = draft(world)
    contract.sign(signed_on=D(2025, 12, 20), by=world.carol)

    with django_capture_on_commit_callbacks(execute=True):
        contract.terminate(on=D(2026, 7, 1), reason=" 停办 ", by=world.carol)

    contract.refresh_from_db()
    assert (contract.status, contract.terminated_on, contract.termination_reason) == (
        "terminated", D(2026, 7, 1), "停办")
    assert not contract.is_in_force(D(2026, 7, 1)) and contract.is_in_force(D(2026, 6, 30))
    event = AuditEvent.objects.get(model="contract", object_id=str(contract.pk), action="terminate")
    assert (event.user, event.reason, event.after["terminated_on"]) == (world.carol, " 停办 ", "2026-07-01")
    assert sent == [[contract.pk]]


@pytest.mark.parametrize("status, on, reason, message", [
    ("draft", D(2026, 7, 1), "停办", "只能终止已签约的协议"),
    ("signed", D(2026, 7, 1), "  ", "请填写终止原因"),
    ("signed", D(2027, 1, 1), "停办", "终止日期应在协议有效期内（2026-01-01 至 2026-12-31）"),
])
def test_terminating_is_refused_with_a_reason_and_changes_nothing(world, sent, status, on, reason, message):
    contract = draft(world)
    if status == "signed":
        contract.sign(signed_on=D(2025, 12, 20), by=world.carol)

    with pytest.raises(ValidationError, match=message.replace("（", ".").replace("）", ".")):
        contract.terminate(on=on, reason=reason, by=world.carol)

    contract.refresh_from_db()
    assert contract.status == status
    assert not AuditEvent.objects.filter(action="terminate").exists()


# --------------------------------------------------------------------------- range constraints


@pytest.mark.parametrize("form_class, data", [
    (SignForm, {"signed_on": "2026-01-01", "valid_from": "2026-02-01", "valid_to": "2026-01-31"}),
    (DraftMissingForm, {"valid_from": "2026-02-01", "valid_to": "2026-01-31"}),
])
def test_a_contract_form_shows_the_constraints_message_on_valid_to(form_class, data):
    form = form_class(data)

    assert not form.is_valid()
    assert form.errors == {"valid_to": ["到期日期不能早于生效日期"]}


def test_a_contract_form_accepts_a_one_day_term():
    assert SignForm({"signed_on": "2026-01-01", "valid_from": "2026-02-01", "valid_to": "2026-02-01"}).is_valid()


def test_the_model_reports_each_range_on_its_last_day_field(world):
    region = Region(code="330602099", name="新城街道", level="township", parent=world.tashan.parent,
                    valid_from=D(2026, 2, 1), valid_to=D(2026, 1, 31))
    centre = Centre(code=world.sunny.code, name="x", township=world.tashan, filed_on=D(2026, 2, 1),
                    closed_on=D(2026, 1, 31))

    with pytest.raises(ValidationError) as region_refused:
        region.validate_constraints()
    with pytest.raises(ValidationError) as centre_refused:
        centre.validate_constraints()

    assert region_refused.value.message_dict == {"valid_to": ["失效日期不能早于生效日期"]}
    assert centre_refused.value.message_dict == {"closed_on": ["注销日期不能早于备案日期"]}


def test_the_importer_shows_the_constraints_messages_with_file_row_and_column(world, tmp_path):
    folder = write_tables(
        tmp_path,
        regions=[[*REGIONS, "valid_from", "valid_to"],
                 ["330602099", "新城街道", "township", "330602", "2026-02-01", "2026-01-31"]],
        contracts=[CONTRACTS, ["P-TS", world.sunny.code, "2026-01-05", "2026-02-01", "2026-01-31"]],
    )

    result = registry_import(sources=read_folder(folder))

    assert [str(issue) for issue in result.errors] == [
        "regions.csv 第2行 valid_to：失效日期不能早于生效日期",
        "contracts.csv 第2行 valid_to：到期日期不能早于生效日期",
    ]
    assert not Region.objects.filter(code="330602099").exists()


def test_the_importer_reports_a_name_too_long_in_the_models_words(world, tmp_path):
    folder = write_tables(tmp_path, regions=[REGIONS, ["330602099", "新" * 65, "township", "330602"]])

    result = registry_import(sources=read_folder(folder))

    assert [str(issue) for issue in result.errors] == [
        "regions.csv 第2行 name：确保该变量包含不超过 64 字符 (目前字符数 65)。"]


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("start, last", [
    (D(2026, 1, 1), D(2026, 12, 31)),
    (D(2026, 11, 29), D(2027, 11, 28)),
    (D(2027, 3, 1), D(2028, 2, 29)),  # the term holds the leap day
    (D(2028, 2, 29), D(2029, 2, 28)),  # the next term starts on 1 March
])
def test_a_one_year_term_ends_the_day_before_its_anniversary(start, last):
    assert one_year_from(start) == last


def test_years_after_lands_29_february_on_28_february():
    assert years_after(D(2028, 2, 29), 1) == D(2029, 2, 28)
    assert years_after(D(2028, 2, 29), -4) == D(2024, 2, 29)
    assert years_after(D(2026, 11, 29), -1) == D(2025, 11, 29)
