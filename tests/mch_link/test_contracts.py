"""Contracts: the database refuses bad ones; managers draft, sign, renew and terminate."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from mch_link.models import AuditEvent, Contract

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make(provider, centre, start, end, status="signed", **kw):
    return Contract.objects.create(provider=provider, centre=centre, status=status,
                                   signed_on=start if status != "draft" else None,
                                   valid_from=start, valid_to=end, **kw)


class TestTheDatabaseRefuses:
    def test_valid_from_after_valid_to(self, world):
        with pytest.raises(IntegrityError), transaction.atomic():
            make(world.tashan_chc, world.sunny, datetime.date(2026, 2, 1), datetime.date(2026, 1, 1))

    def test_two_signed_contracts_of_one_pair_that_overlap(self, world):
        make(world.tashan_chc, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
        with pytest.raises(IntegrityError), transaction.atomic():
            make(world.tashan_chc, world.sunny, datetime.date(2026, 12, 31), datetime.date(2027, 12, 30))
        assert Contract.objects.count() == 1

    def test_but_allows_back_to_back_terms_drafts_and_other_pairs(self, world):
        make(world.tashan_chc, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
        make(world.tashan_chc, world.sunny, datetime.date(2027, 1, 1), datetime.date(2027, 12, 31))
        make(world.tashan_chc, world.sunny, datetime.date(2026, 6, 1), datetime.date(2027, 5, 31), status="draft")
        make(world.yc_mch, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
        assert Contract.objects.count() == 4

    def test_a_new_term_after_a_termination_is_allowed(self, world):
        make(world.tashan_chc, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31),
             status="terminated", terminated_on=datetime.date(2026, 6, 1), termination_reason="x")
        make(world.tashan_chc, world.sunny, datetime.date(2026, 6, 1), datetime.date(2027, 5, 31))
        with pytest.raises(IntegrityError), transaction.atomic():
            make(world.tashan_chc, world.sunny, datetime.date(2026, 5, 31), datetime.date(2026, 5, 31))


def test_a_manager_drafts_a_contract_for_every_missing_pair(world, client):
    make(world.tashan_chc, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    client.force_login(world.carol)
    response = client.post(reverse("mch_link:contract_draft_missing"), {"valid_from": "2026-11-29"})
    assert response.status_code == 302
    drafts = Contract.objects.filter(status="draft")
    assert [c.centre for c in drafts] == [world.little]
    assert drafts[0].valid_to == datetime.date(2027, 11, 28)
    # a second click drafts nothing more
    client.post(reverse("mch_link:contract_draft_missing"), {"valid_from": "2026-11-29"})
    assert Contract.objects.filter(status="draft").count() == 1
    assert AuditEvent.objects.filter(model="contract", action="draft", user=world.carol).count() == 1


def test_a_manager_signs_a_draft_with_its_scan(world, client, settings):
    draft = make(world.tashan_chc, world.little, datetime.date(2026, 11, 1), datetime.date(2027, 10, 31),
                 status="draft")
    client.force_login(world.carol)
    response = client.post(reverse("mch_link:contract_sign", args=[draft.pk]), {
        "signed_on": "2026-11-20", "valid_from": "2026-11-01", "valid_to": "2027-10-31",
        "scan": SimpleUploadedFile("协议.pdf", PDF, content_type="application/pdf"),
    })
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.signed_on) == ("signed", datetime.date(2026, 11, 20))
    assert draft.scan.name.endswith(".pdf")
    event = AuditEvent.objects.get(model="contract", object_id=str(draft.pk), action="sign")
    assert event.before["status"] == "draft" and event.after["status"] == "signed"
    # the scan is served to the centre, not to another provider's doctor
    client.force_login(world.fay)
    assert client.get(reverse("mch_link:contract_scan", args=[draft.pk])).status_code == 404  # 小星星 is not fay's
    client.force_login(world.erin)
    assert client.get(reverse("mch_link:contract_scan", args=[draft.pk])).status_code == 404
    client.force_login(world.dan)
    assert client.get(reverse("mch_link:contract_scan", args=[draft.pk])).status_code == 200


def test_signing_refuses_a_file_that_is_not_a_pdf_or_image(world, client):
    draft = make(world.tashan_chc, world.little, datetime.date(2026, 11, 1), datetime.date(2027, 10, 31),
                 status="draft")
    client.force_login(world.carol)
    response = client.post(reverse("mch_link:contract_sign", args=[draft.pk]), {
        "signed_on": "2026-11-20", "valid_from": "2026-11-01", "valid_to": "2027-10-31",
        "scan": SimpleUploadedFile("协议.pdf", b"MZ\x90\x00not a pdf", content_type="application/pdf"),
    })
    assert response.status_code == 400
    assert "文件内容与扩展名" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_signing_an_overlapping_draft_shows_a_clear_error(world, client):
    make(world.tashan_chc, world.little, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    draft = make(world.tashan_chc, world.little, datetime.date(2026, 11, 1), datetime.date(2027, 10, 31),
                 status="draft")
    client.force_login(world.carol)
    response = client.post(reverse("mch_link:contract_sign", args=[draft.pk]), {
        "signed_on": "2026-11-20", "valid_from": "2026-11-01", "valid_to": "2027-10-31"})
    assert response.status_code == 400
    assert "时间重叠" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_a_manager_renews_a_set_of_contracts_for_the_next_year(world, client):
    a = make(world.tashan_chc, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    b = make(world.tashan_chc, world.little, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    client.force_login(world.carol)
    response = client.post(reverse("mch_link:contract_renew"),
                           {"signed_on": "2026-11-29", "contracts": [a.pk, b.pk]})
    assert response.status_code == 302
    renewed = Contract.objects.filter(renewed_from__isnull=False).order_by("centre__name")
    assert [(c.centre, c.valid_from, c.valid_to, c.status) for c in renewed] == [
        (world.little, datetime.date(2027, 1, 1), datetime.date(2027, 12, 31), "signed"),
        (world.sunny, datetime.date(2027, 1, 1), datetime.date(2027, 12, 31), "signed"),
    ]
    # renewing again is refused as a whole and changes nothing
    client.post(reverse("mch_link:contract_renew"), {"signed_on": "2026-11-29", "contracts": [a.pk]})
    assert Contract.objects.count() == 4


def test_a_manager_cannot_renew_another_providers_contract(world, client):
    other = make(world.yc_mch, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    client.force_login(world.carol)
    client.post(reverse("mch_link:contract_renew"), {"signed_on": "2026-11-29", "contracts": [other.pk]})
    assert Contract.objects.count() == 1


def test_a_manager_terminates_a_contract_with_date_and_reason(world, client):
    c = make(world.tashan_chc, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    client.force_login(world.carol)
    response = client.post(reverse("mch_link:contract_terminate", args=[c.pk]),
                           {"terminated_on": "2026-09-01", "reason": "托育机构停办"})
    assert response.status_code == 302
    c.refresh_from_db()
    assert (c.status, c.terminated_on) == ("terminated", datetime.date(2026, 9, 1))
    assert c.termination_reason == "托育机构停办"
    assert not c.is_in_force(datetime.date(2026, 9, 1)) and c.is_in_force(datetime.date(2026, 8, 31))
    assert AuditEvent.objects.get(object_id=str(c.pk), action="terminate").reason == "托育机构停办"


def test_terminating_needs_a_reason(world, client):
    c = make(world.tashan_chc, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    client.force_login(world.carol)
    response = client.post(reverse("mch_link:contract_terminate", args=[c.pk]), {"terminated_on": "2026-09-01"})
    assert response.status_code == 400
    c.refresh_from_db()
    assert c.status == "signed"


def test_centre_staff_see_their_providers_and_contracts(world, client):
    make(world.tashan_chc, world.sunny, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    make(world.tashan_chc, world.little, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    client.force_login(world.fay)
    html = client.get(reverse("mch_link:contract_list")).content.decode()
    assert "阳光托育园" in html and "小星星托育" not in html
    html = client.get(reverse("mch_link:provider_list")).content.decode()
    assert "塔山街道社区卫生服务中心" in html and "越城区妇幼保健院" not in html


@pytest.mark.parametrize("who", ["erin", "gus", "dan", "fay"])
def test_other_organisations_get_404_on_every_contract_action(world, client, who):
    c = make(world.tashan_chc, world.little, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    draft = make(world.tashan_chc, world.sunny, datetime.date(2027, 1, 1), datetime.date(2027, 12, 31),
                 status="draft")
    client.force_login(getattr(world, who))
    if who in ("erin", "gus", "fay"):
        assert client.get(reverse("mch_link:contract_detail", args=[c.pk])).status_code == 404
    assert client.post(reverse("mch_link:contract_sign", args=[draft.pk]),
                       {"signed_on": "2026-11-01", "valid_from": "2027-01-01", "valid_to": "2027-12-31"}
                       ).status_code == 404
    assert client.post(reverse("mch_link:contract_terminate", args=[c.pk]),
                       {"terminated_on": "2026-09-01", "reason": "x"}).status_code == 404
    assert client.post(reverse("mch_link:contract_draft_missing"), {"valid_from": "2026-11-29"}).status_code == 404
    c.refresh_from_db()
    draft.refresh_from_db()
    assert c.status == "signed" and draft.status == "draft"
