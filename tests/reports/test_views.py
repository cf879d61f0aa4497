"""The dashboard, its drill-down and the downloads: who sees what."""

import json

import pytest
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("reports:dashboard")
DOWNLOAD = reverse("reports:download")
Q1 = {"period": "2026Q1", "as_of": "2026-04-20"}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_it_requires_login(client, case):
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_city_admin_sees_the_city_with_its_counties(client, case):
    response = login(client, case.alice).get(DASHBOARD, Q1)
    assert response.status_code == 200
    html = response.content.decode()
    assert "绍兴市 2026年第一季度 医育结合签约服务“四个一”完成情况" in html
    assert "80.0%" in html and "（4 / 5）" in html  # 签约指导率 with numerator / denominator
    assert "?period=2026Q1&amp;as_of=2026-04-20&amp;region=330602" in html  # drill down to 越城区
    assert "柯桥区" in html and "稻香托育" in html
    assert 'href="/reports/download/?period=2026Q1&amp;as_of=2026-04-20&amp;region=330600&amp;format=pdf"' in html
    assert response.context["report"].total.owed == 22


def test_the_drill_down_reaches_a_centres_obligations(client, case):
    login(client, case.alice)
    county = client.get(DASHBOARD, {**Q1, "region": "330602"})
    assert [g.code for g, _link in county.context["region_rows"]] == ["330602001", "330602017"]
    township = client.get(DASHBOARD, {**Q1, "region": "330602001"})
    names = [g.name for g, _link in township.context["centre_rows"]]
    assert names == ["小星星托育", "晨曦托育", "阳光托育园"]
    centre = client.get(DASHBOARD, {**Q1, "region": "330602001", "centre": case.little.code})
    assert centre.status_code == 200
    rows = [(o.kind, o.provider_code, o.status) for o in centre.context["centre_rows"]]
    assert ("guidance", "P-YC", "missed") in rows and ("guidance", "P-TS", "done_on_time") in rows
    assert len(rows) == 6
    html = centre.content.decode()
    assert "有异议" in html  # the disputed record of 小星星's guidance
    assert [r.name for r, _link in centre.context["crumbs"]] == ["绍兴市", "越城区", "塔山街道"]


def test_the_county_reviewer_sees_its_county_by_default(client, case):
    response = login(client, case.bob).get(DASHBOARD, Q1)
    assert response.status_code == 200
    report = response.context["report"]
    assert report.region.code == "330602"
    assert report.signed_guidance == {"numerator": 3, "denominator": 4, "rate": 0.75}
    assert [r.name for r, _link in response.context["crumbs"]] == ["越城区"]  # not the city above it


def test_the_provider_manager_sees_only_its_own_provider(client, case):
    response = login(client, case.carol).get(DASHBOARD, Q1)
    assert response.status_code == 200
    report = response.context["report"]
    assert report.provider == case.tashan_chc and report.region == case.tashan
    assert [g.code for g in report.by_provider] == ["P-TS"]
    assert report.completion["guidance"].owed == 3
    response = client.get(DASHBOARD, {**Q1, "provider": "P-TS"})
    assert response.status_code == 200


def test_the_period_selector_and_a_bad_period(client, case):
    login(client, case.alice)
    year = client.get(DASHBOARD, {"period": "2026", "as_of": "2026-04-20"})
    assert year.context["report"].kinds[-1] == "supervision"
    assert [t.period for t in year.context["report"].trend] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    bad = client.get(DASHBOARD, {"period": "2026Q9"})
    assert bad.status_code == 200 and bad.context["form"].errors


@pytest.mark.parametrize("fmt, content_type, start", [
    ("pdf", "application/pdf", b"%PDF"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
    ("csv", "text/csv; charset=utf-8", b"\xef\xbb\xbf"),
    ("json", "application/json; charset=utf-8", b"{"),
])
def test_every_format_downloads(client, case, fmt, content_type, start):
    response = login(client, case.bob).get(DOWNLOAD, {**Q1, "format": fmt})
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert f'filename="completion-330602-2026Q1.{fmt}"' in response["Content-Disposition"]
    assert response.content.startswith(start)


def test_the_managers_download_is_its_providers(client, case):
    response = login(client, case.carol).get(DOWNLOAD, {**Q1, "format": "json"})
    data = json.loads(response.content)
    assert [r["code"] for r in data["by_provider"]] == ["P-TS"]


def test_an_unknown_format_is_404(client, case):
    assert login(client, case.alice).get(DOWNLOAD, {**Q1, "format": "doc"}).status_code == 404


PAGES = [
    (DASHBOARD, {}),
    (DASHBOARD, {"centre": "CENTRE"}),
    *[(DOWNLOAD, {"format": fmt}) for fmt in ("pdf", "xlsx", "csv", "json")],
]


@pytest.mark.parametrize("url, extra", PAGES)
@pytest.mark.parametrize("who, params", [
    ("bob", {"region": "330603"}),  # another county
    ("bob", {"region": "330603001"}),  # a township of another county
    ("bob", {"provider": "P-KQJD"}),  # a provider serving another county only
    ("carol", {"provider": "P-KQJD"}),  # another provider
    ("carol", {"provider": "P-YC"}),
    ("carol", {"region": "330603"}),
    ("dan", {}),  # a doctor
    ("fay", {}),  # centre staff
    ("gus", {}),
])
def test_outside_the_scope_is_404(client, case, url, extra, who, params):
    if extra.get("centre") == "CENTRE":
        extra = {"centre": case.sunny.code}
    response = login(client, getattr(case, who)).get(url, {**Q1, **extra, **params})
    assert response.status_code == 404


@pytest.mark.parametrize("url", [DASHBOARD, DOWNLOAD])
def test_another_countys_centre_is_404(client, case, url):
    response = login(client, case.bob).get(url, {**Q1, "centre": case.bamboo.code, "format": "json"})
    assert response.status_code == 404


def test_names_with_markup_show_as_text_in_every_table_of_the_dashboard(client, case):
    """The dashboard's rows are built as HTML in Python (reports.tables), not by the template's
    autoescape: a name is text in the region chart and table, the provider table, the overdue
    list, the missing pairs, the uncovered centres and a township's centre table."""
    from html import escape

    from mch_link.models import Centre, Provider, Region

    names = {
        Region: (case.yc.pk, '越城<b>区</b>'),
        Provider: (case.tashan_chc.pk, '塔山<i>"社区"</i>&\'x\''),
        Centre: (case.little.pk, '小星星<u>&amp;</u>'),
    }
    for model, (pk, name) in names.items():
        model.objects.filter(pk=pk).update(name=name)
    Centre.objects.filter(pk=case.rice.pk).update(name="稻香<script>x</script>")
    login(client, case.alice)
    city = client.get(DASHBOARD, Q1).content.decode()
    township = client.get(DASHBOARD, {**Q1, "region": case.tashan.code}).content.decode()
    for html, name, at_least in (
        (city, "越城<b>区</b>", 3),  # the chart's label and aria-label, the region table
        (city, '塔山<i>"社区"</i>&\'x\'', 2),  # the provider table, the overdue list
        (city, "稻香<script>x</script>", 2),  # the missing pairs, the uncovered centres
        (city, '小星星<u>&amp;</u>', 1),  # the overdue list
        (township, '小星星<u>&amp;</u>', 1),  # the township's centre table
    ):
        assert name not in html
        assert html.count(escape(name)) >= at_least, name
