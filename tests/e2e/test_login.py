"""Each role logs in on a phone and sees its own organisation, and only it."""

import pytest

from tests.e2e.pages import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]




@pytest.mark.parametrize("username, organisation, not_seen", [
    ("alice", "绍兴市", None),
    ("bob", "越城区", "竹韵托育"),
    ("dan", "塔山街道社区卫生服务中心", "竹韵托育"),
    ("erin", "柯桥街道社区卫生服务中心", "阳光托育园"),
    ("fay", "阳光托育园", "小星星托育"),
])
def test_each_role_logs_in_on_a_phone_and_sees_its_own_centres(world, live_server, phone, username, organisation,
                                                                  not_seen):
    login(phone, live_server, username)
    assert phone.inner_text("h1") == organisation
    phone.click("ul.actions a:text-is('托育机构')")
    phone.wait_for_selector("table")
    body = phone.inner_text("main")
    if not_seen:
        assert not_seen not in body
    # the page fits the phone: no horizontal scrolling of the whole page
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_wrong_password_shows_a_chinese_error(world, live_server, phone):
    phone.goto(f"{live_server.url}/accounts/login/")
    phone.fill("#id_username", "dan")
    phone.fill("#id_password", "wrong")
    phone.click("button[type=submit]")
    assert "用户名或密码不正确" in phone.inner_text("main")


@pytest.mark.parametrize("username, link", [("fay", "服务日历"), ("dan", "我的本周服务"), ("carol", "机构服务日历")])
def test_the_calendar_pages_fit_a_phone(world, live_server, phone, username, link):
    login(phone, live_server, username)
    phone.click(f"ul.actions a:text-is('{link}')")
    phone.wait_for_selector("h1")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
