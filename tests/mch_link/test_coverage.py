"""Coverage of a hand-built registry, number by number, in text, JSON and on the page."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from mch_link.models import Contract
from mch_link.selectors import coverage

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 6, 30)


def signed(provider, centre, start=datetime.date(2026, 1, 1), end=datetime.date(2026, 12, 31), **kw):
    return Contract.objects.create(provider=provider, centre=centre, status=kw.pop("status", "signed"),
                                   signed_on=start, valid_from=start, valid_to=end, **kw)


@pytest.fixture
def contracts(world):
    """Required: 8 pairs (city–阳光; 越城妇幼–阳光, 小星星; 柯桥妇幼–竹韵; 塔山–阳光, 小星星;
    富盛–稻香; 柯桥社区–竹韵). Signed in force on 6-30: 4 of them plus one extra."""
    w = world
    signed(w.tashan_chc, w.sunny)
    signed(w.tashan_chc, w.little)
    signed(w.yc_mch, w.sunny)
    signed(w.kq_mch, w.bamboo)
    signed(w.keqiao_chc, w.little)  # not required: extra
    signed(w.city_mch, w.sunny, status="terminated", terminated_on=datetime.date(2026, 6, 1),
           termination_reason="机构调整")
    Contract.objects.create(provider=w.fusheng_thc, centre=w.rice, valid_from=DAY, valid_to=DAY)  # draft
    signed(w.fusheng_thc, w.rice, start=datetime.date(2025, 1, 1), end=datetime.date(2025, 12, 31))  # expired
    return w


def test_the_city_figures(contracts):
    data = coverage(DAY, contracts.city).as_json()
    assert data["centres"] == 4
    assert data["signed_centres"] == 3
    assert data["signed_guidance_rate"] == 0.75
    assert data["required_pairs"] == 8
    assert data["covered_pairs"] == 4
    assert sorted((m["provider"], m["centre"], m["tier"]) for m in data["missing_pairs"]) == sorted([
        ("P-CITY", contracts.sunny.code, "city"),
        ("P-YC", contracts.little.code, "county"),
        ("P-FS", contracts.rice.code, "grassroots"),
        ("P-KQJD", contracts.bamboo.code, "grassroots"),
    ])
    assert data["uncovered_centres"] == [contracts.rice.code]
    assert data["extra_contracts"] == [{"provider": "P-KQJD", "centre": contracts.little.code, "tier": "grassroots"}]


def test_the_county_figures_and_json_command_agree(contracts):
    out = StringIO()
    call_command("coverage", "--date", "2026-06-30", "--region", "330602", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"date", "region", "centres", "signed_centres", "signed_guidance_rate", "required_pairs",
                         "covered_pairs", "missing_pairs", "uncovered_centres", "extra_contracts"}
    assert (data["date"], data["region"]) == ("2026-06-30", "330602")
    assert (data["centres"], data["signed_centres"], data["required_pairs"], data["covered_pairs"]) == (3, 2, 6, 3)
    assert data["signed_guidance_rate"] == 0.6667
    assert len(data["missing_pairs"]) == 3
    assert data["uncovered_centres"] == [contracts.rice.code]


def test_the_text_report_shows_the_same_numbers(contracts):
    out = StringIO()
    call_command("coverage", "--date", "2026-06-30", "--region", "330602", stdout=out)
    text = out.getvalue()
    assert "centres: 3" in text and "signed_centres: 2" in text and "66.67%" in text
    assert "required_pairs: 6" in text and "covered_pairs: 3" in text
    assert "稻香托育" in text


def test_before_the_termination_the_city_pair_was_covered(contracts):
    data = coverage(datetime.date(2026, 5, 31), contracts.city).as_json()
    assert data["covered_pairs"] == 5


def test_a_bad_region_is_a_clear_error(contracts):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no region has this code"):
        call_command("coverage", "--date", "2026-06-30", "--region", "999999")


def test_the_coverage_page_shows_the_rate_and_drills_down(contracts, client):
    client.force_login(contracts.alice)
    html = client.get(reverse("mch_link:coverage"), {"date": "2026-06-30"}).content.decode()
    assert "75.0%" in html and "（3 / 4）" in html and "越城区" in html and "柯桥区" in html
    html = client.get(reverse("mch_link:coverage"), {"date": "2026-06-30", "region": "330602001"}).content.decode()
    assert "阳光托育园" in html and "小星星托育" in html and "竹韵托育" not in html


def test_the_coverage_page_keeps_its_query_count_whatever_the_rows(contracts, client, django_assert_max_num_queries):
    from tests import factories as f

    client.force_login(contracts.alice)
    url = reverse("mch_link:coverage")
    with django_assert_max_num_queries(12) as small:  # 14 before the grades and contracts were read with the centres
        client.get(url, {"date": "2026-06-30"})
    for i in range(30):
        c = f.centre(f"新托育{i}", contracts.tashan, grade="二级")
        signed(contracts.tashan_chc, c)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url, {"date": "2026-06-30"})


def test_a_county_reviewer_sees_only_its_county(contracts, client):
    client.force_login(contracts.bob)
    assert client.get(reverse("mch_link:coverage"), {"region": "330603"}).status_code == 404
    html = client.get(reverse("mch_link:coverage"), {"date": "2026-06-30"}).content.decode()
    assert "（2 / 3）" in html


@pytest.mark.parametrize("who", ["carol", "dan", "fay"])
def test_providers_and_centres_do_not_get_the_coverage_page(contracts, client, who):
    client.force_login(getattr(contracts, who))
    assert client.get(reverse("mch_link:coverage")).status_code == 404


def test_an_extra_contract_carries_its_dates(contracts):
    (extra,) = coverage(DAY, contracts.city).extra_contracts
    assert (extra["provider"], extra["centre"]) == ("P-KQJD", contracts.little.code)
    assert (extra["valid_from"], extra["valid_to"]) == (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))


def test_the_contracts_of_a_closed_centre_count_nowhere(contracts):
    contracts.sunny.closed_on = DAY
    contracts.sunny.save()
    report = coverage(DAY, contracts.city)
    data = report.as_json()
    assert (data["centres"], data["signed_centres"], data["required_pairs"], data["covered_pairs"]) == (3, 2, 5, 2)
    assert contracts.sunny.code not in {m["centre"] for m in report.missing_pairs + report.extra_contracts}


def test_a_registry_of_another_day_is_refused(contracts):
    from mch_link.selectors import registry_as_of

    with pytest.raises(ValueError, match="another day"):
        coverage(DAY, contracts.city, registry=registry_as_of(DAY - datetime.timedelta(days=1)))
