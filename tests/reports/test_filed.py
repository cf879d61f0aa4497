"""Filed reports: approving a quarter files the county's report (PDF and JSON) with its SHA-256;
later downloads give the same bytes whatever changed; reopen + approve files a new version."""

import datetime
import hashlib
import json

import pytest
from django.urls import reverse

from mch_link.models import Centre, Contract
from reports.models import FiledReport
from scheduling.services import schedule_generate
from tests.reports.conftest import at

pytestmark = pytest.mark.django_db
D = datetime.date



@pytest.fixture
def signed(world):
    Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, status="signed",
                            signed_on=D(2026, 1, 1), valid_from=D(2026, 1, 1), valid_to=D(2026, 12, 31))
    schedule_generate(year=2026, today=D(2026, 1, 5))
    return world


def approve(client, **extra):
    return client.post(reverse("scheduling:quarter_action"),
                       {"county": "330602", "period": "2026Q1", "approve": "1", "confirmed": "1", **extra})


def download(client, entry):
    response = client.get(reverse("reports:filed", args=[entry.pk]))
    assert response.status_code == 200
    return response.content


def test_an_approval_files_the_report_and_it_never_changes(signed, client):
    client.force_login(signed.bob)
    with at(D(2026, 4, 20)):
        approve(client)
    js, pdf = FiledReport.objects.order_by("fmt")
    assert (js.fmt, pdf.fmt, js.version, pdf.version) == ("json", "pdf", 1, 1)
    assert js.approval.status == "approved" and js.filed_by == signed.bob
    first_pdf, first_json = download(client, pdf), download(client, js)
    assert first_pdf.startswith(b"%PDF")
    assert hashlib.sha256(first_pdf).hexdigest() == pdf.sha256
    assert hashlib.sha256(first_json).hexdigest() == js.sha256
    data = json.loads(first_json)
    assert (data["region"]["code"], data["period"], data["as_of"]) == ("330602", "2026Q1", "2026-04-20")

    page = client.get(reverse("scheduling:quarters")).content.decode()
    assert "已归档" in page and reverse("reports:filed", args=[pdf.pk]) in page

    # later: the centre is renamed and the quarter's figures change; the filed files do not
    Centre.objects.filter(pk=signed.sunny.pk).update(name="阳光托育（更名）")
    with at(D(2026, 5, 2)):
        client.post(reverse("scheduling:quarter_action"),
                    {"county": "330602", "period": "2026Q1", "reopen": "1", "reason": "补录记录"})
    assert download(client, pdf) == first_pdf
    assert download(client, js) == first_json

    with at(D(2026, 5, 3)):
        approve(client)
    versions = sorted(FiledReport.objects.values_list("version", "fmt"))
    assert versions == [(1, "json"), (1, "pdf"), (2, "json"), (2, "pdf")]
    v2 = FiledReport.objects.get(version=2, fmt="json")
    assert "阳光托育（更名）" not in first_json.decode()
    assert json.loads(download(client, v2))["as_of"] == "2026-05-03"
    assert download(client, js) == first_json  # the old version is kept as it was


def test_a_filed_report_of_another_county_is_404(signed, client):
    client.force_login(signed.bob)
    with at(D(2026, 4, 20)):
        approve(client)
    entry = FiledReport.objects.first()
    client.force_login(signed.erin)  # a doctor of another county
    assert client.get(reverse("reports:filed", args=[entry.pk])).status_code in (403, 404)
    client.force_login(signed.carol)  # a provider manager: not a bureau
    assert client.get(reverse("reports:filed", args=[entry.pk])).status_code in (403, 404)
