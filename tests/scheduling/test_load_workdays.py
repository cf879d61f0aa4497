"""The work calendar as data: `manage.py load_workdays`, the /schedule/workdays/ page, the admin.

Every refusal checks that the database is as it was: nothing is half loaded.
"""

import datetime
import io
import json

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from mch_link.models import Contract
from scheduling.models import Session, WorkDay, WorkYear
from scheduling.services import schedule_generate, workyear_load

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 11, 29, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
PAPER = "https://www.gov.cn/zhengce/content/2026-11/01/content_0000001.htm"


def _days(name, off, *dates):
    return [{"name": name, "date": f"2027-{d}", "isOffDay": off} for d in dates]


# A notice as the State Council might publish it for 2027: every statutory day off, the usual
# long breaks and four make-up working days. 28 days off, 4 make-up days.
NOTICE_DAYS = [
    *_days("元旦", True, "01-01", "01-02", "01-03"),
    *_days("春节", True, "02-05", "02-06", "02-07", "02-08", "02-09", "02-10", "02-11", "02-12"),
    *_days("春节", False, "02-20"),
    *_days("清明节", True, "04-03", "04-04", "04-05"),
    *_days("劳动节", True, "05-01", "05-02", "05-03", "05-04", "05-05"),
    *_days("劳动节", False, "05-08"),
    *_days("端午节", True, "06-09"),
    *_days("中秋节", True, "09-15"),
    *_days("国庆节", False, "09-26"),
    *_days("国庆节", True, "10-01", "10-02", "10-03", "10-04", "10-05", "10-06", "10-07"),
    *_days("国庆节", False, "10-09"),
]
EXTRA = len(NOTICE_DAYS)  # the index of an entry a test adds


def holidays_2027(*extra, papers=(PAPER,)):
    return {"year": 2027, "papers": list(papers), "days": [*NOTICE_DAYS, *extra]}


def write(tmp_path, data, name="2027.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def run(*args):
    out = io.StringIO()
    call_command("load_workdays", *[str(a) for a in args], stdout=out, stderr=io.StringIO())
    return out.getvalue()


def state():
    """What a refused load must leave as it was."""
    return (list(WorkYear.objects.values_list("year", "estimated", "source")),
            list(WorkDay.objects.values_list("date", "is_off", "name")),
            list(Session.objects.values_list("pk", "date", "sequence", "estimated")))


# --------------------------------------------------------------------------- the command


def test_it_loads_a_good_file(db, tmp_path):
    out = run(write(tmp_path, holidays_2027()))
    row = WorkYear.objects.get(year=2027)
    assert (row.estimated, row.source) == (False, PAPER)
    assert list(row.days.values_list("date", "is_off", "name")) == [
        (datetime.date.fromisoformat(d["date"]), d["isOffDay"], d["name"])
        for d in sorted(NOTICE_DAYS, key=lambda d: d["date"])
    ]
    assert "放假 28 天，调休上班 4 天" in out
    assert out.count("新建场次 sessions created: 0") == 1  # the re-plan's report (no contracts in 2027), once


def test_loading_again_replaces_the_year(db, tmp_path):
    run(write(tmp_path, holidays_2027()))
    second = holidays_2027(papers=())
    second["days"] = [d for d in second["days"] if d["isOffDay"] or d["date"] == "2027-02-20"]
    run(write(tmp_path, second))
    row = WorkYear.objects.get(year=2027)
    assert list(row.days.filter(is_off=False).values_list("date", flat=True)) == [datetime.date(2027, 2, 20)]
    assert row.days.filter(is_off=True).count() == 28
    assert row.source == "holiday-cn"


BAD_DAYS = [
    ({"name": "元旦", "date": "2027-13-01", "isOffDay": True}, rf"days\[{EXTRA}\].*bad date '2027-13-01'"),
    ({"name": "元旦", "date": "2027/01/04", "isOffDay": True}, rf"days\[{EXTRA}\].*bad date"),
    ({"name": "元旦", "date": "2027-01-04", "isOffDay": "true"}, rf"days\[{EXTRA}\].*isOffDay must be a boolean"),
    ({"name": "元旦", "date": "2027-01-04", "isOffDay": 1}, rf"days\[{EXTRA}\].*isOffDay must be a boolean"),
    ({"name": "元旦", "date": "2026-12-31", "isOffDay": True}, rf"days\[{EXTRA}\].*outside the year 2027"),
    ({"name": "元旦", "date": "2027-01-01", "isOffDay": True},
     rf"days\[{EXTRA}\].*listed twice \(first at days\[0\]\)"),
    ({"name": "元旦", "date": "2027-01-04"}, rf"days\[{EXTRA}\].*missing key 'isOffDay'"),
    ({"date": "2027-01-04", "isOffDay": True}, rf"days\[{EXTRA}\].*missing key 'name'"),
]


@pytest.mark.parametrize(("entry", "message"), BAD_DAYS)
def test_it_refuses_a_bad_entry_naming_it_and_writes_nothing(world, tmp_path, entry, message):
    workyear_load({"year": 2027, "papers": [], "days": [{"name": "旧", "date": "2027-03-03", "isOffDay": True}]})
    before = state()
    with pytest.raises(CommandError, match=message) as refused:
        run(write(tmp_path, holidays_2027(entry)))
    assert "未写入任何数据" in str(refused.value)
    assert state() == before


@pytest.mark.parametrize(("text", "message"), [
    ("not json at all", r"not valid JSON \(line 1, column 1"),
    ('{"year": 2027, "days": [', "not valid JSON"),
    ("[]", "top level must be an object"),
    ('{"year": 2027}', "missing key 'days'"),
    ('{"days": []}', "missing key 'year'"),
    ('{"year": "2027", "days": []}', "year must be a 4-digit integer"),
])
def test_it_refuses_a_file_that_is_not_a_holiday_year(db, tmp_path, text, message):
    before = state()
    with pytest.raises(CommandError, match=message):
        run(write(tmp_path, text))
    assert state() == before


def test_it_refuses_a_file_that_is_not_utf8(db, tmp_path):
    path = tmp_path / "2027.json"
    path.write_bytes(json.dumps(holidays_2027(), ensure_ascii=False).encode("gbk"))
    with pytest.raises(CommandError, match="not UTF-8"):
        run(path)
    assert not WorkYear.objects.exists()


def test_it_refuses_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run(tmp_path / "nope.json")


def test_it_needs_a_path_or_a_package_year(db, tmp_path):
    with pytest.raises(CommandError, match="either PATH or --from-package"):
        run()
    with pytest.raises(CommandError, match="either PATH or --from-package"):
        run(write(tmp_path, holidays_2027()), "--from-package", 2026)


def test_dry_run_prints_the_counts_and_writes_nothing(world, tmp_path):
    before = state()
    out = run(write(tmp_path, holidays_2027()), "--dry-run")
    assert "dry run, nothing written" in out and "放假 28 天，调休上班 4 天" in out
    assert state() == before


def test_dry_run_still_refuses_a_bad_file(db, tmp_path):
    with pytest.raises(CommandError, match="bad date"):
        run(write(tmp_path, holidays_2027({"name": "x", "date": "2027-02-30", "isOffDay": True})), "--dry-run")


def test_it_seeds_a_year_from_the_package(db):
    out = run("--from-package", 2026)
    row = WorkYear.objects.get(year=2026)
    assert not row.estimated and row.source.startswith("chinese-calendar")
    assert row.days.filter(date=datetime.date(2026, 10, 1), is_off=True, name="国庆节").exists()
    assert row.days.filter(is_off=False).exists()  # 调休上班日
    assert f"放假 {row.days.filter(is_off=True).count()} 天" in out


def test_it_refuses_a_year_the_package_does_not_know(db):
    with pytest.raises(CommandError, match="does not know 2099"):
        run("--from-package", 2099)
    assert not WorkYear.objects.exists()


@pytest.fixture
def estimated_2027(world):
    """A 2027 contract planned before the notice: every session is estimated."""
    Contract.objects.create(provider=world.tashan_chc, centre=world.sunny, status="signed",
                            signed_on=datetime.date(2026, 11, 1), valid_from=datetime.date(2027, 1, 1),
                            valid_to=datetime.date(2027, 12, 31))
    report = schedule_generate(year=2027, today=NOW.date())
    assert report.estimated and WorkYear.objects.get(year=2027).estimated
    assert not Session.objects.filter(date__year=2027, estimated=False).exists()
    return world


@time_machine.travel(NOW, tick=False)
def test_loading_the_official_year_replans_the_estimated_one(estimated_2027, tmp_path):
    target = Session.objects.filter(date__year=2027).order_by("date", "pk").first()
    on_that_day = set(Session.objects.filter(date=target.date).values_list("pk", flat=True))
    others = dict(Session.objects.exclude(pk__in=on_that_day).values_list("pk", "date"))
    out = run(write(tmp_path, holidays_2027({"name": "临时", "date": target.date.isoformat(), "isOffDay": True})))
    moved = Session.objects.get(pk=target.pk)
    assert moved.date != target.date and moved.sequence == 1 and moved.change_reason
    assert not Session.objects.filter(date=target.date).exists()
    assert dict(Session.objects.exclude(pk__in=on_that_day).values_list("pk", "date")) == others
    assert not Session.objects.filter(date__year=2027, estimated=True).exists()
    assert not WorkYear.objects.get(year=2027).estimated
    assert f"#{target.pk} {target.date} → {moved.date}" in out


# --------------------------------------------------------------------------- the page


def upload(client, data, name="2027.json", **extra):
    raw = data.encode() if isinstance(data, str) else json.dumps(data, ensure_ascii=False).encode()
    return client.post(reverse("scheduling:workdays"), {"file": SimpleUploadedFile(name, raw), **extra},
                       follow=True)


def test_the_page_lists_the_years_and_a_years_days(world, client):
    run("--from-package", 2026)
    workyear_load(holidays_2027())
    client.force_login(world.alice)
    page = client.get(reverse("scheduling:workdays"), {"year": 2027}).content.decode()
    assert "2026" in page and "2027" in page and PAPER in page and "官方" in page
    assert "2027-02-20" in page and "星期六" in page and "班" in page
    assert "2027-01-01" in page and "星期五" in page and "元旦" in page


def test_the_page_says_when_a_year_is_not_loaded(world, client):
    client.force_login(world.alice)
    assert "该年度尚未载入" in client.get(reverse("scheduling:workdays"), {"year": 2031}).content.decode()
    assert client.get(reverse("scheduling:workdays"), {"year": "x"}).status_code == 200


@time_machine.travel(NOW, tick=False)
def test_a_city_admin_uploads_a_file_and_sees_the_counts_and_the_replan(estimated_2027, client):
    target = Session.objects.filter(date__year=2027).order_by("date", "pk").first()
    client.force_login(estimated_2027.alice)
    response = upload(client, holidays_2027({"name": "临时", "date": target.date.isoformat(), "isOffDay": True}))
    assert response.redirect_chain == [(reverse("scheduling:workdays") + "?year=2027", 302)]
    page = response.content.decode()
    assert "已载入 2027 年节假日安排：放假 29 天，调休上班 4 天。" in page
    assert "重新排期：移动 1 场" in page
    assert f"场次 #{target.pk}：{target.date:%Y-%m-%d} → " in page
    assert not WorkYear.objects.get(year=2027).estimated
    assert Session.objects.get(pk=target.pk).sequence == 1


def test_an_upload_dry_run_writes_nothing(world, client):
    client.force_login(world.alice)
    page = upload(client, holidays_2027(), dry_run="on").content.decode()
    assert "检查通过，未写入：2027 年放假 28 天，调休上班 4 天。" in page
    assert not WorkYear.objects.exists()


@pytest.mark.parametrize(("data", "message"), [
    (holidays_2027({"name": "x", "date": "2027-02-30", "isOffDay": True}), f"days[{EXTRA}]"),
    (holidays_2027({"name": "x", "date": "2027-03-01", "isOffDay": "yes"}), "isOffDay"),
    ("{not json", "不是有效的 JSON"),
])
def test_a_bad_upload_shows_the_error_and_writes_nothing(world, client, data, message):
    workyear_load({"year": 2027, "papers": [], "days": [{"name": "旧", "date": "2027-03-03", "isOffDay": True}]})
    before = state()
    client.force_login(world.alice)
    response = upload(client, data)
    assert response.status_code == 200 and not response.redirect_chain
    page = response.content.decode()
    assert 'class="errorlist' in page and message in page and "未写入任何数据" in page
    assert state() == before


def test_an_upload_without_a_file_is_an_error(world, client):
    client.force_login(world.alice)
    response = client.post(reverse("scheduling:workdays"), {})
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()


@pytest.mark.parametrize("who", ["bob", "carol", "dan", "fay"])
def test_only_city_admins_see_the_page(world, client, who):
    client.force_login(getattr(world, who))
    assert client.get(reverse("scheduling:workdays")).status_code == 404
    assert upload(client, holidays_2027()).status_code == 404
    assert not WorkYear.objects.exists()


def test_anonymous_is_sent_to_the_login_page(db, client):
    response = client.get(reverse("scheduling:workdays"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --------------------------------------------------------------------------- the admin


def test_the_admin_lists_the_calendar_and_the_schedule(estimated_2027, client, django_user_model):
    workyear_load(holidays_2027())
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(admin)
    session = Session.objects.first()
    for name in ("workyear", "centreclosure", "doctorleave", "obligation", "session"):
        assert client.get(reverse(f"admin:scheduling_{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:scheduling_workyear_change", args=[WorkYear.objects.get(year=2027).pk])) \
        .status_code == 200
    assert client.get(reverse("admin:scheduling_session_change", args=[session.pk])).status_code == 200
    assert client.get(reverse("admin:scheduling_obligation_changelist"), {"q": estimated_2027.sunny.code}) \
        .status_code == 200
