"""Prefetch hints (mch_link/prefetch.py): the agenda names the first few sessions on it, the
session page its record form when the user may record; none with `Save-Data: on`; the pages
that may be prefetched are private; the inline rules carry the policy's nonce."""

import datetime
import json
import re

import pytest
import time_machine
from django.urls import reverse

from mch_link.prefetch import MAX_PREFETCH
from scheduling.models import Session
from scheduling.services import schedule_generate
from tests import factories as f

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 6, 15)  # a Monday: Q1 and most of Q2 are overdue


def at(day, hour=10):
    return time_machine.travel(datetime.datetime(day.year, day.month, day.day, hour - 8, 0, tzinfo=datetime.UTC),
                               tick=False)


@pytest.fixture
def planned(world):
    with at(datetime.date(2026, 1, 5)):
        f.signed_contract(world.tashan_chc, world.sunny)
        f.signed_contract(world.tashan_chc, world.little)
        f.signed_contract(world.keqiao_chc, world.bamboo)
        schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    return world


def rules(response):
    """(the prefetch URLs of the page's speculation rules, the script's nonce), or ([], None)."""
    found = re.search(r'<script type="speculationrules" nonce="([^"]+)">(.*?)</script>', response.content.decode(),
                      re.S)
    if not found:
        return [], None
    (rule,) = json.loads(found[2])["prefetch"]
    assert rule["source"] == "list"
    return rule["urls"], found[1]


def card_links(response):
    return re.findall(r'<a class="card card-link" href="([^"]+)"', response.content.decode())


def test_the_agenda_prefetches_the_first_sessions_on_it(planned, client):
    client.force_login(planned.dan)
    with at(TODAY):
        response = client.get(reverse("scheduling:agenda"))
    urls, nonce = rules(response)
    assert urls == list(dict.fromkeys(card_links(response)))[:MAX_PREFETCH] and len(urls) == MAX_PREFETCH
    ids = [int(re.search(r"/sessions/(\d+)/$", u)[1]) for u in urls]
    assert Session.objects.filter(pk__in=ids, provider=planned.tashan_chc).count() == MAX_PREFETCH
    assert f"'nonce-{nonce}'" in response["Content-Security-Policy"]
    assert "Save-Data" in response["Vary"]


def test_another_organisations_doctor_gets_only_their_own_sessions(planned, client):
    client.force_login(planned.erin)
    with at(TODAY):
        urls, _nonce = rules(client.get(reverse("scheduling:agenda")))
    ids = [int(re.search(r"/sessions/(\d+)/$", u)[1]) for u in urls]
    assert ids and set(Session.objects.filter(pk__in=ids).values_list("provider", flat=True)) == {
        planned.keqiao_chc.pk}


def test_the_session_page_prefetches_its_record_form_for_who_may_record(planned, client):
    session = Session.objects.filter(provider=planned.tashan_chc, kind="guidance").order_by("date").first()
    url = reverse("scheduling:session_detail", args=[session.pk])
    with at(TODAY):
        client.force_login(planned.dan)
        response = client.get(url)
        assert rules(response)[0] == [reverse("scheduling:record_edit", args=[session.pk])]
        assert "private" in response["Cache-Control"]
        form = client.get(reverse("scheduling:record_edit", args=[session.pk]))
        assert "private" in form["Cache-Control"] and "no-cache" in form["Cache-Control"]
        client.force_login(planned.fay)  # the centre reads the session, records nothing
        response = client.get(url)
        assert response.status_code == 200 and rules(response) == ([], None)
        assert "nonce-" not in response["Content-Security-Policy"]


def test_nothing_is_prefetched_when_the_phone_saves_data(planned, client):
    session = Session.objects.filter(provider=planned.tashan_chc).order_by("date").first()
    client.force_login(planned.dan)
    with at(TODAY):
        agenda = client.get(reverse("scheduling:agenda"), headers={"Save-Data": "on"})
        page = client.get(reverse("scheduling:session_detail", args=[session.pk]), headers={"Save-Data": "on"})
    assert card_links(agenda) and rules(agenda) == ([], None)
    assert rules(page) == ([], None)


def test_the_agenda_links_straight_to_the_record_form_of_what_is_due(planned, client):
    client.force_login(planned.dan)
    with at(TODAY):
        html = client.get(reverse("scheduling:agenda")).content.decode()
    overdue = Session.objects.filter(provider=planned.tashan_chc, date__lt=TODAY).order_by("date", "start").first()
    assert f'href="{reverse("scheduling:record_edit", args=[overdue.pk])}"' in html
    later = Session.objects.filter(provider=planned.tashan_chc, date__gt=TODAY).order_by("date").first()
    assert reverse("scheduling:record_edit", args=[later.pk]) not in html  # not held yet: nothing to record


def test_a_prefetch_answer_repeats_no_cookie(planned, client):
    """A prefetch answered after a logout and a new login must not put the old CSRF secret back."""
    session = Session.objects.filter(provider=planned.tashan_chc).order_by("date").first()
    url = reverse("scheduling:session_detail", args=[session.pk])
    client.force_login(planned.dan)
    with at(TODAY):
        assert "csrftoken" in client.get(url).cookies  # a page with a form sends it (again)
        prefetched = client.get(url, headers={"Sec-Purpose": "prefetch"})
    assert prefetched.status_code == 200 and "csrftoken" in client.cookies
    assert "csrftoken" not in prefetched.cookies and "sessionid" not in prefetched.cookies
