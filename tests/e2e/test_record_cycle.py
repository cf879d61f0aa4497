"""The weekly cycle through the real pages on a phone: the doctor logs a visit, the centre is
told and disputes it, the doctor is told (home page to-do) and amends it, the centre is told
again and confirms; other organisations get 404."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from mch_link.models import Contract
from scheduling.models import RecordCentre, Session
from scheduling.services import schedule_generate
from tests.e2e.pages import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]




def logout(page):
    page.click("header form button")
    page.wait_for_selector("#id_username")


def test_log_dispute_amend_confirm_on_a_phone(world, live_server, phone):
    today = timezone.localdate()
    year = today.year
    Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, status="signed",
                            signed_on=datetime.date(year, 1, 1), valid_from=datetime.date(year, 1, 1),
                            valid_to=datetime.date(year, 12, 31))
    schedule_generate(year=year, today=datetime.date(year, 1, 2))
    session = Session.objects.filter(kind="guidance", date__lt=today).order_by("-date").first()
    assert session is not None
    url = f"/schedule/sessions/{session.pk}/"

    login(phone, live_server, "dan")
    phone.click("ul.actions a:text-is('我的工作')")
    phone.click(f"a[href='{url}']")
    phone.click("text=填写服务记录")
    phone.fill("#id_content", "检查晨检、消毒记录")
    phone.fill("#id_finding_4", "消毒记录不全")
    phone.fill("#id_advice", "补全消毒记录")
    phone.fill("#id_follow_up_on", (session.date + datetime.timedelta(days=30)).isoformat())
    if (today - session.date).days > settings.LATE_ENTRY_DAYS:  # a late entry (补录) asks for its reason
        phone.fill("#id_late_reason", "纸质记录后补")
    phone.click("button[name=submit]")
    phone.wait_for_selector("text=服务记录已提交")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    logout(phone)

    login(phone, live_server, "fay")
    assert phone.inner_text("header .unread-count") == "1"  # told to confirm
    phone.click("ul.todo a:has-text('服务记录待确认')")
    phone.click(f"a[href^='{url}']")
    phone.fill("textarea[name=reason]", "当天未检查膳食")
    phone.click("button[name=dispute]")
    phone.wait_for_selector("text=已提出异议")
    assert "有异议" in phone.inner_text("main")
    logout(phone)

    login(phone, live_server, "dan")  # the doctor sees the dispute from the home page
    assert phone.inner_text("header .unread-count") == "1"
    assert phone.inner_text("ul.todo a:has-text('托育机构异议待处理') .todo-count") == "1"
    phone.click("ul.todo a:has-text('托育机构异议待处理')")
    phone.locator(f"#disputed ~ .card-row > a[href='{url}']").first.click()  # the card, beside its 记录 link
    phone.wait_for_selector("text=当天未检查膳食")
    phone.click("text=修改服务记录")
    phone.fill("#id_content", "检查晨检、消毒记录；膳食未检查，已更正")
    phone.click("button[name=submit]")
    phone.wait_for_selector("text=服务记录已提交")
    logout(phone)

    login(phone, live_server, "fay")  # told the record changed: the notification leads to it
    phone.click("header a:has-text('通知')")
    phone.wait_for_selector("text=服务记录已修改，请重新确认")
    phone.click(f"main a[href='{url}']")
    phone.click("button[name=confirm]")
    phone.wait_for_selector("text=已确认")
    assert RecordCentre.objects.get().confirmation == "confirmed"
    logout(phone)

    for other in ("erin", "gus"):
        login(phone, live_server, other)
        for path in (url, url + "record/", url + "move/"):
            assert phone.goto(live_server.url + path).status == 404, (other, path)
        phone.context.clear_cookies()
