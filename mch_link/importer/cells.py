"""Cell parsing: text, dates, whole numbers, phone numbers and code lists out of raw cells, and
`Row`, which reads one data row by canonical column name and files problems against it."""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ..validators import parse_cn_phone
from .spec import TABLE_ORDER

_DATE_PATTERNS = [
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
]
_INTEGER = re.compile(r"[+-]?\d+(\.0+)?")


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
    text = value.strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return datetime.date(*(int(part) for part in match.groups()))
            except ValueError:
                return None
    return None



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
        return cell_text(self.raw(name))

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
            self.error(name, _("日期无法识别：“%(value)s”（可写作 2024-01-31、2024/1/31、2024.1.31 或 "
                               "2024年1月31日）") % {"value": text})
        return day

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

