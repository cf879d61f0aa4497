"""Cell parsing: text, dates, whole numbers, phone numbers and code lists out of raw cells, and
`Row`, which reads one data row by canonical column name and files problems against it.

What is unambiguous is normalised here, once per kind of cell, and reported as a note:
full-width characters in coded cells, Excel date serials and YYYYMMDD. What is not is refused
with how to fix it (a credit code that Excel stored as a number has lost its last digits)."""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ..validators import parse_cn_phone
from .spec import TABLE_ORDER, fold_width

_DATE_PATTERNS = [
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
]
_INTEGER = re.compile(r"[+-]?\d+(\.0+)?")
_YYYYMMDD = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"\d{5}")
# Excel's day 0 (its serials count from 1900-01-01 = 1, with the 1900 leap-day bug).
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
# Serials of 1927-05-18 (10000) to 2173-10-14 (99999): five digits, never a plausible count.
_SERIALS = range(10000, 100000)
# A number written the way Excel shows a long number cell: 9.13306E+17.
_SCIENTIFIC = re.compile(r"\d(\.\d+)?e\+\d+", re.IGNORECASE)
# C0 control characters other than tab, line feed and carriage return, and DEL.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def cell_text(value):
    """A cell as stripped text. Workbook numbers lose a ".0" (a code typed as 330602 is read
    as the number 330602.0 by some writers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def parse_date(value):
    """A date from a workbook date cell or text in one of the accepted formats, else None."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str):
        return None
    text = fold_width(value).strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return datetime.date(*(int(part) for part in match.groups()))
            except ValueError:
                return None
    return None


def number_date(raw, text):
    """(date, how) for a date written as a number: an Excel serial (45352, a date cell that lost
    its format, or the same number in a CSV) or YYYYMMDD (20240301); (None, None) otherwise."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None, None
    if isinstance(raw, float) and not raw.is_integer():
        return None, None
    digits = text.split(".")[0] if isinstance(raw, float) else text
    match = _YYYYMMDD.fullmatch(digits)
    if match:
        try:
            return datetime.date(*(int(part) for part in match.groups())), "YYYYMMDD"
        except ValueError:
            return None, None
    if _SERIAL.fullmatch(digits) and int(digits) in _SERIALS:
        return _EXCEL_EPOCH + datetime.timedelta(days=int(digits)), _("Excel 日期序列号")
    return None, None


def code_list(text):
    """Region codes listed in one cell: separated by ; ， 、 , or white space."""
    return [code for code in re.split(r"[;；,，、\s]+", text or "") if code]


class Row:
    """One data row: reads cells by canonical column name and files problems against it.
    Lengths, ranges and cross-field rules are the models' (Job.validate); a Row only turns
    cells into values."""

    def __init__(self, job, table, number, cells, index):
        self.job, self.table, self.number, self.cells, self.index = job, table, number, cells, index
        self.failed_columns = set()
        self.noted = set()

    @property
    def failed(self):
        return bool(self.failed_columns)

    def present(self, name):
        return name in self.index

    def label(self, name):
        """The column as the user headed it ("统一社会信用代码" or "code")."""
        return self.index[name][1] if name in self.index else name

    def raw(self, name):
        if name not in self.index:
            return None
        position = self.index[name][0]
        return self.cells[position] if position < len(self.cells) else None

    def text(self, name):
        """The cell as stripped text; in a coded column (not free text) full-width characters
        are folded to half-width, with a note."""
        text = cell_text(self.raw(name))
        column = self.index.get(name)
        if column and not column[2] and text and not text.isascii():
            folded = fold_width(text)
            if folded != text:
                self.note(name, _("全角字符已按半角读取：“%(value)s”→“%(folded)s”")
                          % {"value": text, "folded": folded})
                return folded
        return text

    def note(self, name, message):
        """A normalisation made, reported once per cell (not an error)."""
        key = (name, message)
        if key not in self.noted:
            self.noted.add(key)
            self.job.note(self.table.name, self.number, self.label(name), message)

    def error(self, name, message):
        self.failed_columns.add(name)
        position = self.index[name][0] if name in self.index else len(self.cells)
        self.job.error(self.table.name, self.number, self.label(name), message,
                       order=(TABLE_ORDER.index(self.table.kind), self.number, position))

    def required(self, name):
        value = self.text(name)
        if not value:
            self.error(name, _("必填，不能为空"))
            return None
        return value

    def date(self, name, required=False):
        raw, text = self.raw(name), self.text(name)
        if not text:
            if required:
                self.error(name, _("必填，不能为空"))
            return None
        day = parse_date(raw)
        if day is None:
            day, how = number_date(raw, text)
            if day is not None:
                self.note(name, _("“%(value)s”按%(how)s读作日期 %(day)s") % {
                    "value": text, "how": how, "day": day})
        if day is None:
            self.error(name, _("日期无法识别：“%(value)s”（可写作 2024-01-31、2024/1/31、2024.1.31、"
                               "2024年1月31日或 20240131）") % {"value": text})
        return day

    def credit_code(self, name):
        """A unified social credit code, in capitals; None (and an error) if empty, or if Excel
        stored it as a number and so kept only its first 15 digits."""
        raw = self.raw(name)
        code = self.required(name)
        if code is None:
            return None
        numeric = isinstance(raw, int | float) and not isinstance(raw, bool)
        if (numeric and len(code) >= 15) or _SCIENTIFIC.fullmatch(code):
            self.error(name, _("该单元格被 Excel 存为数字，末尾数字已丢失：请把此列设为文本后重新输入"))
            return None
        return code.upper()

    def count(self, name, maximum):
        """A whole number >= 0 (places, doctors)."""
        raw, text = self.raw(name), self.text(name)
        if not text:
            self.error(name, _("必填，不能为空"))
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, float) and raw.is_integer():
            value = int(raw)
        elif isinstance(raw, str) and _INTEGER.fullmatch(text):
            value = int(text.split(".")[0])
        else:
            self.error(name, _("应为整数，实际为“%(value)s”") % {"value": text})
            return None
        if value < 0:
            self.error(name, _("不能为负数，实际为%(value)d") % {"value": value})
            return None
        if value > maximum:
            self.error(name, _("数值过大（最大%(max)d）") % {"max": maximum})
            return None
        return value

    def phone(self, name):
        try:
            return parse_cn_phone(self.text(name))
        except ValidationError as exc:
            self.error(name, "；".join(exc.messages))
            return None, ""

    def optional_text(self, values, name):
        """Columns that may be left out of the file: absent leaves the field as it is."""
        if self.present(name):
            values[name] = self.text(name)

