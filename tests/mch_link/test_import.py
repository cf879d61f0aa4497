"""The registry import: `manage.py import_registry` and the /import/ page.

Every refused import below also carries a good row (塔山街道 renamed), and checks that
the row counts and that name are as before: all or nothing.
"""

import csv
import datetime
import io
import re
from pathlib import Path

import openpyxl
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from mch_link.importer import COLUMNS, TABLE_NAMES, read_folder, registry_import
from mch_link.models import AuditEvent, Centre, CentreGrade, Contract, Provider, Region
from tests import factories as f

pytestmark = pytest.mark.django_db

REGIONS = ["code", "name", "level", "parent_code"]
PROVIDERS = ["code", "name", "kind", "region_code", "phone", "doctors"]
CENTRES = ["code", "name", "region_code", "grade", "ownership", "places", "phone", "filed_on", "closed_on"]
CONTRACTS = ["provider_code", "centre_code", "signed_on", "valid_from", "valid_to"]
RENAME_TASHAN = ["330602001", "塔山街道（新）", "township", "330602"]
TODAY = datetime.datetime(2026, 11, 29, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


def provider_row(code="P-NEW", name="富盛镇第二卫生院", kind="township_health_centre", region="330602017",
                 phone="88001234", doctors="2"):
    return [code, name, kind, region, phone, doctors]


def centre_row(code=None, name="新苗托育园", region="330602001", grade="", ownership="民办", places="30",
               phone="0575-88001234", filed_on="2025-03-01", closed_on=""):
    return [code or f.uscc(), name, region, grade, ownership, places, phone, filed_on, closed_on]


def write_csv(folder, name, rows, encoding="utf-8"):
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    (folder / name).write_bytes(text.getvalue().encode(encoding))


def write_tables(folder, **tables):
    for table, rows in tables.items():
        write_csv(folder, f"{table}.csv", rows)
    return folder


def run(path, *args):
    out = io.StringIO()
    call_command("import_registry", str(path), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def state():
    """What a refused import must leave as it was."""
    counts = {m.__name__: m.objects.count() for m in (Region, Provider, Centre, CentreGrade, Contract)}
    return {**counts, "tashan": Region.objects.get(code="330602001").name}


def refused(folder, **tables):
    """Import `tables` plus a good row renaming 塔山街道; expect a refusal that changes nothing.
    Returns what the command printed to stderr."""
    tables["regions"] = [*(tables.get("regions") or [REGIONS]), RENAME_TASHAN]
    write_tables(folder, **tables)
    before = state()
    err = io.StringIO()
    with pytest.raises(CommandError, match="未写入任何数据"):
        call_command("import_registry", str(folder), stdout=io.StringIO(), stderr=err)
    assert state() == before
    assert state()["tashan"] == "塔山街道"
    return err.getvalue()


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "registry"
    path.mkdir()
    return path


@pytest.fixture
def city(db):
    """Only Shaoxing and two of its regions, for imports that build the rest."""
    city = f.region("330600", "绍兴市")
    return city


# --------------------------------------------------------------------------- importing


def full_registry(folder, sunny_code, rice_code):
    return write_tables(
        folder,
        regions=[
            REGIONS,
            # A township before its county: the order of rows does not matter.
            ["330602001", "塔山街道", "township", "330602"],
            ["330602", "越城区", "county", "330600"],
            ["330602017", "富盛镇", "township", "330602"],
        ],
        providers=[
            [*PROVIDERS, "address"],
            ["P-YC", "越城区妇幼保健院", "county_mch", "330602", "0575-85123456转801", "3", "越城区人民西路"],
            ["P-TS", "塔山街道社区卫生服务中心", "社区卫生服务中心", "330602001", "88001234", "2", ""],
        ],
        centres=[
            [*CENTRES, "address", "grade_awarded_on"],
            [sunny_code, "阳光托育园", "330602001", "二级", "民办", "60", "13800138000", "2024-01-01", "",
             "塔山路1号", "2025-06-01"],
            [rice_code, "稻香托育", "330602017", "", "公办", "20", "", "2024/3/15", "", "", ""],
        ],
        contracts=[
            CONTRACTS,
            ["P-TS", sunny_code, "2026-01-05", "2026-01-01", "2026-12-31"],
            ["P-YC", sunny_code, "", "2026-01-01", "2026-12-31"],
        ],
    )


def test_a_folder_of_csv_files_builds_the_registry_in_dependency_order(city, folder):
    sunny, rice = f.uscc(), f.uscc()
    out = run(full_registry(folder, sunny, rice))

    assert "regions（行政区划）：新增 3，更新 0，未变 0" in out
    assert "providers（医疗卫生机构）：新增 2，更新 0，未变 0" in out
    assert "centres（托育机构）：新增 2，更新 0，未变 0" in out
    assert "contracts（签约协议）：新增 2，更新 0，未变 0" in out
    tashan = Region.objects.get(code="330602001")
    assert tashan.parent.name == "越城区" and tashan.parent.parent == city
    yc_mch = Provider.objects.get(code="P-YC")
    assert (yc_mch.kind, yc_mch.region.code, yc_mch.doctors) == ("county_mch", "330602", 3)
    assert (yc_mch.phone.as_e164, yc_mch.phone_ext) == ("+8657585123456", "801")
    assert yc_mch.address == "越城区人民西路"
    # An 8-digit local number takes the default area code, 0575.
    assert Provider.objects.get(code="P-TS").phone.as_e164 == "+8657588001234"
    centre = Centre.objects.get(code=sunny)
    assert (centre.township, centre.ownership.name, centre.places) == (tashan, "民办", 60)
    assert centre.grade_on(datetime.date(2025, 6, 1)).name == "二级"
    assert centre.grade_on(datetime.date(2025, 5, 31)) is None
    assert Centre.objects.get(code=rice).filed_on == datetime.date(2024, 3, 15)
    signed, draft = Contract.objects.get(provider__code="P-TS"), Contract.objects.get(provider__code="P-YC")
    assert (signed.status, signed.signed_on) == ("signed", datetime.date(2026, 1, 5))
    assert (draft.status, draft.signed_on) == ("draft", None)


def test_importing_the_same_files_again_creates_and_updates_nothing(city, folder):
    full_registry(folder, f.uscc(), f.uscc())
    run(folder)

    out = run(folder)

    assert "regions（行政区划）：新增 0，更新 0，未变 3" in out
    assert "providers（医疗卫生机构）：新增 0，更新 0，未变 2" in out
    assert "centres（托育机构）：新增 0，更新 0，未变 2" in out
    assert "contracts（签约协议）：新增 0，更新 0，未变 2" in out
    assert CentreGrade.objects.count() == 1


def test_a_changed_row_counts_as_updated_and_its_neighbours_as_unchanged(world, folder):
    tashan = provider_row("P-TS", "塔山街道社区卫生服务中心", "community_health_centre", "330602001",
                          phone="88009999", doctors="5")
    write_tables(folder, providers=[PROVIDERS, tashan, provider_row("P-FS", "富盛镇卫生院", phone="")])

    out = run(folder)

    assert "providers（医疗卫生机构）：新增 0，更新 1，未变 1" in out
    world.tashan_chc.refresh_from_db()
    assert (world.tashan_chc.doctors, world.tashan_chc.phone.as_e164) == (5, "+8657588009999")


def test_a_dry_run_prints_what_it_would_do_and_writes_nothing(world, folder):
    write_tables(folder, regions=[REGIONS, RENAME_TASHAN], centres=[CENTRES, centre_row()])
    before = state()

    out = run(folder, "--dry-run")

    assert "试运行" in out
    assert "regions（行政区划）：新增 0，更新 1，未变 0" in out
    assert "centres（托育机构）：新增 1，更新 0，未变 0" in out
    assert state() == before


def test_a_gbk_encoded_csv_from_excel_on_chinese_windows_imports(world, folder):
    write_csv(folder, "centres.csv", [CENTRES, centre_row(name="小太阳托育")], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        (folder / "centres.csv").read_bytes().decode("utf-8")

    run(folder)

    assert Centre.objects.filter(name="小太阳托育", ownership__name="民办").exists()


def test_a_utf8_csv_with_a_byte_order_mark_imports(world, folder):
    write_csv(folder, "centres.csv", [CENTRES, centre_row(name="彩虹托育")], encoding="utf-8-sig")
    assert (folder / "centres.csv").read_bytes().startswith(b"\xef\xbb\xbf")

    run(folder)

    assert Centre.objects.filter(name="彩虹托育").exists()


def test_chinese_headers_and_chinese_dates_are_understood(world, folder):
    code = f.uscc()
    headers = ["统一社会信用代码", "名称", "所在区划编码", "等级", " 举办性质 ", "托位数", "联系电话",
               "备案日期", "注销日期", "地址", "评定日期"]
    write_csv(folder, "centres.csv", [
        headers,
        [code.lower(), "童心托育", "330602017", "三级", "公办", "25", "13900139000", "2025年3月1日",
         "2026.6.30", "富盛镇1号", "2025/4/1"],
    ])

    run(folder)

    centre = Centre.objects.get(code=code)  # stored in capitals
    assert (centre.filed_on, centre.closed_on) == (datetime.date(2025, 3, 1), datetime.date(2026, 6, 30))
    assert centre.address == "富盛镇1号"
    assert centre.grades.get().awarded_on == datetime.date(2025, 4, 1)


def test_an_xlsx_workbook_with_date_cells_and_number_cells_imports(city, tmp_path):
    sunny = f.uscc()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "regions"
    for row in (REGIONS, [330602, "越城区", "county", 330600], [330602001, "塔山街道", "township", 330602]):
        sheet.append(row)
    sheet = workbook.create_sheet("托育机构")
    sheet.append(CENTRES)
    sheet.append([sunny, "阳光托育园", 330602001, "一级", "民办", 60, 13800138000,
                  datetime.date(2024, 1, 2), None])
    workbook.create_sheet("说明").append(["这张表不导入"])
    path = tmp_path / "registry.xlsx"
    workbook.save(path)

    out = run(path)

    assert "regions（行政区划）：新增 2" in out and "centres（托育机构）：新增 1" in out
    centre = Centre.objects.get(code=sunny)
    assert (centre.township.code, centre.places, centre.phone.as_e164) == ("330602001", 60, "+8613800138000")
    assert centre.filed_on == datetime.date(2024, 1, 2)
    assert centre.grades.get().awarded_on == datetime.date(2024, 1, 2)  # a new centre's grade: filed_on


def test_a_region_successor_is_set_after_both_regions_exist(city, folder):
    write_tables(folder, regions=[
        [*REGIONS, "valid_to", "successor_code"],
        ["330604", "上虞区", "county", "330600", "", ""],
        ["330602", "越城区", "county", "330600", "", ""],
        ["330602010", "沥海街道", "township", "330602", "2021-06-30", "330604010"],
        ["330604010", "沥海街道", "township", "330604", "", ""],
    ])

    run(folder)

    old = Region.objects.get(code="330602010")
    assert (old.valid_to, old.successor.code) == (datetime.date(2021, 6, 30), "330604010")


# --------------------------------------------------------------------------- grades


@time_machine.travel(TODAY, tick=False)
def test_a_new_grade_closes_the_current_one_the_day_before_it_is_awarded(world, folder):
    row = centre_row(world.little.code, "小星星托育", grade="一级", filed_on="2024-01-01")
    write_tables(folder, centres=[[*CENTRES, "grade_awarded_on"], [*row, "2026-09-01"]])

    out = run(folder)

    assert "centres（托育机构）：新增 0，更新 1" in out
    old, new = world.little.grades.order_by("awarded_on")
    assert (old.grade.name, old.valid_until) == ("二级", datetime.date(2026, 8, 31))
    assert (new.grade.name, new.awarded_on, new.valid_until) == ("一级", datetime.date(2026, 9, 1), None)


@time_machine.travel(TODAY, tick=False)
def test_a_new_grade_without_an_award_date_is_awarded_today(world, folder):
    write_tables(folder, centres=[CENTRES, centre_row(world.rice.code, "稻香托育", "330602017", grade="三级",
                                                      filed_on="2024-01-01", phone="", ownership="")])

    run(folder)

    assert world.rice.grades.get().awarded_on == datetime.date(2026, 11, 29)


def test_the_same_grade_again_changes_nothing(world, folder):
    row = centre_row(world.little.code, "小星星托育", grade="二级", places="0", filed_on="2024-01-01",
                     phone="", ownership="")
    write_tables(folder, centres=[CENTRES, row])

    out = run(folder)

    assert "centres（托育机构）：新增 0，更新 0，未变 1" in out
    assert world.little.grades.get().valid_until is None


@time_machine.travel(TODAY, tick=False)
def test_an_empty_grade_closes_the_current_grade_at_the_end_of_today(world, folder):
    write_tables(folder, centres=[CENTRES, centre_row(world.little.code, "小星星托育", grade="",
                                                      filed_on="2024-01-01", phone="", ownership="")])

    out = run(folder)

    assert "centres（托育机构）：新增 0，更新 1" in out
    assert world.little.grades.get().valid_until == datetime.date(2026, 11, 29)
    assert world.little.grade_on(datetime.date(2026, 11, 30)) is None


# --------------------------------------------------------------------------- contracts


def signed(world, start, end, provider=None):
    return Contract.objects.create(provider=provider or world.tashan_chc, centre=world.sunny, status="signed",
                                   signed_on=start, valid_from=start, valid_to=end)


def test_contracts_upsert_by_provider_centre_and_start_and_are_audited(world, folder, django_user_model):
    contract = signed(world, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    write_tables(folder, contracts=[
        CONTRACTS,
        # Shortened, and followed by a new term that starts where it now ends.
        ["P-TS", world.sunny.code, "2026-01-01", "2026-01-01", "2026-06-30"],
        ["P-TS", world.sunny.code.lower(), "2026-06-20", "2026-07-01", "2027-06-30"],
    ])

    out = run(folder)

    assert "contracts（签约协议）：新增 1，更新 1，未变 0" in out
    contract.refresh_from_db()
    assert contract.valid_to == datetime.date(2026, 6, 30)
    renewal = Contract.objects.get(centre=world.sunny, valid_from=datetime.date(2026, 7, 1))
    assert (renewal.status, renewal.signed_on) == ("signed", datetime.date(2026, 6, 20))
    event = AuditEvent.objects.get(model="contract", object_id=str(contract.pk))
    assert event.action == "import"
    assert (event.before["valid_to"], event.after["valid_to"]) == ("2026-12-31", "2026-06-30")


def test_a_contract_overlapping_a_signed_one_in_the_database_is_refused(world, folder):
    signed(world, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))

    row = ["P-TS", world.sunny.code, "2026-06-01", "2026-06-01", "2027-05-31"]

    err = refused(folder, contracts=[CONTRACTS, row])

    assert "contracts.csv 第2行 valid_from：与已有的签约协议（2026-01-01 至 2026-12-31）时间重叠" in err


def test_two_overlapping_contracts_of_one_pair_in_the_file_are_refused(world, folder):
    err = refused(folder, contracts=[
        CONTRACTS,
        ["P-TS", world.sunny.code, "2026-12-01", "2027-01-01", "2027-12-31"],
        ["P-TS", world.sunny.code, "2026-12-01", "2027-06-01", "2028-05-31"],
        ["P-YC", world.sunny.code, "2026-12-01", "2027-06-01", "2028-05-31"],  # another pair: fine
    ])

    assert err.strip().splitlines() == [
        "contracts.csv 第3行 valid_from：与第2行的签约协议（2027-01-01 至 2027-12-31）时间重叠"]


def test_a_signed_contract_cannot_be_turned_back_into_a_draft(world, folder):
    signed(world, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))

    err = refused(folder, contracts=[CONTRACTS, ["P-TS", world.sunny.code, "", "2026-01-01", "2026-12-31"]])

    assert "contracts.csv 第2行 signed_on：该协议已签约，签约日期不能清空" in err


# --------------------------------------------------------------------------- refusals


def test_an_unknown_region_code_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, providers=[PROVIDERS, provider_row(region="330602999")])

    assert "providers.csv 第2行 region_code：区划编码“330602999”不存在（数据库和本次导入中都没有）" in err


def test_an_unknown_parent_code_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, regions=[REGIONS, ["330602099", "新城街道", "township", "330699"]])

    assert "regions.csv 第2行 parent_code：上级编码“330699”不存在（数据库和本次导入中都没有）" in err


def test_a_centre_whose_region_is_not_a_township_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, centres=[CENTRES, centre_row(region="330602")])

    assert "centres.csv 第2行 region_code：托育机构的所在区划必须是街道/镇/乡，而“越城区”是区/县" in err


def test_a_wrong_check_digit_is_refused_and_nothing_changes(world, folder):
    good = f.uscc()
    wrong = good[:17] + ("0" if good[17] != "0" else "1")

    err = refused(folder, centres=[CENTRES, centre_row(), centre_row(wrong)])

    assert f"centres.csv 第3行 code：统一社会信用代码校验位错误：应为{good[17]}，实际为{wrong[17]}" in err


def test_a_code_twice_in_one_file_is_refused_and_nothing_changes(world, folder):
    code = f.uscc()

    err = refused(folder, centres=[CENTRES, centre_row(code), centre_row(), centre_row(code, "另一家")])

    assert f"centres.csv 第4行 code：统一社会信用代码“{code}”在本文件中重复（另见第2行）" in err


def test_a_provider_code_twice_in_one_file_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, providers=[PROVIDERS, provider_row("P-X"), provider_row("P-X")])

    assert "providers.csv 第3行 code：编码“P-X”在本文件中重复（另见第2行）" in err


@pytest.mark.parametrize("value", ["2025-02-30", "01/03/2025", "2025年3月", "下周一"])
def test_a_date_that_does_not_parse_is_refused_and_nothing_changes(world, folder, value):
    err = refused(folder, centres=[CENTRES, centre_row(filed_on=value)])

    assert f"centres.csv 第2行 filed_on：日期无法识别：“{value}”" in err


def test_closed_before_filed_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, centres=[CENTRES, centre_row(filed_on="2025-03-01", closed_on="2025-02-28")])

    assert "centres.csv 第2行 closed_on：注销日期不能早于备案日期" in err


def test_a_phone_number_that_is_not_chinese_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, centres=[CENTRES, centre_row(phone="12345")])

    assert "centres.csv 第2行 phone：“12345”不是有效的中国电话号码" in err


def test_an_unknown_grade_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, centres=[CENTRES, centre_row(grade="四级")])

    assert "centres.csv 第2行 grade：无法识别的等级“四级”，可选：市级示范、一级、二级、三级，或留空" in err


def test_an_unknown_ownership_is_refused_with_the_known_values_and_nothing_changes(world, folder):
    err = refused(folder, centres=[CENTRES, centre_row(ownership="外资")])

    assert ("centres.csv 第2行 ownership：无法识别的举办性质“外资”，"
            "可选：公办、公建民营、民办、用人单位办、幼儿园托班") in err


def test_an_unknown_kind_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, providers=[PROVIDERS, provider_row(kind="诊所")])

    assert "providers.csv 第2行 kind：无法识别的机构类别“诊所”，可选：city_mch（市级妇幼保健机构）" in err


@pytest.mark.parametrize("value, reason", [("-5", "不能为负数，实际为-5"), ("三十", "应为整数，实际为“三十”"),
                                           ("12.5", "应为整数，实际为“12.5”")])
def test_places_that_are_not_a_whole_number_are_refused_and_nothing_changes(world, folder, value, reason):
    err = refused(folder, centres=[CENTRES, centre_row(places=value)])

    assert f"centres.csv 第2行 places：{reason}" in err


@pytest.mark.parametrize("value, reason", [("-1", "不能为负数，实际为-1"), ("2.5", "应为整数，实际为“2.5”")])
def test_doctors_that_are_not_a_whole_number_are_refused_and_nothing_changes(world, folder, value, reason):
    err = refused(folder, providers=[PROVIDERS, provider_row(doctors=value)])

    assert f"providers.csv 第2行 doctors：{reason}" in err


def test_a_township_whose_parent_is_not_a_county_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, regions=[REGIONS, ["330602099", "新城街道", "township", "330600"]])

    assert "regions.csv 第2行 parent_code：街道/镇/乡的上级应为区/县，而“绍兴市”是市" in err


def test_a_provider_whose_region_level_does_not_match_its_kind_is_refused_and_nothing_changes(world, folder):
    err = refused(folder, providers=[PROVIDERS, provider_row(kind="县级妇幼保健机构", region="330602017")])

    assert ("providers.csv 第2行 region_code：县级妇幼保健机构的所在区划应为区/县，"
            "而“富盛镇”是街道/镇/乡") in err


def test_a_missing_required_column_names_the_file_and_the_column(world, folder):
    row = centre_row()
    err = refused(folder, centres=[CENTRES[:5] + CENTRES[6:], row[:5] + row[6:]])

    assert "centres.csv 第1行 places：缺少必填列“places”（也可用列名：托位数、托位）" in err


def test_every_error_of_every_file_is_reported_at_once(world, folder):
    err = refused(
        folder,
        providers=[PROVIDERS, provider_row(kind="诊所"), provider_row("P-2", doctors="-1")],
        centres=[CENTRES, centre_row(phone="12345", places="-3")],
    )

    reported = [line.split("：")[0] for line in err.strip().splitlines()]
    assert reported == ["providers.csv 第2行 kind", "providers.csv 第3行 doctors",
                        "centres.csv 第2行 places", "centres.csv 第2行 phone"]


def test_a_contract_naming_a_new_centre_with_errors_reports_only_the_centre(world, folder):
    code = f.uscc()
    err = refused(folder, centres=[CENTRES, centre_row(code, region="330699001")],
                  contracts=[CONTRACTS, ["P-TS", code, "2026-01-05", "2026-01-01", "2026-12-31"]])

    assert err.strip().splitlines() == [
        "centres.csv 第2行 region_code：区划编码“330699001”不存在（数据库和本次导入中都没有）"]


def test_a_region_with_centres_cannot_change_level(world, folder):
    err = refused(folder, regions=[REGIONS, ["330602017", "富盛镇", "county", "330600"]])

    assert "regions.csv 第2行 level：该区划已有下级区划或机构，不能把级别从街道/镇/乡改为区/县" in err


def test_a_terminated_contract_is_left_alone_and_cannot_be_changed_by_an_import(world, folder):
    contract = signed(world, datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    Contract.objects.filter(pk=contract.pk).update(
        status="terminated", terminated_on=datetime.date(2026, 7, 1), termination_reason="停办")
    row = ["P-TS", world.sunny.code, "2026-01-01", "2026-01-01", "2026-12-31"]
    write_tables(folder, contracts=[CONTRACTS, row])
    assert "contracts（签约协议）：新增 0，更新 0，未变 1" in run(folder)

    err = refused(folder, contracts=[CONTRACTS, [*row[:4], "2027-12-31"]])

    assert "contracts.csv 第2行 valid_from：该协议已终止，不能通过导入修改" in err


def test_the_same_table_twice_is_refused(world, folder):
    write_csv(folder, "区划.csv", [REGIONS])

    err = refused(folder, regions=[REGIONS])

    assert "与“regions.csv”是同一张表，每张表只能导入一份" in err


def test_a_path_that_is_neither_a_folder_nor_a_workbook_is_refused(tmp_path):
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_registry", str(tmp_path / "nothing.txt"), stderr=err)
    assert "应为存放 CSV 文件的文件夹，或一个 .xlsx 工作簿" in err.getvalue()


# --------------------------------------------------------------------------- the service


def test_a_city_admin_may_not_import_rows_of_another_city(world, folder):
    other = f.region("330100", "杭州市")
    f.region("330106001", "西湖街道", parent=f.region("330106", "西湖区", parent=other))
    write_tables(folder, centres=[CENTRES, centre_row(region="330106001")])

    result = registry_import(sources=read_folder(folder), within=world.city)

    assert [str(e) for e in result.errors] == ["centres.csv 第2行 region_code：不在您管辖的绍兴市范围内"]
    assert not Centre.objects.filter(township__code="330106001").exists()


def test_unknown_columns_are_ignored_with_a_warning(world, folder):
    write_tables(folder, centres=[[*CENTRES, "备注"], [*centre_row(), "新开"]])

    result = registry_import(sources=read_folder(folder))

    assert result.ok and [str(w) for w in result.warnings] == ["centres.csv 第1行 备注：无法识别的列，已忽略"]


def test_every_alias_is_documented():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    cells = set(re.findall(r"`([^`\n]+)`", doc))
    for columns in COLUMNS.values():
        for column in columns:
            assert set(column.headers) <= cells, column
    for names in TABLE_NAMES.values():
        assert set(names) <= cells


# --------------------------------------------------------------------------- the page


def upload(name, rows, encoding="utf-8"):
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return SimpleUploadedFile(name, text.getvalue().encode(encoding), content_type="text/csv")


def test_a_city_admin_uploads_csv_files_and_sees_the_counts(world, client):
    client.force_login(world.alice)
    files = [upload("regions.csv", [REGIONS, RENAME_TASHAN]), upload("centres.csv", [CENTRES, centre_row()])]

    response = client.post(reverse("mch_link:import_registry"), {"files": files})

    html = response.content.decode()
    assert response.status_code == 200
    assert "导入完成" in html
    counts = r'行政区划 <small class="muted">regions</small></td><td class="num">0</td><td class="num">1</td>'
    assert counts in html
    assert Region.objects.get(code="330602001").name == "塔山街道（新）"
    assert Centre.objects.filter(name="新苗托育园").exists()


def test_a_city_admin_uploads_a_workbook_with_errors_and_sees_them_all_with_nothing_written(world, client):
    workbook = openpyxl.Workbook()
    workbook.active.title = "regions"
    for row in (REGIONS, RENAME_TASHAN):
        workbook.active.append(row)
    sheet = workbook.create_sheet("centres")
    sheet.append(CENTRES)
    sheet.append(centre_row(grade="四级", closed_on="2020-01-01"))
    data = io.BytesIO()
    workbook.save(data)
    client.force_login(world.alice)
    before = state()

    response = client.post(reverse("mch_link:import_registry"),
                           {"files": SimpleUploadedFile("登记.xlsx", data.getvalue())})

    html = response.content.decode()
    assert "发现 2 个错误，未写入任何数据" in html
    assert "<td>centres</td><td class=\"num\">2</td><td>grade</td><td>无法识别的等级“四级”" in html
    assert "<td>centres</td><td class=\"num\">2</td><td>closed_on</td><td>注销日期不能早于备案日期" in html
    assert state() == before


def test_a_dry_run_upload_shows_what_would_change_and_writes_nothing(world, client):
    client.force_login(world.alice)
    before = state()

    response = client.post(reverse("mch_link:import_registry"),
                           {"files": [upload("regions.csv", [REGIONS, RENAME_TASHAN])], "dry_run": "on"})

    assert "试运行通过" in response.content.decode()
    assert state() == before


def test_a_file_over_the_upload_limit_is_refused(world, client, settings):
    settings.MAX_UPLOAD_BYTES = 100
    client.force_login(world.alice)
    big = upload("centres.csv", [CENTRES, centre_row(), centre_row()])

    response = client.post(reverse("mch_link:import_registry"), {"files": [big]})

    assert "超过上限 100" in response.content.decode()
    assert not Centre.objects.filter(name="新苗托育园").exists()


def test_a_csv_file_with_an_unknown_name_is_refused(world, client):
    client.force_login(world.alice)

    response = client.post(reverse("mch_link:import_registry"), {"files": [upload("机构.csv", [CENTRES])]})

    assert "无法根据文件名判断是哪张表" in response.content.decode()


def test_the_page_shows_the_upload_form_to_a_city_admin(world, client):
    client.force_login(world.alice)

    html = client.get(reverse("mch_link:import_registry")).content.decode()

    assert 'type="file"' in html and "multiple" in html and "统一社会信用代码" in html


@pytest.mark.parametrize("who", ["bob", "dan", "fay"])
def test_everyone_but_a_city_admin_gets_404(world, client, who):
    client.force_login(getattr(world, who))

    assert client.get(reverse("mch_link:import_registry")).status_code == 404
    assert client.post(reverse("mch_link:import_registry"), {}).status_code == 404


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(reverse("mch_link:import_registry"))

    assert response.status_code == 302 and reverse("login") in response["Location"]


# --------------------------------------------------------------------------- also_covers


PROVIDERS_COVERING = [*PROVIDERS, "also_covers"]


def test_a_grassroots_provider_imports_the_townships_it_also_covers_and_the_tier_rules_use_them(world, folder):
    """富盛镇卫生院 also covers 塔山街道: its centres become required pairs of 富盛; importing the
    same file again changes nothing, and an empty cell clears them."""
    from mch_link.selectors import missing_pairs_for_provider

    day = datetime.date(2026, 6, 1)
    assert {rp.centre_id for rp in missing_pairs_for_provider(world.fusheng_thc, day)} == {world.rice.pk}
    row = provider_row("P-FS", "富盛镇卫生院", region="330602017")
    write_tables(folder, providers=[PROVIDERS, row])
    run(folder)  # the other fields as in the file: only the townships covered change below
    write_tables(folder, providers=[PROVIDERS_COVERING, [*row, "330602001"]])
    assert "医疗卫生机构）：新增 0，更新 1，未变 0" in run(folder)
    assert [r.code for r in Provider.objects.get(code="P-FS").also_covers.all()] == ["330602001"]
    tashan_centres = set(Centre.objects.filter(township=world.tashan).values_list("pk", flat=True))
    required = {rp.centre_id for rp in missing_pairs_for_provider(world.fusheng_thc, day)}
    assert required == {world.rice.pk} | tashan_centres

    assert "医疗卫生机构）：新增 0，更新 0，未变 1" in run(folder)

    write_tables(folder, providers=[PROVIDERS_COVERING, [*row, ""]])
    assert "医疗卫生机构）：新增 0，更新 1，未变 0" in run(folder)
    assert not Provider.objects.get(code="P-FS").also_covers.exists()


def test_without_the_column_the_townships_covered_stay_as_they_are(world, folder):
    world.fusheng_thc.also_covers.set([world.tashan])
    write_tables(folder, providers=[PROVIDERS, provider_row("P-FS", "富盛镇卫生院", region="330602017")])
    run(folder)
    assert list(Provider.objects.get(code="P-FS").also_covers.all()) == [world.tashan]


def test_a_township_created_by_the_same_import_can_be_covered(world, folder):
    write_tables(folder, regions=[REGIONS, ["330602099", "新城街道", "township", "330602"]],
                 providers=[PROVIDERS_COVERING, [*provider_row("P-FS", "富盛镇卫生院", region="330602017"),
                                                 "330602099；330602001"]])
    run(folder)
    assert sorted(r.code for r in Provider.objects.get(code="P-FS").also_covers.all()) == ["330602001", "330602099"]


@pytest.mark.parametrize(("cell", "kind", "message"), [
    ("330602999", "township_health_centre", "also_covers：区划编码“330602999”不存在（数据库和本次导入中都没有）"),
    ("330602", "township_health_centre", "also_covers：“越城区”（330602）不是街道/镇/乡"),
    ("330602017", "township_health_centre", "also_covers：“富盛镇”已是本机构的所在区划"),
    ("330602001", "county_mch", "also_covers：只有社区卫生服务中心、乡镇卫生院可另负责街道/镇/乡"),
])
def test_a_bad_township_covered_is_refused_and_nothing_changes(world, folder, cell, kind, message):
    region = "330602" if kind == "county_mch" else "330602017"
    err = refused(folder, providers=[PROVIDERS_COVERING, [*provider_row("P-FS", "富盛镇卫生院", kind, region), cell]])
    assert f"providers.csv 第2行 {message}" in err
    assert not Provider.objects.get(code="P-FS").also_covers.exists()


def test_a_township_covered_outside_the_importers_city_is_refused(world, folder):
    other = f.region("330100", "杭州市")
    f.region("330102001", "清波街道", parent=f.region("330102", "上城区", parent=other))
    write_tables(folder, providers=[PROVIDERS_COVERING, [*provider_row("P-FS", "富盛镇卫生院", region="330602017"),
                                                         "330102001"]])
    result = registry_import(sources=read_folder(folder), within=world.city)
    assert [str(e) for e in result.errors] == ["providers.csv 第2行 also_covers：不在您管辖的绍兴市范围内"]
    assert not Provider.objects.get(code="P-FS").also_covers.exists()
