"""The downloadable XLSX template (docs/import.md): one sheet per table with Chinese headers,
code columns formatted as text (so Excel keeps all 18 characters of a credit code), and
drop-down lists for grade, ownership and township read from a hidden 选项 sheet."""

import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..models import Grade, Ownership
from .spec import COLUMNS, TABLE_LABELS, TABLE_ORDER, UNGRADED_VALUES

# Rows formatted and validated below the header.
ROWS = 1000
# Columns holding codes: text cells, never numbers.
CODE_COLUMNS = {"code", "parent_code", "successor_code", "region_code", "also_covers", "provider_code",
                "centre_code"}
DATE_COLUMNS = {"valid_from", "valid_to", "filed_on", "closed_on", "grade_awarded_on", "signed_on"}


# Where the first Chinese header is not the clearest for the template.
TEMPLATE_HEADERS = {"region_code": "所在街道/镇/乡"}


def chinese_header(column, kind="centres"):
    """The column's header in the template: its first Chinese header ("统一社会信用代码")."""
    if kind == "centres" and column.name in TEMPLATE_HEADERS:
        return TEMPLATE_HEADERS[column.name]
    return next((h for h in column.aliases if not h.isascii()), column.name)


def township_choice(township):
    """How a township is offered in the list: county name + its name, which the importer reads."""
    return f"{township.parent.name}{township.name}" if township.parent_id else township.name


def template_workbook(townships):
    """The template as XLSX bytes; `townships` (with their parents) fill the township list."""
    workbook = Workbook()
    guide = workbook.active
    guide.title = _("说明")
    for line in (
        _("填写说明"),
        _("每张工作表对应一张表；表头（第1行）请勿修改。不需要的工作表可删除。"),
        _("代码列已设为文本格式，请直接输入或粘贴为“值”，不要让 Excel 转成数字。"),
        _("日期可写作 2024-01-31，或使用日期单元格。"),
        _("等级、举办性质和所在街道/镇/乡可从下拉列表中选择。"),
        _("说明、选项两张工作表导入时会被跳过。详见 docs/import.md。"),
    ):
        guide.append([line])
    guide["A1"].font = Font(bold=True)
    guide.column_dimensions["A"].width = 80

    options = workbook.create_sheet(_("选项"))
    lists = {
        "grade": [*UNGRADED_VALUES[:1], *Grade.objects.order_by("rank").values_list("name", flat=True)],
        "ownership": list(Ownership.objects.values_list("name", flat=True)),
        "region_code": [township_choice(t) for t in townships.order_by("code")],
    }
    ranges = {}
    for position, (name, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(position)
        options.cell(row=1, column=position, value=chinese_header(_column("centres", name)))
        for row, value in enumerate(values, start=2):
            options.cell(row=row, column=position, value=value).number_format = "@"
        ranges[name] = f"'{options.title}'!${letter}$2:${letter}${max(len(values), 1) + 1}"
    options.sheet_state = "hidden"

    for kind in TABLE_ORDER:
        sheet = workbook.create_sheet(str(TABLE_LABELS[kind]))
        for position, column in enumerate(COLUMNS[kind], start=1):
            letter = get_column_letter(position)
            cell = sheet.cell(row=1, column=position, value=chinese_header(column, kind))
            cell.font = Font(bold=True)
            sheet.column_dimensions[letter].width = max(12, 2 * len(cell.value) + 2)
            number_format = "@" if column.name in CODE_COLUMNS else (
                "yyyy-mm-dd" if column.name in DATE_COLUMNS else None)
            if number_format:
                for row in range(2, ROWS + 2):
                    sheet.cell(row=row, column=position).number_format = number_format
            if kind == "centres" and column.name in ranges:
                check = DataValidation(type="list", formula1=ranges[column.name], allow_blank=True,
                                       showErrorMessage=column.name != "region_code")
                check.error = _("请从下拉列表中选择")
                sheet.add_data_validation(check)
                check.add(f"{letter}2:{letter}{ROWS + 1}")
        sheet.freeze_panes = "A2"
    workbook.active = workbook.sheetnames.index(str(TABLE_LABELS["centres"]))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _column(kind, name):
    return next(c for c in COLUMNS[kind] if c.name == name)
