"""Renderings of a reports.rows.Report: JSON, CSV, XLSX and PDF. No queries here.

Every renderer reads the same `sections(report)`: one list of tables (title, headers, rows,
column formats), so that CSV, XLSX and PDF show the same figures under the same headings.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from mch_link.models import Tier
from mch_link.rates import rate, rate_shown, rate_text
from mch_link.tables import CONTROL_CHARACTERS, Sheet, csv_bytes, xlsx_bytes
from scheduling import periods

from .rows import KIND_SHORT_LABELS, Completion, Report

FORMATS = ("json", "csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

# The PDF's Chinese font: embedded (subset) TrueType from Debian's fonts-wqy-microhei.
FONT_NAME = "WQY"
FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT_PACKAGE = "fonts-wqy-microhei"


class FontMissingError(RuntimeError):
    """The Chinese TrueType font the PDF embeds is not installed."""


# --------------------------------------------------------------------------- the tables


@dataclass
class Section:
    key: str
    title: str
    headers: list
    rows: list  # lists of cells: str, int, float (rates, fractions) or None
    formats: list  # per column: "text", "int" or "rate"


COMPLETION_HEADERS = ["应完成", "按时完成", "延期完成", "未完成", "待完成", "其中逾期", "已完成", "完成率",
                      "已确认", "确认率", "有异议", "已取消", "已豁免"]
COMPLETION_FORMATS = ["int"] * 7 + ["rate"] + ["int", "rate"] + ["int"] * 3


def completion_cells(c: Completion):
    return [c.owed, c.done_on_time, c.done_late, c.missed, c.pending, c.overdue, c.done, c.rate,
            c.confirmed, c.confirmed_rate, c.disputed, c.cancelled, c.waived]


def kind_label(kind):
    return periods.KIND_LABELS[kind]


def definitions(report: Report):
    """(term, definition) pairs printed with every report, with the settings used."""
    s = report.settings_used
    return [
        (_("签约指导率"), _("统计日已备案且未注销、至少有一份有效签约协议的托育机构数 ÷ 统计日已备案且未注销的"
                       "托育机构数。统计日为周期最后一天；周期尚未结束时为统计截至日。")),
        (_("应签约对覆盖率"), _("层级规则要求的签约对（市级示范—市级妇幼；二级及以上—县级妇幼；全部—所在街道/镇/乡"
                          "基层机构）中，统计日有有效签约协议的比例。")),
        (_("应完成"), _("周期内的服务义务，不含已取消、已豁免。协议在季度内有效满 {q} 天才产生该季度的三项服务，"
                     "年内有效满 {y} 天才产生年度督导。季度报表统计该季度的三项季度服务；年度报表统计四个季度"
                     "的三项服务及年度督导。").format(q=s["MIN_DAYS_IN_FORCE_QUARTER"],
                                           y=s["MIN_DAYS_IN_FORCE_YEAR"])),
        (_("按时完成"), _("服务记录日期不晚于周期最后一天。")),
        (_("延期完成"), _("服务记录日期在周期结束后 {g} 天宽限期内。").format(g=s["GRACE_DAYS"])),
        (_("未完成"), _("周期及宽限期已过仍无服务记录（宽限期后才开展的也计为未完成）。")),
        (_("待完成"), _("已排期、逾期未开展（排期日期已过，周期及宽限期未结束）或未排期。")),
        (_("完成率"), _("（按时完成＋延期完成）÷ 应完成。")),
        (_("已确认 / 有异议"), _("已完成且托育机构已确认（或对服务记录提出异议）的服务义务；"
                               "确认率＝已确认 ÷ 已完成。")),
        (_("统计截至"), _("状态按统计截至日由同一状态函数计算：该日之后的服务记录和确认视为尚未发生；"
                       "排期取当前排期。")),
        (_("区域归属"), _("按托育机构所在街道/镇/乡在统计日的行政区划归属（区划调整后归继任区划）。")),
        (_("应签约协议齐全率"), _("统计日已备案且未注销、层级规则要求的各类签约协议均有效的托育机构数 ÷ 统计日已备案"
                            "且未注销的托育机构数。比签约指导率（有任意一份有效协议即计入）更严格，二者并列。")),
        (_("补录"), _("服务记录在实际日期 {n} 天之后才提交的，计为补录（须填写补录原因），在已完成中单列。"
                    "统计截至某日的报表只计该日结束前已录入的记录、确认和取消/豁免，任何日后重算结果不变。"
                    ).format(n=s["LATE_ENTRY_DAYS"])),
        (_("预计"), _("周期尚未开始时，签约指导率和协议齐全率按周期第一天、以目前已签订的协议计算，标为“预计”。")),
        (_("百分比"), _("所有比率按精确分数一次性四舍五入到一位小数；不足 100% 的不显示为 100%。")),
        (_("季度最少有效天数"), _("{n} 天").format(n=s["MIN_DAYS_IN_FORCE_QUARTER"])),
        (_("年度最少有效天数"), _("{n} 天").format(n=s["MIN_DAYS_IN_FORCE_YEAR"])),
        (_("宽限期"), _("{n} 天").format(n=s["GRACE_DAYS"])),
        (_("补录天数"), _("{n} 天").format(n=s["LATE_ENTRY_DAYS"])),
    ]


def summary_rows(report: Report):
    sg = report.signed_guidance
    cov = report.coverage.totals
    total = report.total
    rows = [
        [_("地区"), report.region_name],
        [_("区划代码"), report.region_code],
        [_("周期"), report.period_label],
        [_("统计截至"), report.as_of.isoformat()],
        [_("签约指导率统计日"), report.coverage_day.isoformat()],
    ]
    if report.projected:
        rows.append([_("预计"), _("周期尚未开始：比率按周期第一天、以目前已签订的协议计算")])
    if report.provider:
        rows.append([_("医疗卫生机构"), f"{report.provider.name}（{report.provider.code}）"])
    rows += [
        [_("签约指导率"), sg["rate"]],
        [_("已签约托育机构（分子）"), sg["numerator"]],
        [_("在册托育机构（分母）"), sg["denominator"]],
        [_("应签约协议齐全率"), report.full_coverage["rate"]],
        [_("协议齐全的托育机构"), report.full_coverage["numerator"]],
        [_("应签约对"), cov.required_pairs],
        [_("已覆盖签约对"), cov.covered_pairs],
        [_("应签约对覆盖率"), cov.pair_coverage],
        [_("应完成服务"), total.owed],
        [_("已完成服务"), total.done],
        [_("完成率"), total.rate],
        [_("其中补录"), total.backfilled],
        [_("生成时间"), f"{report.generated_at:%Y-%m-%d %H:%M}"],
    ]
    return rows


def _group_rows(groups, kinds):
    rows = []
    for g in groups:
        for kind in kinds:
            rows.append([g.code, g.name, kind_label(kind), *completion_cells(g.completion[kind])])
        rows.append([g.code, g.name, _("合计"), *completion_cells(g.total)])
    return rows


def sections(report: Report):
    """The report's tables, in order. Lazy translations are made plain str (openpyxl and csv
    take no proxies)."""
    out = _sections(report)
    for section in out:
        section.title = str(section.title)
        section.headers = [str(h) for h in section.headers]
        section.rows = [[str(v) if isinstance(v, Promise) else v for v in row] for row in section.rows]
    return out


def _sections(report: Report):
    out = [Section("summary", _("概况"), [_("项目"), _("数值")], summary_rows(report), ["text", "mixed"])]
    by_kind = [[kind_label(k), *completion_cells(report.completion[k])] for k in report.kinds]
    by_kind.append([_("合计"), *completion_cells(report.total)])
    out.append(Section("by_kind", _("完成情况（按服务类型）"), [_("服务类型"), *COMPLETION_HEADERS], by_kind,
                       ["text", *COMPLETION_FORMATS]))
    group_headers = [_("服务类型"), *COMPLETION_HEADERS]
    group_formats = ["text", "text", "text", *COMPLETION_FORMATS]
    if report.by_region:
        out.append(Section("by_region", _("按区域（{level}）").format(level=report.sub_level_label),
                           [_("区划代码"), _("名称"), *group_headers], _group_rows(report.by_region, report.kinds),
                           group_formats))
    out.append(Section("by_provider", _("按医疗卫生机构"), [_("机构编码"), _("名称"), *group_headers],
                       _group_rows(report.by_provider, report.kinds), group_formats))
    if report.by_centre:
        out.append(Section("by_centre", _("按托育机构"), [_("统一社会信用代码"), _("名称"), *group_headers],
                           _group_rows(report.by_centre, report.kinds), group_formats))
    out.append(Section("trend", _("季度趋势（三项季度服务）"), [_("季度"), _("应完成"), _("已完成"), _("完成率")],
                       [[t.label, t.owed, t.done, t.rate] for t in report.trend], ["text", "int", "int", "rate"]))
    tiers = [[row["label"], row["required"], row["covered"], row["missing"],
              rate(row["covered"], row["required"])]
             for row in report.by_tier.values()]
    out.append(Section("by_tier", _("应签约对覆盖（按层级）"),
                       [_("层级"), _("应签约"), _("已覆盖"), _("缺少"), _("覆盖率")], tiers,
                       ["text", "int", "int", "int", "rate"]))
    out.append(Section(
        "missing_pairs", _("缺少的签约"),
        [_("层级"), _("机构编码"), _("医疗卫生机构"), _("统一社会信用代码"), _("托育机构")],
        [[Tier(m["tier"]).label, m["provider"], m["provider_name"], m["centre"], m["centre_name"]]
         for m in report.missing_pairs],
        ["text", "code", "text", "code", "text"]))
    out.append(Section("uncovered_centres", _("未签约的托育机构"), [_("统一社会信用代码"), _("名称")],
                       [[c.code, c.name] for c in report.uncovered_centres], ["code", "text"]))
    out.append(Section(
        "overdue", _("逾期及未完成的服务"),
        [_("周期"), _("服务类型"), _("机构编码"), _("医疗卫生机构"), _("统一社会信用代码"), _("托育机构"),
         _("排期日期"), _("状态")],
        [[o.period, o.kind_label, o.provider_code, o.provider_name, o.centre_code, o.centre_name,
          o.planned_on.isoformat() if o.planned_on else "", o.status_label] for o in report.overdue],
        ["text", "text", "code", "text", "code", "text", "text", "text"]))
    out.append(Section("definitions", _("口径说明及参数"), [_("项目"), _("说明")],
                       [list(d) for d in definitions(report)], ["text", "text"]))
    return out


def filename(report: Report, fmt):
    """ASCII file name: completion-<region code or all>-<period>[-<provider>].<fmt>."""
    parts = ["completion", report.region_code or "all", report.period]
    if report.provider:
        parts.append(report.provider.code)
    return "-".join(parts) + f".{fmt}"


def render(report: Report, fmt):
    """bytes of the report in `fmt` (one of FORMATS)."""
    return {"json": render_json, "csv": render_csv, "xlsx": render_xlsx, "pdf": render_pdf}[fmt](report)


# --------------------------------------------------------------------------- JSON, CSV


def render_json(report: Report):
    return json.dumps(report.as_json(), ensure_ascii=False, indent=2).encode("utf-8")


def _csv_cell(value, fmt):
    if value is None:
        return ""
    if fmt == "rate" or (fmt == "mixed" and isinstance(value, float)):
        return rate_text(value)
    return value


def render_csv(report: Report):
    """UTF-8 with a BOM (Excel opens it as UTF-8): every section one after another, each with
    a title row, its header row and its rows, then an empty row. Rates as "83.3%"."""
    lines = [[report.title], []]
    for section in sections(report):
        lines += [[section.title], section.headers]
        lines += ([_csv_cell(v, f) for v, f in zip(row, section.formats, strict=True)] for row in section.rows)
        lines.append([])
    return csv_bytes(lines)


# --------------------------------------------------------------------------- XLSX


SHEET_NAMES = {
    "summary": "概况", "by_kind": "按服务类型", "by_region": "按区域", "by_provider": "按医疗机构",
    "by_centre": "按托育机构", "trend": "季度趋势", "by_tier": "按层级覆盖", "missing_pairs": "缺少的签约",
    "uncovered_centres": "未签约托育机构", "overdue": "逾期及未完成", "definitions": "口径说明",
}


def _percent_if_number(value):
    return "0.0%" if isinstance(value, float) else None


def _percent(value):
    return "0.0%" if value is not None else None


def render_xlsx(report: Report):
    """One sheet per table, Chinese headers in a frozen first row, numbers as numbers and rates
    as numbers formatted "0.0%"."""
    percent_of = {"rate": _percent, "mixed": _percent_if_number}
    return xlsx_bytes(Sheet(
        SHEET_NAMES[section.key], section.headers, _shown_rates(section),
        number_formats={i: percent_of[fmt] for i, fmt in enumerate(section.formats) if fmt in percent_of},
        widths=[_width(header, [r[i] for r in section.rows[:200]]) for i, header in enumerate(section.headers)],
    ) for section in sections(report))


def _shown_rates(section):
    """The rows with each rate as shown (mch_link.rates: 0.924 for 92.4%), so that Excel's
    "0.0%" shows the one rounding and never rounds again."""
    columns = [i for i, fmt in enumerate(section.formats) if fmt in ("rate", "mixed")]
    if not columns:
        return section.rows
    rows = []
    for row in section.rows:
        row = list(row)
        for i in columns:
            if isinstance(row[i], float):
                row[i] = rate_shown(row[i])
        rows.append(row)
    return rows


def _width(header, cells):
    """A column's width: twice its longest text (CJK characters are wide), 8 to 60."""
    longest = max([len(str(header))] + [len(str(cell or "")) for cell in cells])
    return min(60, max(8, 2 * longest + 2))


# --------------------------------------------------------------------------- PDF


def register_font(path=None):
    """Register the embedded Chinese TrueType font (the first face of the .ttc)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.pdfmetrics import registerFontFamily
    from reportlab.pdfbase.ttfonts import TTFont

    path = path or FONT_PATH
    if not os.path.exists(path):
        raise FontMissingError(
            f"PDF 报表需要中文字体 {path}，请安装 Debian 软件包 {FONT_PACKAGE}（apt-get install {FONT_PACKAGE}）。"
            f" The PDF report needs the font {path}: install the Debian package {FONT_PACKAGE}."
        )
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
        # One face only: <b> in a paragraph maps to the same face rather than failing.
        registerFontFamily(FONT_NAME, normal=FONT_NAME, bold=FONT_NAME, italic=FONT_NAME, boldItalic=FONT_NAME)
    return FONT_NAME


SIGN_OFF = ("填报单位", "负责人", "审核人", "日期", "盖章处")


def sign_off_block(report: Report, table, mm):
    """The block a bureau signs: 填报单位 (the region), 负责人, 审核人, 日期, 盖章处, with room
    to write and stamp."""
    unit = f"{report.region_name}卫生健康局" if report.region else ""
    rows = [[_("填报单位"), unit, _("日期"), ""], [_("负责人"), "", _("审核人"), ""], [_("盖章处"), "", "", ""]]
    t = table(None, rows, ["text"] * 4, [28 * mm, 59 * mm, 28 * mm, 59 * mm])
    t.setStyle([("SPAN", (1, 2), (3, 2)), ("ROWBACKGROUNDS", (0, 0), (-1, -1), [None]),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 10), ("TOPPADDING", (0, 2), (-1, 2), 30),
                ("BOTTOMPADDING", (0, 2), (-1, 2), 30)])
    return t


def markup(text):
    """`text` made safe for reportlab's paragraph markup: control characters removed, `&`, `<`
    and `>` escaped (a name like "<b>" or "<link ...>" is printed as written)."""
    return escape(CONTROL_CHARACTERS.sub("", str(text)))


def _pdf_cell(value, fmt, style):
    from reportlab.platypus import Paragraph

    if value is None:
        return "—"
    if fmt == "rate" or (fmt == "mixed" and isinstance(value, float)):
        return rate_text(value)
    if fmt == "code":  # a code never wraps: one line, its column sized for it (CODE_WIDTH)
        return markup(value)
    if isinstance(value, str) and len(value) > 6:
        return Paragraph(markup(value), style)
    return markup(value)


# Compact columns for A4 portrait: (header, accessor, format) over a Completion.
PDF_COMPLETION = [
    ("应完成", lambda c: c.owed, "int"), ("按时", lambda c: c.done_on_time, "int"),
    ("延期", lambda c: c.done_late, "int"), ("未完成", lambda c: c.missed, "int"),
    ("待完成", lambda c: c.pending, "int"), ("完成率", lambda c: c.rate, "rate"),
    ("已确认", lambda c: c.confirmed, "int"), ("有异议", lambda c: c.disputed, "int"),
    ("取消/豁免", lambda c: c.cancelled + c.waived, "int"),
]


def _bar_chart(report: Report, font):
    """Stacked bars per kind: on time, late, missed, pending."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    series = [("按时完成", "done_on_time", colors.HexColor("#0b6e4f")),
              ("延期完成", "done_late", colors.HexColor("#d97706")),
              ("未完成", "missed", colors.HexColor("#b91c1c")),
              ("待完成", "pending", colors.HexColor("#9ca3af"))]
    drawing = Drawing(480, 210, initialFontName=font)
    drawing.add(String(0, 198, _("各项服务完成情况（件）"), fontName=font, fontSize=10))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 30, 300, 150
    chart.data = [[getattr(report.completion[k], attr) for k in report.kinds] for _label, attr, _c in series]
    chart.categoryAxis.categoryNames = [str(KIND_SHORT_LABELS[k]) for k in report.kinds]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.barWidth = 18
    for i, (_label, _attr, colour) in enumerate(series):
        chart.bars[i].fillColor = colour
        chart.bars[i].strokeColor = None
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 360, 160
    legend.fontName, legend.fontSize = font, 8
    legend.alignment = "right"
    legend.colorNamePairs = [(colour, label) for label, _attr, colour in series]
    drawing.add(legend)
    return drawing


def _rate_chart(groups, title, font):
    """Horizontal bars: completion rate (%) per group."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    groups = groups[:40]
    height = 40 + 14 * len(groups)
    drawing = Drawing(480, height + 20, initialFontName=font)
    drawing.add(String(0, height + 8, title, fontName=font, fontSize=10))
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 150, 20, 300, height - 30
    chart.data = [[round(100 * (g.total.rate or 0), 1) for g in reversed(groups)]]
    chart.categoryAxis.categoryNames = [g.name[:14] for g in reversed(groups)]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#0b6e4f")
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    return drawing


def render_pdf(report: Report):
    """A4 PDF: title, region and period, headline figures, tables (headers repeated over pages),
    bar charts, the definitions and settings used, "第 N 页 / 共 M 页" and the time it was made.
    Chinese text in the embedded WQY Micro Hei font (FontMissingError when not installed)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as pdfcanvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_font()
    # 174 mm between the margins: a wide first column, 14 mm per figure, 17 for 取消/豁免.
    COMPLETION_WIDTHS = [45 * mm] + [14 * mm] * (len(PDF_COMPLETION) - 1) + [17 * mm]
    made_at = f"{report.generated_at:%Y-%m-%d %H:%M}"
    frame_width = A4[0] - 36 * mm - 12  # between the margins, less the frame's paddings
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=base, fontSize=8, leading=10)
    title_style = ParagraphStyle("title", parent=base, fontSize=15, leading=21, alignment=TA_CENTER,
                                 spaceAfter=4)
    sub_style = ParagraphStyle("sub", parent=base, alignment=TA_CENTER, textColor=colors.HexColor("#5f6b73"))
    h2 = ParagraphStyle("h2", parent=base, fontSize=11.5, leading=16, spaceBefore=10, spaceAfter=4)
    footer_text = _("生成时间：{t}").format(t=made_at)

    class NumberedCanvas(pdfcanvas.Canvas):
        """Defers each page until the total is known: "第 N 页 / 共 M 页"."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(font, 8)
                self.setFillColor(colors.HexColor("#5f6b73"))
                self.drawCentredString(A4[0] / 2, 10 * mm, f"第 {self._pageNumber} 页 / 共 {total} 页")
                self.drawString(18 * mm, 10 * mm, footer_text)
                self.drawRightString(A4[0] - 18 * mm, 10 * mm, report.period_label)
                super().showPage()
            super().save()

    def table(headers, rows, formats, widths=None):
        """A table whose header row (if any) repeats on every page it runs over."""
        data = [[Paragraph(markup(h), cell) for h in headers]] if headers else []
        data += [[_pdf_cell(v, f, cell) for v, f in zip(row, formats, strict=True)] for row in rows]
        if widths and sum(widths) > frame_width:  # inside the frame (its 6 pt paddings included)
            widths = [w * frame_width / sum(widths) for w in widths]
        t = Table(data, colWidths=widths, repeatRows=1 if headers else 0, hAlign="LEFT")
        style = [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#c9d1d6")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
        if headers:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f4")))
        first = 1 if headers else 0
        style += [("ALIGN", (i, first), (i, -1), "RIGHT") for i, f in enumerate(formats) if f in ("int", "rate")]
        t.setStyle(TableStyle(style))
        return t

    def group_table(groups, first_header):
        headers = [first_header] + [h for h, _a, _f in PDF_COMPLETION]
        formats = ["text"] + [f for _h, _a, f in PDF_COMPLETION]
        rows = [[g.name] + [a(g.total) for _h, a, _f in PDF_COMPLETION] for g in groups]
        return table(headers, rows, formats, COMPLETION_WIDTHS)

    story = [Paragraph(markup(report.title), title_style)]
    sub = _("地区：{region}　周期：{period}　统计截至：{as_of}").format(
        region=report.region_name, period=report.period_label, as_of=report.as_of.isoformat())
    if report.provider:
        sub += _("　医疗卫生机构：{p}").format(p=report.provider.name)
    story += [Paragraph(markup(sub), sub_style), Spacer(1, 6)]

    sg, full = report.signed_guidance, report.full_coverage
    total = report.total
    rate, done_rate = rate_text(sg["rate"]), rate_text(total.rate)
    ahead = _("（预计）") if report.projected else ""
    headline = [
        [_("签约指导率") + ahead, f"{rate}（{sg['numerator']} / {sg['denominator']}）",
         _("统计日"), report.coverage_day.isoformat()],
        [_("协议齐全率") + ahead, f"{rate_text(full['rate'])}（{full['numerator']} / {full['denominator']}）",
         _("其中补录"), str(total.backfilled)],
        [_("应签约对覆盖"), f"{report.coverage.totals.covered_pairs} / {report.coverage.totals.required_pairs}",
         _("服务完成率"), f"{done_rate}（{total.done} / {total.owed}）"],
    ]
    story += [Paragraph(_("主要指标"), h2), table(None, headline, ["text"] * 4, [32 * mm, 55 * mm, 28 * mm, 55 * mm])]

    kinds_headers = [_("服务类型")] + [h for h, _a, _f in PDF_COMPLETION]
    kinds_rows = [[kind_label(k)] + [a(report.completion[k]) for _h, a, _f in PDF_COMPLETION] for k in report.kinds]
    kinds_rows.append([_("合计")] + [a(total) for _h, a, _f in PDF_COMPLETION])
    story += [Paragraph(_("完成情况（按服务类型）"), h2),
              table(kinds_headers, kinds_rows, ["text"] + [f for _h, _a, f in PDF_COMPLETION],
                    COMPLETION_WIDTHS),
              Spacer(1, 8), _bar_chart(report, font)]

    if report.by_region:
        story += [Paragraph(markup(_("按区域（{level}）").format(level=report.sub_level_label)), h2),
                  group_table(report.by_region, _("区域")), Spacer(1, 6),
                  _rate_chart(report.by_region, _("各区域完成率（%）"), font)]
    if report.by_provider:
        story += [Paragraph(_("按医疗卫生机构"), h2), group_table(report.by_provider, _("医疗卫生机构"))]
    if report.by_centre:
        story += [Paragraph(_("按托育机构"), h2), group_table(report.by_centre, _("托育机构"))]
    story += [Paragraph(_("季度趋势（三项季度服务）"), h2),
              table([_("季度"), _("应完成"), _("已完成"), _("完成率")],
                    [[t.label, t.owed, t.done, t.rate] for t in report.trend], ["text", "int", "int", "rate"],
                    [40 * mm, 25 * mm, 25 * mm, 25 * mm])]
    # Every table within the 174 mm frame; an 18-character credit code on one line (30 mm at 8 pt).
    # The overdue list without the provider code, to fit A4 portrait.
    overdue_columns = [0, 1, 3, 4, 5, 6, 7]
    overdue_widths = [w * mm for w in (14, 27, 31, 31, 31, 20, 20)]
    section_widths = {"by_tier": [54 * mm, 30 * mm, 30 * mm, 30 * mm, 30 * mm],
                      "missing_pairs": [24 * mm, 22 * mm, 44 * mm, 31 * mm, 53 * mm],
                      "uncovered_centres": [40 * mm, 134 * mm]}
    for section in sections(report):
        if section.key not in ("by_tier", "missing_pairs", "uncovered_centres", "overdue"):
            continue
        story.append(Paragraph(markup(section.title if section.key == "by_tier"
                                      else f"{section.title}（{len(section.rows)}）"), h2))
        if not section.rows:
            story.append(Paragraph(_("无"), base))
        elif section.key == "overdue":
            story.append(table([section.headers[i] for i in overdue_columns],
                               [[row[i] for i in overdue_columns] for row in section.rows],
                               [section.formats[i] for i in overdue_columns], overdue_widths))
        else:
            story.append(table(section.headers, section.rows, section.formats, section_widths[section.key]))
    story.append(Paragraph(_("口径说明及参数"), h2))
    for term, text in definitions(report):
        story.append(Paragraph(f"<b>{markup(term)}</b>：{markup(text)}", base))
    story += [Spacer(1, 12), sign_off_block(report, table, mm)]

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=18 * mm, title=report.title, author="mch-link",
                            initialFontName=font)  # no stray, unembedded Helvetica
    doc.build(story, canvasmaker=NumberedCanvas)
    return buffer.getvalue()
