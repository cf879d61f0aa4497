"""The admin is one more door to the same rules (issue 13): scoped to the user's city, no
add or delete, and every edit it offers goes through the domain's methods: audited, refused
in an approved quarter, re-planned when a contract ends."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from mch_link.demo import ADMIN_APPS, ADMIN_PERMISSIONS_EXCLUDED
from mch_link.errors import LOCKED_MESSAGE
from mch_link.models import AuditEvent, Contract, Membership, Role
from scheduling.models import QuarterApproval, Session
from scheduling.services import schedule_generate
from tests import factories as f

pytestmark = pytest.mark.django_db


def make_staff(user):
    """Staff with every model permission of the project, as the demo city admin has."""
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
                              .exclude(codename__in=ADMIN_PERMISSIONS_EXCLUDED))
    return user


@pytest.fixture
def admins(world):
    """alice runs 绍兴市 (world); zed runs 金华市, with one centre, provider and contract."""
    jinhua = f.region("330700", "金华市")
    wucheng = f.region("330702", "婺城区", parent=jinhua)
    street = f.region("330702001", "城东街道", parent=wucheng)
    world.jh_centre = f.centre("金华启蒙托育", street)
    world.jh_chc = f.provider("P-JH", "城东街道社区卫生服务中心", "community_health_centre", street)
    f.signed_contract(world.jh_chc, world.jh_centre)
    world.zed = make_staff(f.user("zed", Role.CITY_ADMIN, jinhua))
    make_staff(world.alice)
    return world


@pytest.fixture
def signed(admins):
    f.signed_contract(admins.tashan_chc, admins.sunny)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    return admins


def changelist(client, model):
    app = "scheduling" if model in ("session", "obligation") else "mch_link"
    response = client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("model, ours, theirs", [
    ("centre", "阳光托育园", "金华启蒙托育"),
    ("provider", "塔山街道社区卫生服务中心", "城东街道社区卫生服务中心"),
    ("region", "越城区", "婺城区"),
    ("contract", "阳光托育园", "金华启蒙托育"),
    ("membership", "alice", "zed"),
])
def test_a_city_admin_lists_only_its_own_city(signed, client, model, ours, theirs):
    client.force_login(signed.zed)
    html = changelist(client, model)
    assert theirs in html and ours not in html
    client.force_login(signed.alice)
    html = changelist(client, model)
    assert ours in html and theirs not in html


def test_another_citys_sessions_and_obligations_are_not_listed(signed, client):
    for who, shown in (("alice", True), ("zed", False)):
        client.force_login(getattr(signed, who))
        assert ("塔山街道社区卫生服务中心" in changelist(client, "session")) is shown
        assert ("阳光托育园" in changelist(client, "obligation")) is shown


def test_another_citys_row_is_a_404_and_stays_as_it_was(admins, client):
    client.force_login(admins.zed)
    url = reverse("admin:mch_link_centre_change", args=[admins.sunny.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "改名托育", "places": "10", "audit_reason": "试"}).status_code == 404
    membership = Membership.objects.get(user=admins.alice)
    assert client.post(reverse("admin:mch_link_membership_delete", args=[membership.pk]),
                       {"post": "yes"}).status_code in (403, 404)
    admins.sunny.refresh_from_db()
    assert admins.sunny.name == "阳光托育园" and Membership.objects.filter(pk=membership.pk).exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("url", ["admin:mch_link_centre_add", "admin:mch_link_contract_add",
                                 "admin:scheduling_session_add", "admin:mch_link_membership_add"])
def test_nothing_is_added_through_the_admin(admins, client, url):
    client.force_login(admins.alice)
    assert client.get(reverse(url)).status_code == 403


def test_nothing_is_deleted_through_the_admin(signed, client):
    client.force_login(signed.alice)
    session = Session.objects.first()
    assert client.post(reverse("admin:scheduling_session_delete", args=[session.pk]),
                       {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:mch_link_centre_delete", args=[signed.sunny.pk]),
                       {"post": "yes"}).status_code == 403
    assert "delete_selected" not in changelist(client, "contract")
    assert Session.objects.filter(pk=session.pk).exists()


def centre_post(centre, **fields):
    """The centre's admin form as a browser posts it (with its read-only grades inline)."""
    grades = list(centre.grades.values_list("pk", flat=True))
    data = {"name": centre.name, "places": str(centre.places), "phone": "", "phone_ext": "", "address": "",
            "ownership": "", "grades-TOTAL_FORMS": str(len(grades)), "grades-INITIAL_FORMS": str(len(grades))}
    for i, pk in enumerate(grades):
        data.update({f"grades-{i}-id": str(pk), f"grades-{i}-centre": str(centre.pk)})
    data.update(fields)
    return data


def test_a_centre_edit_is_audited_with_its_reason_and_the_code_stays(admins, client):
    client.force_login(admins.alice)
    code = admins.sunny.code
    response = client.post(reverse("admin:mch_link_centre_change", args=[admins.sunny.pk]), centre_post(
        admins.sunny, name="阳光托育园（总园）", places="80", address="人民路1号", code="91330602MA00000000",
        audit_reason="机构更名"))
    assert response.status_code == 302
    admins.sunny.refresh_from_db()
    assert (admins.sunny.name, admins.sunny.places, admins.sunny.code) == ("阳光托育园（总园）", 80, code)
    event = AuditEvent.objects.get()
    assert (event.model, event.action, event.reason, event.user) == ("centre", "update", "机构更名", admins.alice)
    assert (event.before["name"], event.after["name"]) == ("阳光托育园", "阳光托育园（总园）")


def test_an_edit_without_a_reason_is_refused(admins, client):
    client.force_login(admins.alice)
    response = client.post(reverse("admin:mch_link_centre_change", args=[admins.sunny.pk]),
                           centre_post(admins.sunny, name="别名"))
    assert response.status_code == 200 and "修改原因" in response.content.decode()
    admins.sunny.refresh_from_db()
    assert admins.sunny.name == "阳光托育园" and not AuditEvent.objects.exists()


def test_terminating_a_contract_in_the_admin_audits_and_replans(signed, client, django_capture_on_commit_callbacks):
    contract = Contract.objects.get(centre=signed.sunny)
    client.force_login(signed.alice)
    url = reverse("admin:mch_link_contract_changelist")
    form = client.post(url, {"action": "terminate_contracts", "_selected_action": [contract.pk]})
    assert form.status_code == 200 and "终止原因" in form.content.decode()
    with time_machine.travel(datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)), \
            django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "terminate_contracts", "_selected_action": [contract.pk],
                                     "apply": "1", "terminated_on": "2026-06-15", "reason": "托育机构停办"})
    assert response.status_code == 302
    contract.refresh_from_db()
    assert (contract.status, contract.terminated_on) == ("terminated", datetime.date(2026, 6, 15))
    event = AuditEvent.objects.get(model="contract")
    assert (event.action, event.reason, event.user) == ("terminate", "托育机构停办", signed.alice)
    later = Session.objects.filter(provider=signed.tashan_chc, date__gte=datetime.date(2026, 7, 1))
    assert later.exists() and set(later.values_list("status", flat=True)) == {"cancelled"}  # the re-plan ran


def test_another_citys_contract_cannot_be_terminated_by_the_action(signed, client):
    contract = Contract.objects.get(centre=signed.sunny)
    client.force_login(signed.zed)
    client.post(reverse("admin:mch_link_contract_changelist"), {
        "action": "terminate_contracts", "_selected_action": [contract.pk], "apply": "1",
        "terminated_on": "2026-06-15", "reason": "越权"})
    contract.refresh_from_db()
    assert contract.status == "signed" and not AuditEvent.objects.exists()


def session_post(**extra):
    data = {"allow_early_record": "on", "audit_reason": "补录提前开展的指导"}
    data.update(extra)
    return data


def test_a_session_edit_goes_through_the_session_and_is_audited(signed, client):
    session = Session.objects.filter(kind="guidance").order_by("date").first()
    client.force_login(signed.alice)
    response = client.post(reverse("admin:scheduling_session_change", args=[session.pk]),
                           session_post(status="cancelled", date="2026-12-31"))
    assert response.status_code == 302
    after = Session.objects.get(pk=session.pk)
    assert after.allow_early_record and (after.status, after.date) == (session.status, session.date)
    assert after.sequence == session.sequence + 1 and after.version == session.version + 1
    event = AuditEvent.objects.get()
    assert (event.model, event.action, event.reason) == ("session", "update", "补录提前开展的指导")
    assert (event.before["allow_early_record"], event.after["allow_early_record"]) == (False, True)


def test_a_session_edit_in_an_approved_quarter_is_refused(signed, client):
    session = Session.objects.filter(kind="guidance").order_by("date").first()
    QuarterApproval.objects.create(county=signed.yc, period=f"2026Q{(session.date.month - 1) // 3 + 1}",
                                   status="approved")
    client.force_login(signed.alice)
    response = client.post(reverse("admin:scheduling_session_change", args=[session.pk]), session_post())
    assert response.status_code == 200 and LOCKED_MESSAGE in response.content.decode()
    assert not Session.objects.get(pk=session.pk).allow_early_record
    assert not AuditEvent.objects.exists()
