"""The clerk's spreadsheet (issue 20): what is unambiguous is read, with a note; what is not is
refused with how to fix it. Every variant is a workbook (or CSV) built here from one valid
centres sheet with one change."""

import csv
import datetime
import io
import re
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from mch_link.importer import read_folder, read_workbook, registry_import
from mch_link.importer.spec import GRADE_SYNONYMS
from mch_link.models import Centre, Contract
from mch_link.validators import uscc_check_char
from tests import factories as f

pytestmark = pytest.mark.django_db

HEADER = ["统一社会信用代码", "名称", "所在区划编码", "等级", "举办性质", "托位数", "联系电话", "备案日期", "注销日期"]


def good_row(code=None, **changes):
    row = {"统一社会信用代码": code or f.uscc(), "名称": "新苗托育园", "所在区划编码": "330602001", "等级": "二级",
           "举办性质": "民办", "托位数": 30, "联系电话": "0575-88001234", "备案日期": "2025-03-01", "注销日期": None}
    row.update(changes)
    return row


def workbook(rows, header=HEADER, above=(), sheet="托育机构", extra_sheets=()):
    """An .xlsx (bytes) with a centres sheet: `above` rows, the header, then `rows` (dicts by
    header, or lists)."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for line in above:
        ws.append(line)
    ws.append(header)
    for row in rows:
        ws.append([row.get(h) for h in HEADER] if isinstance(row, dict) else row)
    for title in extra_sheets:
        book.create_sheet(title).append(["说明文字"])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out


def imported(data, **kwargs):
    return registry_import(sources=read_workbook(data, name="名单.xlsx"), **kwargs)


def messages(issues):
    return [str(i) for i in issues]


def accepted(data):
    result = imported(data)
    assert result.errors == [], messages(result.errors)
    return result


def numeric_code():
    """A valid all-digit credit code of a public institution (12...), as Excel loses them."""
    for n in range(1000):
        body = f"12330602{n:09d}"
        if uscc_check_char(body).isdigit():
            return body + uscc_check_char(body)
    raise AssertionError


# --------------------------------------------------------------------------- the header


@pytest.mark.parametrize("above", [
    [["绍兴市越城区托育机构名单（2026年11月）"]],
    [["绍兴市越城区托育机构名单（2026年11月）"], [], ["制表单位：越城区卫健局"]],
])
def test_a_title_above_the_header_is_skipped_and_the_note_says_which_row_is_the_header(world, above):
    code = f.uscc()
    result = accepted(workbook([good_row(code)], above=above))

    header_row = len(above) + 1  # as Excel numbers it, blank rows counted
    assert Centre.objects.get(code=code).name == "新苗托育园"
    assert f"托育机构 第{header_row}行：第{header_row}行为表头，其上方的标题行已跳过" in messages(result.notes)


def test_a_title_merged_across_the_header_is_skipped(world):
    data = workbook([good_row()], above=[["绍兴市越城区托育机构名单（2026年11月）"]])
    book = openpyxl.load_workbook(data)
    book.active.merge_cells("A1:I1")
    out = io.BytesIO()
    book.save(out)

    result = accepted(out)

    assert result.counts["centres"]["created"] == 1


def test_a_title_without_a_header_below_says_it_looks_like_a_title(world):
    result = imported(workbook([], header=["绍兴市越城区托育机构名单"]))

    assert any("像是标题" in m for m in messages(result.errors))


@pytest.mark.parametrize("written, column", [
    ("托位数（个）", "托位数"), ("联系电话(座机/手机)", "联系电话"), ("备案\n日期", "备案日期"), ("托 位 数", "托位数"),
])
def test_header_variants_are_read_with_a_note(world, written, column):
    header = [written if h == column else h for h in HEADER]
    code = f.uscc()
    row = good_row(code)
    result = accepted(workbook([[row[h] for h in HEADER]], header=header))

    centre = Centre.objects.get(code=code)
    assert (centre.places, centre.phone.as_e164, centre.filed_on) == (30, "+8657588001234", datetime.date(2025, 3, 1))
    assert any(f"列名“{' '.join(written.split())}”按“{column}”识别" in m for m in messages(result.notes))


# --------------------------------------------------------------------------- normalised cells


@pytest.mark.parametrize("cell, how", [
    (45352, "Excel 日期序列号"), ("45352", "Excel 日期序列号"), (20240301, "YYYYMMDD"), ("20240301", "YYYYMMDD"),
])
def test_date_serials_and_yyyymmdd_are_read_as_dates_with_a_note(world, cell, how):
    code = f.uscc()
    result = accepted(workbook([good_row(code, 备案日期=cell)]))

    assert Centre.objects.get(code=code).filed_on == datetime.date(2024, 3, 1)
    assert f"托育机构 第2行 备案日期：“{cell}”按{how}读作日期 2024-03-01" in messages(result.notes)


def test_a_number_that_is_no_date_is_refused_with_the_accepted_forms(world):
    result = imported(workbook([good_row(备案日期=123)]))

    assert messages(result.errors) == ["托育机构 第2行 备案日期：日期无法识别：“123”（可写作 2024-01-31、2024/1/31、"
                                       "2024.1.31、2024年1月31日或 20240131）"]


def test_full_width_letters_and_digits_in_a_credit_code_are_read_with_a_note_saying_full_width(world):
    code = f.uscc()
    wide = code.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"})
    result = accepted(workbook([good_row(wide, 托位数="３０")]))

    assert Centre.objects.get(code=code).places == 30
    assert any("全角字符已按半角读取" in m and "统一社会信用代码" in m for m in messages(result.notes))


@pytest.mark.parametrize("written, grade", [
    ("二级托育机构", "二级"), ("2级", "二级"), ("市级示范性托育机构", "市级示范"), ("三级（合格）", "三级"),
    ("２级", "二级"),
])
def test_grade_spellings_are_read_through_the_synonyms(world, written, grade):
    code = f.uscc()
    result = accepted(workbook([good_row(code, 等级=written)]))

    assert Centre.objects.get(code=code).grade_on(datetime.date(2025, 3, 1)).name == grade
    assert any(f"等级“{written}”按“{grade}”读取" in m or "全角" in m for m in messages(result.notes))


def test_an_unknown_grade_is_still_refused_with_the_choices(world):
    result = imported(workbook([good_row(等级="五级")]))

    assert "无法识别的等级“五级”，可选：" in messages(result.errors)[0]


def test_every_grade_synonym_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    assert set(GRADE_SYNONYMS) <= set(re.findall(r"`([^`\n]+)`", doc))


@pytest.mark.parametrize("written", ["塔山街道", "越城区塔山街道", "330602001000"])
def test_a_township_by_name_name_with_county_or_statistical_code_is_read_with_a_note(world, written):
    code = f.uscc()
    result = accepted(workbook([good_row(code, 所在区划编码=written)]))

    assert Centre.objects.get(code=code).township == world.tashan
    assert any(written in m and "330602001" in m for m in messages(result.notes))


def test_a_township_name_matching_several_lists_the_candidates_with_their_codes(world):
    f.region("330603009", "塔山街道", parent=world.kq)

    result = imported(workbook([good_row(所在区划编码="塔山街道")]))

    (message,) = messages(result.errors)
    assert "名称“塔山街道”对应多个区划" in message
    assert "越城区塔山街道（330602001）" in message and "柯桥区塔山街道（330603009）" in message


def test_an_unknown_township_name_suggests_similar_ones(world):
    result = imported(workbook([good_row(所在区划编码="塔山")]))

    (message,) = messages(result.errors)
    assert "区划“塔山”不存在" in message and "相近的有：塔山街道（330602001）" in message


# --------------------------------------------------------------------------- refused with the fix


def test_a_credit_code_stored_as_a_number_says_the_cell_must_be_text(world):
    code = numeric_code()

    result = imported(workbook([good_row(float(code))]))

    assert messages(result.errors) == [
        "托育机构 第2行 统一社会信用代码：该单元格被 Excel 存为数字，末尾数字已丢失：请把此列设为文本后重新输入"]
    assert not Centre.objects.filter(code=code).exists()


def test_a_credit_code_that_excel_wrote_as_scientific_notation_in_a_csv_says_the_same(world, tmp_path):
    row = good_row("1.23306E+17")
    with open(tmp_path / "centres.csv", "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, [row[h] for h in HEADER]])

    result = registry_import(sources=read_folder(tmp_path))

    assert "该单元格被 Excel 存为数字，末尾数字已丢失" in messages(result.errors)[0]


def test_skipped_sheets_are_noted_with_the_names_a_table_may_have(world):
    data = workbook([good_row()], extra_sheets=["说明", "托育机构名单"])

    result = accepted(data)

    notes = messages(result.notes)
    skipped = "说明：无法根据工作表名判断是哪张表，已跳过"
    assert any(n.startswith(skipped) and "托育机构：centres、centers、托育机构" in n for n in notes)
    assert any(n.startswith("托育机构名单：") and "看起来是托育机构（centres）" in n for n in notes)


def test_a_skipped_file_in_a_folder_is_noted(world, tmp_path):
    row = good_row()
    for name in ("centres.csv", "托育机构名单.csv"):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([HEADER, [row[h] for h in HEADER]])

    result = registry_import(sources=read_folder(tmp_path))

    assert result.errors == []
    assert any(n.startswith("托育机构名单.csv：无法根据文件名判断是哪张表，已跳过") and "托育机构.csv" in n
               for n in messages(result.notes))


def test_an_xls_upload_is_told_to_save_as_xlsx(world, client):
    client.force_login(world.alice)
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600

    as_xls = client.post(reverse("mch_link:import_registry"), {"files": SimpleUploadedFile("名单.xls", ole2)})
    renamed = client.post(reverse("mch_link:import_registry"), {"files": SimpleUploadedFile("centres.csv", ole2)})

    assert "请在 Excel 中另存为 .xlsx" in as_xls.content.decode()
    assert "请在 Excel 中另存为 .xlsx" in renamed.content.decode()


# --------------------------------------------------------------------------- grouped errors


def test_the_same_error_on_5000_rows_is_one_line_with_its_count_and_first_rows(world, tmp_path):
    rows = [[f.uscc(), f"托育园{n}", "330602001", "", "民办", "30", "", "2024-13-01", ""] for n in range(5000)]
    with open(tmp_path / "centres.csv", "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *rows])
    err = io.StringIO()

    with pytest.raises(CommandError, match="发现 5000 个错误"):
        call_command("import_registry", str(tmp_path), stdout=io.StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        "centres.csv 第2、3、4、5、6行等，共5000行 备案日期：日期无法识别：“2024-13-01”（可写作 2024-01-31、2024/1/31、"
        "2024.1.31、2024年1月31日或 20240131）（同类问题共5000处）"]
    assert not Centre.objects.filter(name="托育园0").exists()


def test_the_page_shows_one_line_per_kind_of_error(world, client):
    rows = [good_row(备案日期="不详") for _n in range(30)] + [good_row(等级="五级")]
    client.force_login(world.alice)

    response = client.post(reverse("mch_link:import_registry"),
                           {"files": SimpleUploadedFile("名单.xlsx", workbook(rows).getvalue())})

    html = response.content.decode()
    assert "发现 31 个错误" in html
    assert html.count("<tr><td>托育机构</td>") == 2
    assert "第2、3、4、5、6行等，共30行" in html


# --------------------------------------------------------------------------- the template


def test_the_template_round_trip_download_fill_import(world, client):
    client.force_login(world.alice)

    response = client.get(reverse("mch_link:import_template"))

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["托育机构"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["统一社会信用代码", "名称", "所在街道/镇/乡"]
    assert sheet["A2"].number_format == "@"
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    options = book["选项"]
    assert options.sheet_state == "hidden"
    township_values = [c.value for c in options["C"][1:]]
    assert "越城区塔山街道" in township_values and "柯桥区柯桥街道" in township_values
    assert {"D2:D1001", "E2:E1001", "C2:C1001"} <= set(lists)
    assert [c.value for c in options["A"][1:]] == ["未评级", "三级", "二级", "一级", "市级示范"]

    code = f.uscc()
    values = {"统一社会信用代码": code, "名称": "模板托育园", "所在街道/镇/乡": "越城区塔山街道", "等级": "一级",
              "举办性质": options["B2"].value, "托位数": 40, "联系电话": "13800138000",
              "备案日期": datetime.date(2025, 5, 6)}
    for position, name in enumerate(header, start=1):
        sheet.cell(row=2, column=position, value=values.get(name))
    out = io.BytesIO()
    book.save(out)
    posted = client.post(reverse("mch_link:import_registry"),
                         {"files": SimpleUploadedFile("模板.xlsx", out.getvalue())})

    assert "导入完成" in posted.content.decode()
    centre = Centre.objects.get(code=code)
    assert (centre.name, centre.township, centre.filed_on) == ("模板托育园", world.tashan, datetime.date(2025, 5, 6))
    assert centre.grade_on(datetime.date(2025, 5, 6)).name == "一级"


def test_the_page_links_the_template(world, client):
    client.force_login(world.alice)

    html = client.get(reverse("mch_link:import_registry")).content.decode()

    assert reverse("mch_link:import_template") in html


# --------------------------------------------------------------------------- what already worked


@pytest.mark.parametrize("change", [
    {"统一社会信用代码": "CODE\u00a0 "}, {"统一社会信用代码": "code"}, {"联系电话": 57588001234},
    {"联系电话": "0575-88001234转801"}, {"备案日期": "2025年3月1日"}, {"备案日期": datetime.datetime(2025, 3, 1)},
])
def test_what_already_worked_still_does(world, change):
    code = f.uscc()
    cell = change.get("统一社会信用代码", "").replace("CODE", code).replace("code", code.lower()) or code
    result = accepted(workbook([good_row(**{**change, "统一社会信用代码": cell})]))

    centre = Centre.objects.get(code=code)
    assert (centre.filed_on, centre.phone.as_e164) == (datetime.date(2025, 3, 1), "+8657588001234")
    assert result.counts["centres"]["created"] == 1


def test_a_serial_column_a_hidden_column_and_formatted_empty_rows_are_fine(world):
    code = f.uscc()
    data = workbook([["1", *[good_row(code)[h] for h in HEADER], "备注"]], header=["序号", *HEADER, "隐藏列"])
    book = openpyxl.load_workbook(data)
    book.active.column_dimensions["K"].hidden = True
    for row in range(3, 502):
        book.active.cell(row=row, column=2).number_format = "@"
    out = io.BytesIO()
    book.save(out)

    result = accepted(out)

    assert Centre.objects.get(code=code).name == "新苗托育园"
    assert result.counts["centres"] == {"created": 1, "updated": 0, "unchanged": 0}


def test_a_contracts_sheet_names_a_centre_by_a_full_width_lower_case_code(world):
    code = world.sunny.code.lower().translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789abcdefghjklmnpqrtuwxy"})
    book = openpyxl.Workbook()
    book.active.title = "签约协议"
    book.active.append(["机构编码", "托育机构代码", "签约日期", "生效日期", "到期日期"])
    book.active.append(["P-TS", code, "2026-01-05", "2026-01-01", "2026-12-31"])
    out = io.BytesIO()
    book.save(out)

    accepted(out)

    assert Contract.objects.filter(centre=world.sunny, provider=world.tashan_chc, valid_from="2026-01-01").exists()
