"""Prefetching on a phone (mch_link/prefetch.py, docs/accessibility.md): the agenda's hints name
its first sessions, of the doctor's own provider only; the session page's hint names its record
form; following them uses the prefetched pages, and the prefetched form still submits (its CSRF
token and version hold); nothing is hinted to a phone that saves data, nor to the centre."""

import datetime
import json

import pytest
from django.utils import timezone

from mch_link.prefetch import MAX_PREFETCH
from scheduling.models import Record, Session
from scheduling.services import schedule_generate
from tests import factories as f
from tests.e2e.pages import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
DELIVERY = "performance.getEntriesByType('navigation')[0].deliveryType"


@pytest.fixture
def last_year(world):
    """Last year's plan, all of it past (overdue) whatever the date the suite runs."""
    year = timezone.localdate().year - 1
    for provider, centre in [(world.tashan_chc, world.sunny), (world.tashan_chc, world.little),
                             (world.keqiao_chc, world.bamboo)]:
        f.signed_contract(provider, centre, year=year)
    schedule_generate(year=year, today=datetime.date(year, 1, 2))
    return world


def hinted(page):
    """The URLs of the page's speculation rules (prefetch), [] without any."""
    text = page.evaluate("document.querySelector('script[type=speculationrules]')?.textContent || ''")
    return [url for rule in json.loads(text)["prefetch"] for url in rule["urls"]] if text else []


def session_ids(urls):
    return [int(u.strip("/").split("/")[2]) for u in urls]


def test_the_doctor_follows_prefetched_pages_to_a_record_that_submits(last_year, live_server, phone):
    login(phone, live_server, "dan")
    phone.goto(f"{live_server.url}/schedule/agenda/")
    urls = hinted(phone)
    cards = phone.eval_on_selector_all("a.card-link", "as => as.map(a => a.getAttribute('href'))")
    assert len(urls) == MAX_PREFETCH and urls == list(dict.fromkeys(cards))[:MAX_PREFETCH]
    assert set(Session.objects.filter(pk__in=session_ids(urls)).values_list("provider", flat=True)) == {
        last_year.tashan_chc.pk}

    phone.wait_for_timeout(500)  # the doctor reads the agenda; the browser fetches meanwhile
    phone.click(f"a.card-link[href='{urls[0]}']")
    phone.wait_for_load_state("load")
    assert phone.evaluate(DELIVERY) == "navigational-prefetch"  # no round trip after the tap
    record_url = f"{urls[0]}record/"
    assert hinted(phone) == [record_url]

    phone.wait_for_timeout(500)
    phone.click(f"a.button[href='{record_url}']")
    phone.wait_for_load_state("load")
    assert phone.evaluate(DELIVERY) == "navigational-prefetch"
    assert hinted(phone) == []
    phone.fill("#id_content", "检查晨检、消毒记录")
    phone.fill("#id_finding_4", "消毒记录不全")
    phone.fill("#id_late_reason", "纸质记录后补")  # last year's: a late entry
    phone.click("button[name=submit]")
    phone.wait_for_selector(".messages li:has-text('服务记录已提交')")  # the prefetched token and version held
    assert Record.objects.get(session_id=session_ids(urls)[0]).status == Record.Status.SUBMITTED


def test_the_agendas_record_link_opens_the_form(last_year, live_server, phone):
    login(phone, live_server, "dan")
    phone.goto(f"{live_server.url}/schedule/agenda/")
    first = phone.locator("a.record-link").first
    href = first.get_attribute("href")
    assert first.inner_text() == "记录" and "记录：" in first.get_attribute("aria-label")
    first.click()
    phone.wait_for_selector("form input[name=start]")
    assert phone.url.endswith(href)


def test_another_organisation_and_the_centre_get_no_hint_of_these_sessions(last_year, live_server, phone):
    login(phone, live_server, "erin")
    phone.goto(f"{live_server.url}/schedule/agenda/")
    urls = hinted(phone)
    assert urls and set(Session.objects.filter(pk__in=session_ids(urls)).values_list("provider", flat=True)) == {
        last_year.keqiao_chc.pk}

    # Out at once, prefetches perhaps still in flight, and the next user in on the same phone
    # (that a prefetch answer repeats no cookie is pinned in tests/scheduling/test_prefetch.py).
    phone.click("header form button")
    phone.wait_for_selector("#id_username")
    login(phone, live_server, "fay")
    session = Session.objects.filter(provider=last_year.tashan_chc, obligations__contract__centre=last_year.sunny) \
        .order_by("date").first()
    phone.goto(f"{live_server.url}/schedule/sessions/{session.pk}/")
    assert phone.locator("h1").count() == 1 and hinted(phone) == []


def test_a_phone_that_saves_data_gets_no_hint(last_year, live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                  extra_http_headers={"Save-Data": "on"})
    page = context.new_page()
    try:
        login(page, live_server, "dan")
        page.goto(f"{live_server.url}/schedule/agenda/")
        assert page.locator("a.card-link").count() >= MAX_PREFETCH and hinted(page) == []
        page.locator("a.card-link").first.click()
        page.wait_for_load_state("load")
        assert page.evaluate(DELIVERY) == "" and hinted(page) == []
        assert page.locator("a.button[href$='/record/']").count() == 1
    finally:
        context.close()
