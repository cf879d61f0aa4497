import datetime

import pytest
from django.urls import reverse

from mch_link.models import Contract
from scheduling.services import schedule_generate
from tests import factories as f

pytestmark = pytest.mark.django_db


def sign(world, centre):
    Contract.objects.create(provider=world.tashan_chc, centre=centre, status="signed",
                            signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                            valid_to=datetime.date(2026, 12, 31))


def test_the_manager_sees_the_quarter_by_day_with_the_load(world, client):
    sign(world, world.sunny)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    client.force_login(world.carol)
    html = client.get(reverse("scheduling:provider_plan"), {"quarter": "2026Q2"}).content.decode()
    assert "阳光托育园" in html and "2026Q2" in html and "/4" in html  # 2 doctors × 2 a day


def test_regenerate_shows_the_same_report_as_the_command(world, client):
    sign(world, world.sunny)
    client.force_login(world.carol)
    html = client.post(reverse("scheduling:provider_regenerate"), {"quarter": "2026Q2"}).content.decode()
    assert "新建场次 sessions created: 13" in html
    html = client.post(reverse("scheduling:provider_regenerate"), {"quarter": "2026Q2"}).content.decode()
    assert "新建场次 sessions created: 0" in html and "保持不变 kept: 13" in html


def test_regenerate_touches_only_the_managers_own_provider(world, client):
    Contract.objects.create(provider=world.yc_mch, centre=world.sunny, status="signed",
                            signed_on=datetime.date(2026, 1, 1), valid_from=datetime.date(2026, 1, 1),
                            valid_to=datetime.date(2026, 12, 31))
    client.force_login(world.carol)
    client.post(reverse("scheduling:provider_regenerate"), {"quarter": "2026Q2"})
    from scheduling.models import Session

    assert not Session.objects.filter(provider=world.yc_mch).exists()


def test_the_plan_page_query_count_does_not_grow_with_sessions(world, client, django_assert_max_num_queries):
    sign(world, world.sunny)
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    client.force_login(world.carol)
    url = reverse("scheduling:provider_plan")
    with django_assert_max_num_queries(20) as small:
        client.get(url, {"quarter": "2026Q2"})
    for i in range(6):
        sign(world, f.centre(f"新托育{i}", world.tashan))
    schedule_generate(year=2026, today=datetime.date(2026, 1, 5))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url, {"quarter": "2026Q2"})


@pytest.mark.parametrize("who", ["dan", "erin", "fay", "bob"])
def test_others_get_404_on_the_plan_pages(world, client, who):
    client.force_login(getattr(world, who))
    assert client.get(reverse("scheduling:provider_plan")).status_code == 404
    assert client.post(reverse("scheduling:provider_regenerate"), {"quarter": "2026Q2"}).status_code == 404


def test_notifications_show_only_the_users_own(world, client):
    from scheduling.jobs import notify

    notify(world.dan, key="k1", title="给丹的提醒")
    client.force_login(world.erin)
    assert "给丹的提醒" not in client.get(reverse("scheduling:notifications")).content.decode()
    client.force_login(world.dan)
    assert "给丹的提醒" in client.get(reverse("scheduling:notifications")).content.decode()
