"""The renderings of the hand-built quarter: JSON keys, CSV, XLSX reloaded, PDF fonts and text,
and the management command."""

import csv
import io
import json
import subprocess

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from reports import render as renderers
from reports.rows import completion_rows

from .conftest import AS_OF

pytestmark = pytest.mark.django_db

TOP_KEYS = {"region", "period", "as_of", "projected", "signed_guidance_rate", "full_coverage_rate", "completion",
            "by_region", "by_provider", "uncovered_centres", "missing_pairs", "overdue"}
KIND_KEYS = {"owed", "done_on_time", "done_late", "missed", "pending", "confirmed", "backfilled"}
TITLE = "绍兴市 2026年第一季度 医育结合签约服务“四个一”完成情况"


@pytest.fixture
def report(case):
    return completion_rows(region=case.city, period="2026Q1", as_of=AS_OF)


def test_the_json_has_exactly_the_documented_keys(report, case):
    data = json.loads(renderers.render_json(report))
    assert set(data) == TOP_KEYS
    assert data["region"] == {"code": "330600", "name": "绍兴市", "level": "city"}
    assert (data["period"], data["as_of"]) == ("2026Q1", "2026-04-20")
    assert data["signed_guidance_rate"] == {"numerator": 4, "denominator": 5, "rate": 0.8}
    assert set(data["completion"]) == {"guidance", "staff_training", "parent_lecture"}
    assert all(set(figures) == KIND_KEYS for figures in data["completion"].values())
    assert data["completion"]["guidance"] == {"owed": 6, "done_on_time": 4, "done_late": 1, "missed": 1,
                                              "pending": 0, "confirmed": 1, "backfilled": 0}
    for key in ("by_region", "by_provider"):
        for row in data[key]:
            assert set(row) == {"code", "name", "completion"}
            assert all(set(figures) == KIND_KEYS for figures in row["completion"].values())
    assert [r["code"] for r in data["by_region"]] == ["330602", "330603"]
    assert data["by_region"][0]["completion"]["parent_lecture"]["missed"] == 6
    assert [r["code"] for r in data["by_provider"]] == ["P-CITY", "P-FS", "P-KQJD", "P-TS", "P-YC"]
    assert data["uncovered_centres"] == [{"code": case.rice.code, "name": "稻香托育"}]
    assert [set(m) for m in data["missing_pairs"]] == [
        {"tier", "provider", "provider_name", "centre", "centre_name"}] * 2
    assert len(data["overdue"]) == 9
    assert set(data["overdue"][0]) == {"period", "kind", "provider", "provider_name", "centre", "centre_name",
                                       "planned_on", "status"}
    assert data["overdue"][0]["planned_on"] == "2026-03-02"


def test_the_csv_is_utf8_with_a_bom_and_sections(report):
    raw = renderers.render_csv(report)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [TITLE]
    start = rows.index(["完成情况（按服务类型）"])
    assert rows[start + 1][:9] == ["服务类型", "应完成", "按时完成", "延期完成", "未完成", "待完成", "其中逾期",
                                   "已完成", "完成率"]
    assert rows[start + 2][:9] == ["卫生保健业务指导", "6", "4", "1", "1", "0", "0", "5", "83.3%"]
    assert ["签约指导率", "80.0%"] in rows
    assert ["宽限期", "15 天"] in rows


def test_the_xlsx_reloads_with_the_same_figures(report):
    wb = openpyxl.load_workbook(io.BytesIO(renderers.render_xlsx(report)))
    assert wb.sheetnames == ["概况", "按服务类型", "按区域", "按医疗机构", "季度趋势", "按层级覆盖", "缺少的签约",
                             "未签约托育机构", "逾期及未完成", "口径说明"]
    ws = wb["按服务类型"]
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]][:3] == ["服务类型", "应完成", "按时完成"]
    guidance = [c.value for c in ws[2]]
    # the rate as shown (mch_link.rates, 83.3%): Excel does not round it again
    assert guidance[:9] == ["卫生保健业务指导", 6, 4, 1, 1, 0, 0, 5, 0.833]
    assert ws.cell(row=2, column=9).number_format == "0.0%"
    assert [c.value for c in ws[4]][:5] == ["家长婴幼儿养育照护知识讲座及现场咨询指导", 8, 0, 1, 7]
    summary = {row[0].value: row[1].value for row in wb["概况"].iter_rows(min_row=2)}
    assert summary["签约指导率"] == 0.8 and summary["在册托育机构（分母）"] == 5
    assert wb["概况"].cell(row=[r[0].value for r in wb["概况"].iter_rows()].index("签约指导率") + 1,
                          column=2).number_format == "0.0%"
    regions = [[c.value for c in row] for row in wb["按区域"].iter_rows(min_row=2)]
    assert ["330603", "柯桥区", "卫生保健业务指导", 0, 0, 0, 0, 0, 0, 0, None, 0, None, 0, 0, 1] in regions
    assert wb["逾期及未完成"].max_row == 1 + 9


def pdf_text(path):
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_the_pdf_embeds_its_chinese_font_and_its_text_extracts(report, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(renderers.render_pdf(report))
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows and all("WenQuanYi" in row[0] for row in rows)  # no other (unembedded) font
    for row in rows:
        assert row[-5] == "yes"  # the "emb" column
    text = pdf_text(path)
    assert TITLE in text
    assert "80.0%（4 / 5）" in text
    squeezed = "".join(text.split())  # pdftotext drops or adds spaces between CJK glyphs
    assert "第1页/共" in squeezed
    assert "宽限期：15 天" in text and "季度最少有效天数：30 天" in text and "生成时间" in text


def test_a_long_table_repeats_its_header_on_every_page(report, tmp_path):
    row = report.overdue[0]
    report.overdue = [row] * 400
    path = tmp_path / "long.pdf"
    path.write_bytes(renderers.render_pdf(report))
    pages = pdf_text(path).split("\f")
    overdue_pages = [p for p in pages if "小星星托育" in p and "2026-03-02" in p]
    assert len(overdue_pages) > 3
    assert all("统一社会信用代码" in p for p in overdue_pages)
    total = len([p for p in pages if p.strip()])
    assert f"第{total}页/共{total}页" in "".join(pages[total - 1].split())


def test_a_missing_font_names_the_debian_package(report, monkeypatch):
    monkeypatch.setattr(renderers, "FONT_PATH", "/nonexistent/wqy-microhei.ttc")
    with pytest.raises(renderers.FontMissingError, match="fonts-wqy-microhei"):
        renderers.render_pdf(report)


def test_the_command_writes_json_to_stdout(case):
    out = io.StringIO()
    call_command("completion_report", "--year", "2026", "--quarter", "1", "--as-of", "2026-04-20",
                 "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == TOP_KEYS
    assert data["region"]["code"] == "330600"  # the one city by default
    assert data["completion"]["staff_training"]["done_on_time"] == 7


def test_the_command_takes_a_region_and_a_provider(case):
    out = io.StringIO()
    call_command("completion_report", "--year", "2026", "--quarter", "1", "--as-of", "2026-04-20",
                 "--region", "330602", "--provider", "P-TS", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["region"]["code"] == "330602"
    assert [r["code"] for r in data["by_provider"]] == ["P-TS"]
    assert data["completion"]["guidance"]["owed"] == 3


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_the_command_writes_every_format_to_a_file(case, tmp_path, fmt):
    path = tmp_path / f"r.{fmt}"
    call_command("completion_report", "--year", "2026", "--format", fmt, "--output", str(path),
                 "--as-of", "2026-04-20", stderr=io.StringIO())
    data = path.read_bytes()
    assert data.startswith({"csv": b"\xef\xbb\xbf", "xlsx": b"PK", "pdf": b"%PDF"}[fmt])


@pytest.mark.parametrize("args, message", [
    (["--region", "999999"], "--region"),
    (["--provider", "P-NONE"], "--provider"),
    (["--as-of", "2026-13-01"], "--as-of"),
])
def test_unknown_codes_are_command_errors(case, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("completion_report", "--year", "2026", "--format", "json", *args, stdout=io.StringIO())


def test_binary_formats_need_an_output_file(case):
    with pytest.raises(CommandError, match="--output"):
        call_command("completion_report", "--year", "2026", "--format", "pdf", stdout=io.StringIO())
