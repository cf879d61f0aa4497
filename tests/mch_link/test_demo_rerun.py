"""`make run` three times with a user's work between: the demo steps (seed_demo,
generate_schedule for this year and the next, seed_demo_records) fill in only what is
missing and leave the user's changes as they are."""

import datetime
import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.utils import timezone

from mch_link.models import Centre, CentreGrade, Contract, Provider, Region
from mch_link.services import contract_draft_missing, contract_terminate
from scheduling.models import Record
from tests import factories

pytestmark = pytest.mark.django_db


def make_demo():
    """What `make demo` runs; returns seed_demo's output."""
    out = io.StringIO()
    call_command("seed_demo", "--force", stdout=out)
    year = timezone.localdate().year
    for y in (year, year + 1):
        call_command("generate_schedule", "--year", str(y), stdout=io.StringIO())
    call_command("seed_demo_records", stdout=io.StringIO())
    return out.getvalue()


def test_make_run_three_times_keeps_the_users_changes():
    make_demo()
    today = timezone.localdate()
    manager = get_user_model().objects.get(username="manager")
    home = Provider.objects.get(pk=manager.membership.provider_id)
    tashan = Region.objects.get(name="塔山街道")

    # The user's work: a centre imported, its contract drafted and signed, a demo centre
    # renamed, a demo contract ended, the doctor's own password.
    imported = factories.centre("塔山新导入托育园", tashan, grade="三级", filed_on=datetime.date(2026, 1, 5))
    drafts = contract_draft_missing(provider=home, valid_from=today, valid_to=datetime.date(2027, 12, 31),
                                    user=manager)
    mine = next(c for c in drafts if c.centre_id == imported.pk)
    mine.sign(signed_on=today, by=manager)
    renamed = Centre.objects.exclude(pk=imported.pk).order_by("code").first()
    Centre.objects.filter(pk=renamed.pk).update(name="用户改过的名字托育园")
    ended = Contract.objects.filter(status=Contract.Status.SIGNED).exclude(pk=mine.pk).order_by("pk").first()
    contract_terminate(contract=ended, terminated_on=today, reason="机构停办", user=manager)
    doctor = get_user_model().objects.get(username="doctor")
    doctor.set_password("the-doctors-own-2026")
    doctor.save()
    contracts_before = sorted(Contract.objects.values_list("pk", "status", "valid_from", "valid_to", "terminated_on"))

    second = make_demo()

    assert "Total: 0 created, 0 updated, " in second and ", 0 deleted" in second
    assert sorted(Contract.objects.values_list("pk", "status", "valid_from", "valid_to", "terminated_on")) \
        == contracts_before
    assert Contract.objects.filter(centre=imported).count() == 1
    assert Centre.objects.get(pk=renamed.pk).name == "用户改过的名字托育园"
    assert authenticate(username="doctor", password="the-doctors-own-2026") is not None

    # More work: the imported centre moves up a grade; a session's record is there.
    held = CentreGrade.objects.get(centre=imported)
    held.valid_until = today - datetime.timedelta(days=1)
    held.save()
    CentreGrade.objects.create(centre=imported, grade=factories.grade_named("二级"), awarded_on=today)
    records = Record.objects.count()

    third = make_demo()

    assert "Total: 0 created, 0 updated, " in third
    assert list(CentreGrade.objects.filter(centre=imported).order_by("awarded_on")
                .values_list("grade__name", flat=True)) == ["三级", "二级"]
    assert Record.objects.count() >= records
    assert Centre.objects.get(pk=renamed.pk).name == "用户改过的名字托育园"


def test_update_makes_the_demo_rows_as_the_plan_says_again():
    call_command("seed_demo", "--force", stdout=io.StringIO())
    centre = Centre.objects.order_by("code").first()
    name = centre.name
    Centre.objects.filter(pk=centre.pk).update(name="改名")
    call_command("seed_demo", "--force", stdout=io.StringIO())
    assert Centre.objects.get(pk=centre.pk).name == "改名"
    out = io.StringIO()
    call_command("seed_demo", "--force", "--update", stdout=out)
    assert Centre.objects.get(pk=centre.pk).name == name
    assert "Total: 0 created, 1 updated, " in out.getvalue()


# transaction=True: PostgreSQL refuses flush's TRUNCATE inside the test's open transaction.
@pytest.mark.django_db(transaction=True)
def test_reset_starts_over():
    call_command("seed_demo", "--force", stdout=io.StringIO())
    Centre.objects.update(name="改名")
    factories.user("someone-else")
    out = io.StringIO()
    call_command("seed_demo", "--force", "--reset", stdout=out)
    assert not Centre.objects.filter(name="改名").exists()
    assert not get_user_model().objects.filter(username="someone-else").exists()
    assert Centre.objects.count() == 500 and Contract.objects.exists()
