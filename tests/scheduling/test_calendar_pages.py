"""Calendar pages: a centre's month and list, a doctor's week, a provider's month with its
load; scoped to what each user may see, with the 订阅 box for the calendar's owner only."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from mch_link.models import Contract
from scheduling.models import CalendarFeed, Session
from scheduling.services import schedule_generate
from tests import factories as f

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _in_june_2026():
    with time_machine.travel(NOW, tick=True):
        yield


def sign(provider, centre):
    Contract.objects.create(provider=provider, centre=centre, status="signed",
                            signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                            valid_to=datetime.date(2026, 12, 31))


@pytest.fixture
def planned(world):
    for provider, centre in [(world.tashan_chc, world.sunny), (world.tashan_chc, world.little),
                             (world.yc_mch, world.sunny), (world.keqiao_chc, world.bamboo)]:
        sign(provider, centre)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    return world


def month_of(session):
    return f"{session.date:%Y-%m}"


def page(client, user, name, **params):
    client.force_login(user)
    return client.get(reverse(f"calendar:{name}"), params)


def sessions_shown(html):
    """Sessions on a page: table rows of the list, else event boxes other than the legend's four."""
    return html.count("<tr class=") or html.count('class="ev k-') - 4


def first_session(**lookup):
    return Session.objects.filter(**lookup).order_by("date", "start").first()


# --------------------------------------------------------------------------- centre


def test_centre_staff_see_their_month_with_every_provider_serving_them(planned, client):
    ts = first_session(provider=planned.tashan_chc, obligations__contract__centre=planned.sunny)
    html = page(client, planned.fay, "centre_month", month=month_of(ts)).content.decode()
    assert "阳光托育园" in html and "塔山街道社区卫生服务中心" in html
    assert 'class="cal-grid"' in html and "data-print" in html and "js/app.js" in html and "打印" in html
    yc = first_session(provider=planned.yc_mch, obligations__contract__centre=planned.sunny)
    html = page(client, planned.fay, "centre_month", month=month_of(yc)).content.decode()
    assert "越城区妇幼保健院" in html
    assert "竹韵" not in html


def test_the_centre_list_shows_the_year(planned, client):
    html = page(client, planned.fay, "centre_sessions", year=2026).content.decode()
    sessions = Session.objects.filter(obligations__contract__centre=planned.sunny).distinct()
    assert html.count("<tr class=") == sessions.count()
    assert "2026年1月" in html and "卫生工作管理及业务开展督导" in html


def test_estimated_sessions_are_marked_and_cancelled_ones_struck_through(planned, client):
    session = first_session(provider=planned.tashan_chc, obligations__contract__centre=planned.sunny)
    Session.objects.filter(obligations__contract__centre=planned.sunny).update(estimated=False)
    Session.objects.filter(pk=session.pk).update(estimated=True, status=Session.Status.CANCELLED)
    for name in ["centre_month", "centre_sessions"]:
        html = page(client, planned.fay, name, month=month_of(session), year=2026).content.decode()
        # the legend, the notice that estimated sessions are shown, and the session
        assert html.count('<span class="badge warn">估计</span>') == 3
        assert "<del>" in html and "cancelled" in html


def test_the_kind_filter_shows_one_kind(planned, client):
    html = page(client, planned.fay, "centre_sessions", year=2026, kind="supervision").content.decode()
    assert "卫生工作管理及业务开展督导" in html and "<td>卫生保健业务指导</td>" not in html


def test_provider_staff_see_a_centre_through_their_own_sessions_only(planned, client):
    yc = first_session(provider=planned.yc_mch, obligations__contract__centre=planned.sunny)
    html = page(client, planned.carol, "centre_sessions", centre=planned.sunny.code, year=2026).content.decode()
    assert "塔山街道社区卫生服务中心" in html and "越城区妇幼保健院" not in html
    html = page(client, planned.bob, "centre_month", centre=planned.sunny.code, month=month_of(yc)).content.decode()
    assert "越城区妇幼保健院" in html
    assert 'id="subscribe"' not in html  # the feed is the centre's own


def test_bureaus_pick_a_centre_first(planned, client):
    html = page(client, planned.bob, "centre_month").content.decode()
    assert "阳光托育园" in html and "竹韵托育" not in html  # bob reviews 越城区 only
    assert f"?centre={planned.sunny.code}" in html


def test_a_joint_training_names_only_the_centres_own_name(planned, client):
    joint = Session.objects.filter(kind="staff_training", obligations__contract__centre=planned.little) \
        .filter(obligations__contract__centre=planned.sunny).first()
    html = page(client, planned.fay, "centre_month", month=month_of(joint)).content.decode()
    assert "小星星" not in html
    html = page(client, planned.carol, "provider_month", month=month_of(joint)).content.decode()
    assert "小星星托育、阳光托育园" in html


# --------------------------------------------------------------------------- doctor


def test_a_doctor_sees_his_sessions_and_the_unassigned_ones_of_the_week(planned, client):
    theirs = first_session(provider=planned.tashan_chc, doctor=planned.dan)
    monday = theirs.date - datetime.timedelta(days=theirs.date.weekday())
    week = Session.objects.filter(provider=planned.tashan_chc, date__range=(monday, monday + datetime.timedelta(6)))
    other = f.user("olga", "doctor", planned.tashan_chc)
    unassigned = week.filter(doctor__isnull=True).first()
    if unassigned is not None:
        Session.objects.filter(pk=unassigned.pk).update(doctor=other)
    iso = monday.isocalendar()
    html = page(client, planned.dan, "doctor_week", week=f"{iso.year}-W{iso.week:02d}").content.decode()
    shown = html.split('class="cal-week"')[1].count('class="ev ')
    assert shown == week.filter(doctor__isnull=True).count() + week.filter(doctor=planned.dan).count()
    assert 'id="subscribe"' in html and "webcal://" in html and "<svg" in html


def test_a_manager_views_a_doctors_week(planned, client):
    html = page(client, planned.carol, "doctor_week").content.decode()
    assert "?doctor=dan" in html
    response = page(client, planned.carol, "doctor_week", doctor="dan")
    assert response.status_code == 200 and 'id="subscribe"' not in response.content.decode()


# --------------------------------------------------------------------------- provider


def test_the_manager_sees_the_load_per_day(planned, client):
    session = first_session(provider=planned.tashan_chc)
    day_load = Session.objects.filter(provider=planned.tashan_chc, date=session.date).count()
    html = page(client, planned.carol, "provider_month", month=month_of(session)).content.decode()
    assert f"{day_load}/4" in html  # 2 doctors × 2 a day
    assert 'id="subscribe"' in html and "webcal://" in html


def test_a_doctor_sees_his_providers_month_without_its_feed(planned, client):
    response = page(client, planned.dan, "provider_month")
    assert response.status_code == 200 and 'id="subscribe"' not in response.content.decode()


def test_bureaus_view_a_provider_in_their_region(planned, client):
    assert page(client, planned.bob, "provider_month", provider="P-TS").status_code == 200
    assert page(client, planned.alice, "provider_month", provider="P-KQJD").status_code == 200
    assert "塔山街道社区卫生服务中心" in page(client, planned.bob, "provider_month").content.decode()


# --------------------------------------------------------------------------- subscribe


def test_the_owner_gets_the_feed_url_and_a_qr_code(planned, client, settings):
    settings.SITE_URL = "https://mch.example.cn"
    html = page(client, planned.fay, "centre_month").content.decode()
    feed = CalendarFeed.objects.get(centre=planned.sunny)
    path = reverse("calendar:feed", kwargs={"token": feed.token})
    assert f"https://mch.example.cn{path}" in html and f"webcal://mch.example.cn{path}" in html
    assert "<svg" in html and "订阅" in html


def test_the_owner_renews_the_feed_from_the_page(planned, client):
    page(client, planned.carol, "provider_month")
    old = CalendarFeed.objects.get(provider=planned.tashan_chc).token
    response = client.post(reverse("calendar:feed_renew"), {"owner_type": "provider", "owner": "P-TS"}, follow=True)
    new = CalendarFeed.objects.get(provider=planned.tashan_chc).token
    assert new != old and new in response.content.decode() and "旧链接已失效" in response.content.decode()


def test_renew_needs_a_post(planned, client):
    client.force_login(planned.fay)
    assert client.get(reverse("calendar:feed_renew")).status_code == 405


# --------------------------------------------------------------------------- other organisations


@pytest.mark.parametrize(("who", "name", "params"), [
    ("gus", "centre_month", {"centre": "sunny"}),
    ("gus", "centre_sessions", {"centre": "sunny"}),
    ("erin", "centre_month", {"centre": "sunny"}),
    ("bob", "centre_sessions", {"centre": "bamboo"}),
    ("fay", "centre_month", {"centre": "bamboo"}),
    ("erin", "doctor_week", {"doctor": "dan"}),
    ("dan", "doctor_week", {"doctor": "erin"}),
    ("bob", "doctor_week", {"doctor": "erin"}),
    ("fay", "doctor_week", {}),
    ("fay", "doctor_week", {"doctor": "dan"}),
    ("erin", "provider_month", {"provider": "P-TS"}),
    ("carol", "provider_month", {"provider": "P-KQJD"}),
    ("bob", "provider_month", {"provider": "P-KQJD"}),
    ("fay", "provider_month", {}),
    ("gus", "provider_month", {"provider": "P-KQJD"}),
])
def test_calendar_pages_are_404_to_other_organisations(planned, client, who, name, params):
    params = {k: getattr(planned, v).code if v in ("sunny", "bamboo") else v for k, v in params.items()}
    assert page(client, getattr(planned, who), name, **params).status_code == 404


@pytest.mark.parametrize(("who", "owner_type", "owner"), [
    ("gus", "centre", "sunny"),
    ("carol", "centre", "sunny"),
    ("erin", "doctor", "dan"),
    ("carol", "doctor", "dan"),
    ("carol", "provider", "P-KQJD"),
    ("dan", "provider", "P-TS"),  # a doctor, not its manager
    ("bob", "provider", "P-TS"),
    ("alice", "centre", "sunny"),
])
def test_the_renew_action_is_404_to_anyone_but_the_owner(planned, client, who, owner_type, owner):
    owner = getattr(planned, owner).code if owner in ("sunny", "bamboo") else owner
    feeds_before = set(CalendarFeed.objects.values_list("token", flat=True))
    client.force_login(getattr(planned, who))
    response = client.post(reverse("calendar:feed_renew"), {"owner_type": owner_type, "owner": owner})
    assert response.status_code == 404
    assert set(CalendarFeed.objects.values_list("token", flat=True)) == feeds_before


def test_pages_need_a_login(client):
    for name in ["centre_month", "centre_sessions", "doctor_week", "provider_month"]:
        response = client.get(reverse(f"calendar:{name}"))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --------------------------------------------------------------------------- query counts


def test_page_query_counts_do_not_grow_with_sessions(world, client, django_assert_max_num_queries):
    sign(world.tashan_chc, world.sunny)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    session = first_session(provider=world.tashan_chc)
    Session.objects.filter(provider=world.tashan_chc).exclude(pk=session.pk).delete()
    Session.objects.filter(pk=session.pk).update(doctor=world.dan)  # an empty doctor lookup would save a query
    iso = session.date.isocalendar()
    cases = [
        (world.fay, "centre_month", {"month": month_of(session)}),
        (world.fay, "centre_sessions", {"year": 2026}),
        (world.carol, "provider_month", {"month": month_of(session)}),
        (world.dan, "doctor_week", {"week": f"{iso.year}-W{iso.week:02d}"}),
    ]
    counts = []
    for user, name, params in cases:
        page(client, user, name, **params)  # logs in; creates the feed row once
        with django_assert_max_num_queries(30) as one:
            assert client.get(reverse(f"calendar:{name}"), params).status_code == 200
        counts.append(len(one.captured_queries))
    for i in range(8):
        sign(world.tashan_chc, f.centre(f"新托育{i}", world.tashan))
    sign(world.yc_mch, world.sunny)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    for (user, name, params), count in zip(cases, counts, strict=True):
        client.force_login(user)
        with django_assert_max_num_queries(count):
            html = client.get(reverse(f"calendar:{name}"), params).content.decode()
        assert sessions_shown(html) > 1
