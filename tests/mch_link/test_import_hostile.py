"""Hostile and careless input to the import (issue 14): validation that matches reality (phone
numbers, filing dates, every error of a row), control characters, resource limits (a zip bomb,
too many rows) and a province-sized file through the background job."""

import csv
import datetime
import io
import time
import zipfile

import openpyxl
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mch_link.importer import read_folder, registry_import
from mch_link.models import Centre, ImportJob, Region
from mch_link.validators import parse_cn_phone, uscc_check_char
from tests import factories as f

pytestmark = pytest.mark.django_db

HEADER = ["code", "name", "region_code", "grade", "ownership", "places", "phone", "filed_on", "closed_on", "address"]
CONTROL = "含有不可见的控制字符（如 NUL、垂直制表符），请删除后重新输入"
NOW = datetime.datetime(2026, 11, 29, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


def row(code=None, **changes):
    values = {"code": f.uscc() if code is None else code, "name": "新苗托育园", "region_code": "330602001", "grade": "",
              "ownership": "民办", "places": "30", "phone": "0575-88001234", "filed_on": "2025-03-01",
              "closed_on": "", "address": "塔山路1号"}
    values.update(changes)
    return [values[h] for h in HEADER]


def csv_bytes(rows):
    text = io.StringIO()
    csv.writer(text).writerows([HEADER, *rows])
    return text.getvalue().encode("utf-8")


def import_rows(tmp_path, rows):
    (tmp_path / "centres.csv").write_bytes(csv_bytes(rows))
    return registry_import(sources=read_folder(tmp_path))


def errors(result):
    return [str(e) for e in result.errors]


# --------------------------------------------------------------------------- phone numbers


@pytest.mark.parametrize("text", ["0575-1234", "0575-05123456", "0575-12345678", "05751234567", "12012345678",
                                  "11912345678"])
def test_numbers_that_are_no_shaoxing_landline_or_mobile_are_refused(text):
    with pytest.raises(ValidationError):
        parse_cn_phone(text)


@pytest.mark.parametrize("text, e164", [
    ("0575-88001234", "+8657588001234"), ("0575-28001234", "+8657528001234"), ("88001234", "+8657588001234"),
    ("13800138000", "+8613800138000"), ("19912345678", "+8619912345678"), ("010-12345678", "+861012345678"),
])
def test_real_numbers_are_accepted(text, e164):
    number, _ext = parse_cn_phone(text)
    assert number.as_e164 == e164


def test_the_import_refuses_a_shaoxing_number_too_short(world, tmp_path):
    result = import_rows(tmp_path, [row(phone="0575-1234")])

    assert errors(result) == [
        "centres.csv 第2行 phone：“0575-1234”不是有效的绍兴电话号码（0575 加以 2–9 开头的8位号码）"]


def test_the_model_holds_the_phone_rule_for_forms_and_the_admin(world):
    centre = world.sunny
    centre.phone = "+8657512345678"

    with pytest.raises(ValidationError) as caught:
        centre.full_clean()

    assert "phone" in caught.value.message_dict


# --------------------------------------------------------------------------- filing dates


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("day, ok", [
    ("0001-01-01", False), ("1999-12-31", False), ("2000-01-01", True), ("2027-11-29", True),
    ("2027-11-30", False), ("9999-12-31", False),
])
def test_filing_dates_are_plausible_from_2000_to_a_year_after_today(world, tmp_path, day, ok):
    code = f.uscc()

    result = import_rows(tmp_path, [row(code, filed_on=day)])

    assert result.ok is ok, errors(result)
    if not ok:
        (message,) = errors(result)
        assert message.startswith("centres.csv 第2行 filed_on：日期") and ("过早" in message or "过晚" in message)
    assert Centre.objects.filter(code=code).exists() is ok


@time_machine.travel(NOW, tick=False)
def test_a_closing_date_far_in_the_future_is_refused(world, tmp_path):
    result = import_rows(tmp_path, [row(closed_on="9999-12-31")])

    assert errors(result) == ["centres.csv 第2行 closed_on：日期9999-12-31过晚：不能晚于一年后（2027-11-29）"]


# --------------------------------------------------------------------------- every error of a row


def test_a_row_with_a_bad_credit_code_reports_its_other_errors_too(world, tmp_path):
    good = f.uscc()
    bad = good[:17] + next(c for c in "0123456789" if c != uscc_check_char(good[:17]))

    result = import_rows(tmp_path, [row(bad, filed_on="2024-02-30", phone="0575-1234", places="-1")])

    columns = [e.column for e in result.errors]
    assert columns == ["code", "places", "phone", "filed_on"], errors(result)


@pytest.mark.parametrize("code", ["", "DUP"])
def test_a_row_without_a_code_or_with_a_repeated_one_reports_its_other_errors_too(world, tmp_path, code):
    first = f.uscc()
    rows = [row(first), row(first if code == "DUP" else "", grade="五级", filed_on="昨天")]

    result = import_rows(tmp_path, rows)

    assert [(e.row, e.column) for e in result.errors] == [(3, "code"), (3, "grade"), (3, "filed_on")], errors(result)
    assert not Centre.objects.filter(code=first).exists()


# --------------------------------------------------------------------------- control characters


@pytest.mark.parametrize("column, value", [("name", "新苗\x00托育园"), ("address", "塔山路\x0b1号"),
                                           ("code", "\x01"), ("phone", "0575-88001234\x1f")])
def test_control_characters_in_a_cell_are_refused_and_nothing_is_written(world, tmp_path, column, value):
    code = f.uscc()
    values = {"code": code, column: value} if column != "code" else {"code": code + value}
    before = Centre.objects.count()

    result = import_rows(tmp_path, [row(**values)])

    assert f"centres.csv 第2行 {column}：{CONTROL}" in errors(result)
    assert Centre.objects.count() == before


def test_a_control_character_in_a_header_cell_is_refused(world, tmp_path):
    (tmp_path / "centres.csv").write_bytes(csv_bytes([row()]).replace(b"name", b"na\x0bme", 1))

    result = registry_import(sources=read_folder(tmp_path))

    assert errors(result) == [f"centres.csv 第1行 name：{CONTROL}"]


def test_a_nul_in_an_uploaded_csv_gives_the_error_on_the_page(world, client):
    client.force_login(world.alice)

    response = client.post(reverse("mch_link:import_registry"),
                           {"files": SimpleUploadedFile("centres.csv", csv_bytes([row(code="\x00" + f.uscc())]))})

    assert response.status_code == 200
    assert "含有不可见的控制字符" in response.content.decode()


# --------------------------------------------------------------------------- resource limits


def zip_bomb(uncompressed):
    """A small .xlsx-shaped zip whose one sheet inflates to `uncompressed` bytes of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            chunk = b"\0" * (1 << 20)
            for _n in range(uncompressed >> 20):
                sheet.write(chunk)
    return out.getvalue()


def test_a_zip_bomb_is_refused_in_well_under_a_second(world, client):
    bomb = zip_bomb(64 * 1024 * 1024)
    assert len(bomb) < 300 * 1024
    client.force_login(world.alice)

    start = time.perf_counter()
    response = client.post(reverse("mch_link:import_registry"), {"files": SimpleUploadedFile("名单.xlsx", bomb)})
    seconds = time.perf_counter() - start

    assert "工作簿解压后为 64.0\xa0MB，超过上限 50.0\xa0MB" in response.content.decode()
    assert seconds < 0.5


def test_a_table_over_the_row_limit_is_refused_without_reading_on(world, tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 10
    (tmp_path / "centres.csv").write_bytes(csv_bytes([row() for _n in range(11)]))

    with pytest.raises(Exception, match="超过 10 行的上限，请分成几个文件导入"):
        read_folder(tmp_path)


# --------------------------------------------------------------------------- the background job


def province_workbook(centres):
    """10,000 centres over 100 townships of 越城区, as one workbook with its regions."""
    book = openpyxl.Workbook(write_only=True)
    regions = book.create_sheet("regions")
    regions.append(["code", "name", "level", "parent_code"])
    townships = [f"330602{n:03d}" for n in range(101, 201)]
    for code in townships:
        regions.append([code, f"第{code[-3:]}街道", "township", "330602"])
    sheet = book.create_sheet("centres")
    sheet.append(HEADER)
    for n in range(centres):
        sheet.append([f.uscc(), f"托育园{n}", townships[n % 100], "", "民办", 30, f"0575-8{n:07d}",
                      datetime.date(2024, 1, 1), None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_10000_centre_file_is_imported_by_the_background_job_with_its_progress(
        world, client, django_capture_on_commit_callbacks):
    data = province_workbook(10_000)
    client.force_login(world.alice)
    before = Centre.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mch_link:import_registry"),
                               {"files": SimpleUploadedFile("全省托育机构.xlsx", data)})

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("mch_link:import_job", args=[job.pk])
    assert (job.stage, job.done, job.total, job.percent) == ("done", 10_100, 10_100, 100)
    assert Centre.objects.count() == before + 10_000
    assert Region.objects.filter(code__startswith="330602", level="township").count() == 102
    page = client.get(response["Location"]).content.decode()
    assert "导入完成" in page
    assert '托育机构 <small class="muted">centres</small></td><td class="num">10000</td>' in page
    assert 'http-equiv="refresh"' not in page
    assert not default_storage.exists(f"{job.folder}/0.xlsx")  # the upload is deleted once imported


def test_a_running_job_shows_its_progress_and_reloads_itself(world, client):
    job = ImportJob.objects.create(user=world.alice, folder="imports/x", names=["名单.xlsx"],
                                   stage=ImportJob.Stage.CHECKING, done=2500, total=10_000)
    client.force_login(world.alice)

    html = client.get(reverse("mch_link:import_job", args=[job.pk])).content.decode()

    assert '<meta http-equiv="refresh" content="3">' in html
    assert "检查中" in html and "已检查 2500 / 10000 行（25%）" in html


def test_another_admins_job_is_404(world, client, django_user_model):
    job = ImportJob.objects.create(user=world.alice, folder="imports/x", names=["名单.xlsx"])
    other = f.user("amy", "city_admin", world.city)
    client.force_login(other)

    assert client.get(reverse("mch_link:import_job", args=[job.pk])).status_code == 404
