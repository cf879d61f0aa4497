"""The registry import: regions, providers, centres and contracts from CSV files or a workbook.

Two steps, all or nothing (docs/import.md describes the format for the people who fill it in):

1. `read_path`, `read_folder`, `read_workbook`, `read_csv_upload` and `read_uploads` turn files
   into `Table`s of raw cells. They know the file and sheet names, nothing of the registry.
2. `registry_import(sources=tables)` checks every row of every table against the database and
   the other tables (regions -> providers -> centres -> contracts, so a later table may refer
   to codes an earlier one creates), collecting every problem as an `ImportIssue`. Only if
   there is none does it write everything, in one transaction.

Row numbers are the ones Excel shows: the header is row 1, the first data row is row 2.
Dates are calendar dates (Asia/Shanghai); "today" is timezone.localdate() unless passed in.
"""

import csv
import datetime
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from .audit import audit_change, snapshot
from .models import Centre, CentreGrade, Contract, Grade, Ownership, Provider, Region, Tier
from .signals import contract_changed
from .validators import parse_cn_phone, validate_uscc

# --------------------------------------------------------------------------- the format

TABLE_ORDER = ("regions", "providers", "centres", "contracts")

TABLE_LABELS = {
    "regions": gettext_lazy("行政区划"),
    "providers": gettext_lazy("医疗卫生机构"),
    "centres": gettext_lazy("托育机构"),
    "contracts": gettext_lazy("签约协议"),
}

# File stems and sheet names (compared case-insensitively) that name each table.
TABLE_NAMES = {
    "regions": ("regions", "区划", "行政区划"),
    "providers": ("providers", "医疗卫生机构"),
    "centres": ("centres", "centers", "托育机构"),
    "contracts": ("contracts", "签约协议"),
}


@dataclass(frozen=True)
class Column:
    """One column of a table: its canonical (English) header and the other headers accepted.
    `required` columns must be present in the header row; whether a cell may be empty is
    decided per column by the checks below."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    @property
    def headers(self):
        return (self.name, *self.aliases)


# Every alias here is listed in docs/import.md (a test checks it).
COLUMNS = {
    "regions": (
        Column("code", ("编码", "代码", "区划编码", "区划代码")),
        Column("name", ("名称", "区划名称")),
        Column("level", ("级别", "层级")),
        Column("parent_code", ("上级编码", "上级代码", "上级区划编码", "上级区划代码")),
        Column("valid_from", ("生效日期",), required=False),
        Column("valid_to", ("失效日期",), required=False),
        Column("successor_code", ("继任区划编码", "继任区划代码", "继任编码"), required=False),
    ),
    "providers": (
        Column("code", ("编码", "代码", "机构编码")),
        Column("name", ("名称", "机构名称")),
        Column("kind", ("类别", "机构类别")),
        Column("region_code", ("所在区划编码", "所在区划代码", "区划编码", "区划代码")),
        Column("phone", ("电话", "联系电话")),
        Column("doctors", ("儿保医生数", "儿童保健医生数", "医生数")),
        Column("address", ("地址",), required=False),
        Column("also_covers", ("另负责区划编码", "另负责街道乡镇编码", "另负责的街道/镇/乡"), required=False),
    ),
    "centres": (
        Column("code", ("统一社会信用代码", "编码", "代码")),
        Column("name", ("名称", "机构名称", "托育机构名称")),
        Column("region_code", ("所在区划编码", "所在区划代码", "区划编码", "区划代码")),
        Column("grade", ("等级",)),
        Column("ownership", ("举办性质",)),
        Column("places", ("托位数", "托位")),
        Column("phone", ("电话", "联系电话")),
        Column("filed_on", ("备案日期",)),
        Column("closed_on", ("注销日期",)),
        Column("address", ("地址",), required=False),
        Column("grade_awarded_on", ("等级评定日期", "评定日期"), required=False),
    ),
    "contracts": (
        Column("provider_code", ("机构编码", "医疗卫生机构编码")),
        Column("centre_code", ("center_code", "托育机构代码", "托育机构统一社会信用代码", "托育机构编码")),
        Column("signed_on", ("签约日期",)),
        Column("valid_from", ("生效日期",)),
        Column("valid_to", ("到期日期", "失效日期")),
    ),
}

LEVEL_VALUES = {
    "city": Region.Level.CITY, "市": Region.Level.CITY, "地级市": Region.Level.CITY,
    "county": Region.Level.COUNTY, "区/县": Region.Level.COUNTY, "区": Region.Level.COUNTY,
    "县": Region.Level.COUNTY, "县级市": Region.Level.COUNTY,
    "township": Region.Level.TOWNSHIP, "街道/镇/乡": Region.Level.TOWNSHIP,
    "街道": Region.Level.TOWNSHIP, "镇": Region.Level.TOWNSHIP, "乡": Region.Level.TOWNSHIP,
}
LEVEL_RANK = {Region.Level.CITY: 0, Region.Level.COUNTY: 1, Region.Level.TOWNSHIP: 2}

KIND_VALUES = {
    **{kind.value: kind for kind in Provider.Kind},
    **{str(kind.label): kind for kind in Provider.Kind},
    "市级妇幼": Provider.Kind.CITY_MCH,
    "县级妇幼": Provider.Kind.COUNTY_MCH,
    "区级妇幼保健机构": Provider.Kind.COUNTY_MCH,
}

# Grade cells that mean "no grade", besides an empty cell.
UNGRADED_VALUES = ("未评级", "无")

_DATE_PATTERNS = [
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
]
_INTEGER = re.compile(r"[+-]?\d+(\.0+)?")
# SQLite before 3.32 allows 999 parameters a query.
_CHUNK = 500


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ImportIssue:
    """One problem found in the input: where (file or sheet, row as Excel shows it, the
    column as headed in the file) and why, in words a clerk can act on."""

    sheet: str
    row: int | None
    column: str
    message: str

    def __str__(self):
        where = self.sheet
        if self.row is not None:
            where += _(" 第%(row)d行") % {"row": self.row}
        if self.column:
            where += f" {self.column}"
        return f"{where}：{self.message}"


class SourceError(Exception):
    """A file that cannot be read as a table at all (unknown name, corrupt workbook...)."""

    def __init__(self, issues):
        self.issues = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


@dataclass
class ImportResult:
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    # {table: {"created": n, "updated": n, "unchanged": n}}, in TABLE_ORDER.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def ok(self):
        return not self.errors

    @property
    def written(self):
        return self.ok and not self.dry_run

    def count_rows(self):
        """(table, label, created, updated, unchanged) for display."""
        return [(table, TABLE_LABELS[table], c["created"], c["updated"], c["unchanged"])
                for table, c in self.counts.items()]


# --------------------------------------------------------------------------- reading files


@dataclass
class Table:
    """The raw cells of one CSV file or worksheet. `name` is what the user calls it
    ("centres.csv", or the sheet's name); `rows` are (row number, cells), blank rows left out."""

    kind: str
    name: str
    header: list
    rows: list[tuple[int, list]]


def table_kind(name):
    """The table a file stem or sheet name stands for ("Centres", "托育机构" -> "centres"), or None."""
    wanted = (name or "").strip().lower()
    for kind, names in TABLE_NAMES.items():
        if wanted in names:
            return kind
    return None


def _known_names():
    return "、".join(names[0] for names in TABLE_NAMES.values())


def _table(kind, name, rows):
    rows = list(rows)
    header = list(rows[0][1]) if rows else []
    data = [(number, list(cells)) for number, cells in rows[1:] if any(_text(c) for c in cells)]
    return Table(kind=kind, name=name, header=header, rows=data)


def decode_csv(data, name):
    """CSV bytes as text: UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes), else
    GB18030, the superset of the GBK that Excel writes on Chinese Windows."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceError([ImportIssue(name, None, "", _("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV"))])


def _csv_table(kind, name, data):
    text = decode_csv(data, name)
    try:
        rows = list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    except csv.Error as exc:
        message = _("CSV 格式错误：%(error)s") % {"error": exc}
        raise SourceError([ImportIssue(name, None, "", message)]) from exc
    return _table(kind, name, rows)


def read_csv_upload(name, file):
    """One uploaded (or opened) CSV file; its name says which table it is."""
    kind = table_kind(Path(name).stem)
    if kind is None:
        raise SourceError([ImportIssue(name, None, "", _(
            "无法根据文件名判断是哪张表，文件应命名为 %(names)s（.csv）") % {"names": _known_names()})])
    return _csv_table(kind, name, file.read())


def read_folder(path):
    """The tables of a folder holding regions.csv, providers.csv, centres.csv and/or
    contracts.csv (each optional). Other files are ignored."""
    folder = Path(path)
    tables = [
        _csv_table(table_kind(p.stem), p.name, p.read_bytes())
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() == ".csv" and table_kind(p.stem)
    ]
    if not tables:
        raise SourceError([ImportIssue(str(folder), None, "", _(
            "文件夹中没有可导入的文件（%(names)s，.csv）") % {"names": _known_names()})])
    return tables


def read_workbook(file, name=None):
    """The tables of an .xlsx workbook (a path or a file object), one per sheet named
    regions, providers, centres or contracts. Other sheets are ignored."""
    name = name or Path(str(getattr(file, "name", file))).name
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        message = _("无法读取 Excel 工作簿（需为 .xlsx 格式）")
        raise SourceError([ImportIssue(name, None, "", message)]) from exc
    try:
        tables = [
            _table(table_kind(sheet.title), sheet.title,
                   enumerate(sheet.iter_rows(values_only=True), start=1))
            for sheet in workbook.worksheets
            if table_kind(sheet.title)
        ]
        titles = "、".join(sheet.title for sheet in workbook.worksheets)
    finally:
        workbook.close()
    if not tables:
        message = _("工作簿中没有名为 %(names)s 的工作表（现有：%(titles)s）") % {
            "names": _known_names(), "titles": titles}
        raise SourceError([ImportIssue(name, None, "", message)])
    return tables


def read_path(path):
    """What `manage.py import_registry PATH` reads: a folder of CSV files or one .xlsx file."""
    p = Path(path)
    if p.is_dir():
        return read_folder(p)
    if p.is_file() and p.suffix.lower() == ".xlsx":
        return read_workbook(p)
    raise SourceError([ImportIssue(str(p), None, "", _("应为存放 CSV 文件的文件夹，或一个 .xlsx 工作簿"))])


def read_uploads(files):
    """The tables of uploaded files (one .xlsx, or several .csv), reporting every unreadable one."""
    tables, issues = [], []
    for upload in files:
        try:
            if upload.name.lower().endswith(".xlsx"):
                tables.extend(read_workbook(upload, name=upload.name))
            else:
                tables.append(read_csv_upload(upload.name, upload))
        except SourceError as exc:
            issues.extend(exc.issues)
    if issues:
        raise SourceError(issues)
    return tables


# --------------------------------------------------------------------------- cells


def _text(value):
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


def _comparable(value):
    if value is None:
        return ""
    if hasattr(value, "as_e164"):
        return value.as_e164
    return value


def _assign(obj, values):
    """Set `values` on `obj`; True if it is new or any value differs. Foreign keys compare by
    primary key, so a reference to a row created by this import always counts as a change."""
    changed = obj.pk is None
    for name, value in values.items():
        model_field = obj._meta.get_field(name)
        if model_field.is_relation:
            current = getattr(obj, model_field.attname)
            new_id = value.pk if value is not None else None
            changed = changed or (value is not None and new_id is None) or current != new_id
        else:
            changed = changed or _comparable(getattr(obj, name)) != _comparable(value)
        setattr(obj, name, value)
    return changed


def _related(obj, name):
    """obj.<name>, or None where a row with errors left a required reference unset."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


def _by_code(queryset, codes, field_name="code"):
    codes = sorted({c for c in codes if c})
    found = {}
    for start in range(0, len(codes), _CHUNK):
        for obj in queryset.filter(**{f"{field_name}__in": codes[start:start + _CHUNK]}):
            found[getattr(obj, field_name)] = obj
    return found


def _codes(text):
    """Region codes listed in one cell: separated by ; ， 、 , or white space."""
    return [code for code in re.split(r"[;；,，、\s]+", text or "") if code]


class _Row:
    """One data row: reads cells by canonical column name and files problems against it."""

    def __init__(self, job, table, number, cells, index):
        self.job, self.table, self.number, self.cells, self.index = job, table, number, cells, index
        self.failed = False

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
        return _text(self.raw(name))

    def error(self, name, message):
        self.failed = True
        position = self.index[name][0] if name in self.index else len(self.cells)
        self.job.error(self.table.name, self.number, self.label(name), message,
                       order=(TABLE_ORDER.index(self.table.kind), self.number, position))

    def required(self, name, max_length=None):
        value = self.text(name)
        if not value:
            self.error(name, _("必填，不能为空"))
            return None
        return self.limited(name, value, max_length)

    def limited(self, name, value, max_length):
        if max_length and len(value) > max_length:
            self.error(name, _("不能超过%(max)d个字符（现为%(n)d个）") % {"max": max_length, "n": len(value)})
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

    def optional_text(self, values, name, max_length):
        """Columns that may be left out of the file: absent leaves the field as it is."""
        if self.present(name):
            values[name] = self.limited(name, self.text(name), max_length) or ""


# --------------------------------------------------------------------------- the import


def registry_import(*, sources, dry_run=False, user=None, within=None, today=None):
    """Check `sources` (Tables) and, if there is no error and not `dry_run`, write them all
    in one transaction. Returns an ImportResult; never raises for bad input.

    `within`: a Region (a city admin's city): every row must lie inside it, before and after
    the change. None (superusers, the command line) allows everything.
    `today`: the day a grade change without an award date takes effect; default
    timezone.localdate(). `user` is recorded in the audit trail of imported contracts.
    """
    job = _Import(today=today or timezone.localdate(), within=within)
    job.check(sources)
    errors = [issue for _order, issue in sorted(job.errors, key=lambda e: e[0])]
    result = ImportResult(errors=errors, warnings=job.warnings, counts=job.counts, dry_run=dry_run)
    if result.errors or dry_run:
        return result
    try:
        with transaction.atomic():
            job.write(user)
    except IntegrityError as exc:
        # Checked above, so only a concurrent change can get here; nothing was written.
        result.counts = {}
        message = _("写入数据库时出错，已全部撤销：%(error)s") % {"error": exc}
        result.errors.append(ImportIssue("", None, "", message))
    return result


def _missing(noun, code):
    return _("%(noun)s“%(code)s”不存在（数据库和本次导入中都没有）") % {"noun": noun, "code": code}


def _duplicate(noun, code, row):
    return _("%(noun)s“%(code)s”在本文件中重复（另见第%(row)d行）") % {"noun": noun, "code": code, "row": row}


def _level_label(level):
    return Region.Level(level).label if level else "?"


class _Import:
    """One run of the import: check() plans, write() saves the plan."""

    def __init__(self, *, today, within):
        self.today, self.within = today, within
        self.errors = []  # (order, ImportIssue): reported by table, row, then column
        self.warnings = []
        self.counts = {}
        # Code -> instance, loaded from the database or planned by this import: one instance
        # per code, so a later table sees an earlier table's changes.
        self.regions, self.providers, self.centres = {}, {}, {}
        self.region_writes, self.provider_writes, self.centre_writes = [], [], []
        self.successor_writes = []  # (region, successor): set once every region is saved
        self.grade_closures = []  # (CentreGrade, valid_until)
        self.grade_awards = []  # new CentreGrade rows
        self.contract_writes = []  # (contract, snapshot before or None)
        self.cover_writes = []  # (provider, [township regions]): its also_covers, set once it is saved

    # ----------------------------------------------------------------- plumbing

    def error(self, sheet, row, column, message, order=(-1,)):
        # Python's sort is stable: issues with the same order keep the order they were found in.
        self.errors.append((order, ImportIssue(sheet, row, column, message)))

    def _tally(self, kind, row, new, changed):
        """Count a row that passed; True if it has something to write."""
        if row.failed:
            return False
        status = "created" if new else ("updated" if changed else "unchanged")
        self.counts[kind][status] += 1
        return status != "unchanged"

    def _rows(self, table):
        """The table's rows, or None if its header is unusable (a required column missing)."""
        spec = COLUMNS[table.kind]
        order = (TABLE_ORDER.index(table.kind), 1)
        lookup = {header.lower(): column for column in spec for header in column.headers}
        index = {}  # column name -> (position, header as written)
        ok = True
        for position, cell in enumerate(table.header):
            header = _text(cell)
            if not header:
                continue
            column = lookup.get(header.lower())
            if column is None:
                self.warnings.append(ImportIssue(table.name, 1, header, _("无法识别的列，已忽略")))
            elif column.name in index:
                message = _("与“%(other)s”是同一列（%(name)s），只能保留一个")
                other = index[column.name][1]
                self.error(table.name, 1, header, message % {"other": other, "name": column.name},
                           order=(*order, position))
                ok = False
            else:
                index[column.name] = (position, header)
        for column in spec:
            if column.required and column.name not in index:
                message = _("缺少必填列“%(name)s”（也可用列名：%(aliases)s）")
                self.error(table.name, 1, column.name,
                           message % {"name": column.name, "aliases": "、".join(column.aliases)},
                           order=(*order, len(table.header)))
                ok = False
        if not ok:
            return None
        return [_Row(self, table, number, cells, index) for number, cells in table.rows]

    @staticmethod
    def _first_time(row, column, key, seen, noun, shown=None):
        """False (and an error) if `key` already occurred in this file."""
        if key in seen:
            row.error(column, _duplicate(noun, shown or key, seen[key]))
            return False
        seen[key] = row.number
        return True

    def _load_regions(self, codes):
        wanted = [c for c in codes if c and c not in self.regions]
        self.regions.update(_by_code(Region.objects.select_related("parent__parent"), wanted))

    def _region_ref(self, row, column):
        code = row.required(column)
        if code is None:
            return None
        region = self.regions.get(code)
        if region is None:
            row.error(column, _missing(_("区划编码"), code))
        return region

    def _in_scope(self, region):
        """Whether `region`, as this import leaves it, lies within `within`."""
        if self.within is None or region is None:
            return True
        for _depth in range(3):  # township, county, city
            if region is None:
                return False
            region = self.regions.get(region.code, region)
            if region.code == self.within.code:
                return True
            region = region.parent
        return False

    def _check_scope(self, row, column, *regions):
        if not all(self._in_scope(r) for r in regions):
            row.error(column, _("不在您管辖的%(region)s范围内") % {"region": self.within.name})

    # ----------------------------------------------------------------- tables

    def check(self, sources):
        tables = {}
        for table in sources:
            if table.kind in tables:
                message = _("与“%(other)s”是同一张表，每张表只能导入一份")
                self.error(table.name, None, "", message % {"other": tables[table.kind].name},
                           order=(TABLE_ORDER.index(table.kind), 0))
            else:
                tables[table.kind] = table
        for kind in TABLE_ORDER:
            if kind in tables:
                self.counts[kind] = {"created": 0, "updated": 0, "unchanged": 0}
                rows = self._rows(tables[kind])
                if rows is not None:
                    getattr(self, f"_check_{kind}")(rows)

    def _check_regions(self, rows):
        self._load_regions([r.text(c) for r in rows for c in ("code", "parent_code", "successor_code")])
        max_code = Region._meta.get_field("code").max_length
        max_name = Region._meta.get_field("name").max_length
        seen, planned = {}, []
        # First pass: every code of the file is known, with its new level, before parents and
        # successors are resolved (a parent may come after its children in the file).
        for row in rows:
            code = row.required("code", max_code)
            if code is None or not self._first_time(row, "code", code, seen, _("编码")):
                continue
            region = self.regions.get(code) or Region(code=code)
            self.regions[code] = region
            if region.pk:  # as it stands before this import
                self._check_scope(row, "code", region)
            values = {"name": row.required("name", max_name), "level": self._level(row)}
            level = values["level"]
            if level and region.pk and region.level != level and self._has_dependants(region):
                message = _("该区划已有下级区划或机构，不能把级别从%(old)s改为%(new)s")
                row.error("level", message % {"old": _level_label(region.level), "new": _level_label(level)})
            for column in ("valid_from", "valid_to"):
                if row.present(column):
                    values[column] = row.date(column)
            valid_from, valid_to = values.get("valid_from"), values.get("valid_to")
            if valid_from and valid_to and valid_from > valid_to:
                row.error("valid_to", _("失效日期不能早于生效日期"))
            new = region.pk is None
            if row.failed:  # keep what did parse, so that rows referring to this one make sense
                values = {k: v for k, v in values.items() if v is not None}
            planned.append((row, region, new, _assign(region, values)))
        for row, region, new, changed in planned:
            parent = self._parent(row, region)
            successor = self._successor(row, region)
            if row.failed:
                continue
            changed = _assign(region, {"parent": parent}) or changed
            self._check_scope(row, "code", region)
            if row.present("successor_code") and (
                (successor is not None and successor.pk is None)
                or region.successor_id != (successor.pk if successor else None)
            ):
                self.successor_writes.append((region, successor))
                changed = True
            if self._tally("regions", row, new, changed):
                self.region_writes.append(region)

    def _level(self, row):
        text = row.required("level")
        if text is None:
            return None
        level = LEVEL_VALUES.get(text.lower())
        if level is None:
            message = _("无法识别的级别“%(value)s”，"
                        "可选：city（市）、county（区/县）、township（街道/镇/乡）")
            row.error("level", message % {"value": text})
        return level

    @staticmethod
    def _has_dependants(region):
        return (Region.objects.filter(parent=region).exists() or region.providers.exists()
                or region.centres.exists())

    def _parent(self, row, region):
        code = row.text("parent_code")
        level = LEVEL_VALUES.get(row.text("level").lower())
        if level == Region.Level.CITY:
            if code:
                row.error("parent_code", _("市级区划不能有上级编码"))
            return None
        if not code:
            if level:
                row.error("parent_code", _("区/县和街道/镇/乡必须填写上级编码"))
            return None
        parent = self.regions.get(code)
        if parent is None:
            row.error("parent_code", _missing(_("上级编码"), code))
            return None
        expected = Region.PARENT_LEVEL.get(level)
        if expected and parent.level and parent.level != expected:
            message = _("%(level)s的上级应为%(expected)s，而“%(parent)s”是%(actual)s")
            row.error("parent_code", message % {
                "level": _level_label(level), "expected": _level_label(expected),
                "parent": parent.name, "actual": _level_label(parent.level)})
            return None
        return parent

    def _successor(self, row, region):
        code = row.text("successor_code")
        if not code:
            return None
        successor = self.regions.get(code)
        if successor is None:
            row.error("successor_code", _missing(_("继任区划编码"), code))
        elif successor is region:
            row.error("successor_code", _("继任区划不能是本区划"))
        elif region.level and successor.level != region.level:
            message = _("继任区划“%(name)s”的级别应与本区划相同")
            row.error("successor_code", message % {"name": successor.name})
        else:
            return successor
        return None

    def _check_providers(self, rows):
        self._load_regions([r.text("region_code") for r in rows]
                           + [code for r in rows for code in _codes(r.text("also_covers"))])
        existing = _by_code(Provider.objects.select_related("region__parent__parent"),
                            [r.text("code") for r in rows])
        covered = {}  # provider id -> codes of the townships it also covers now
        for provider_id, code in Provider.also_covers.through.objects.filter(
                provider__in=[p.pk for p in existing.values()]).values_list("provider_id", "region__code"):
            covered.setdefault(provider_id, set()).add(code)
        meta = Provider._meta
        seen = {}
        for row in rows:
            code = row.required("code", meta.get_field("code").max_length)
            if code is None or not self._first_time(row, "code", code, seen, _("编码")):
                continue
            provider = existing.get(code) or Provider(code=code)
            self.providers[code] = provider
            new = provider.pk is None
            old_region = None if new else provider.region
            name = row.required("name", meta.get_field("name").max_length)
            kind = self._kind(row)
            region = self._region_ref(row, "region_code")
            expected = Provider.REGION_LEVEL_BY_KIND.get(kind)
            if expected and region and region.level and region.level != expected:
                message = _("%(kind)s的所在区划应为%(expected)s，而“%(region)s”是%(actual)s")
                row.error("region_code", message % {
                    "kind": Provider.Kind(kind).label, "expected": _level_label(expected),
                    "region": region.name, "actual": _level_label(region.level)})
            phone, ext = row.phone("phone")
            values = {"name": name, "kind": kind, "region": region, "phone": phone or "", "phone_ext": ext,
                      "doctors": row.count("doctors", 32767)}
            row.optional_text(values, "address", meta.get_field("address").max_length)
            if region:
                self._check_scope(row, "region_code", old_region, region)
            covers = self._also_covers(row, kind, region) if row.present("also_covers") else None
            if row.failed:
                continue
            covers_changed = covers is not None and {r.code for r in covers} != covered.get(provider.pk, set())
            if self._tally("providers", row, new, _assign(provider, values) | covers_changed):
                self.provider_writes.append(provider)
                if covers_changed:
                    self.cover_writes.append((provider, covers))

    def _also_covers(self, row, kind, region):
        """The townships a grassroots provider covers besides its own, from the also_covers
        column: codes separated by ; 、 , or spaces; empty clears them. Each must be a
        township within the importer's region; only 社区卫生服务中心 and 乡镇卫生院 have them."""
        codes = _codes(row.text("also_covers"))
        if codes and kind and Provider.TIER_BY_KIND.get(kind) != Tier.GRASSROOTS:
            row.error("also_covers", _("只有社区卫生服务中心、乡镇卫生院可另负责街道/镇/乡"))
            return []
        townships = []
        for code in dict.fromkeys(codes):  # in order, once each
            township = self.regions.get(code)
            if township is None:
                row.error("also_covers", _missing(_("区划编码"), code))
            elif township.level and township.level != Region.Level.TOWNSHIP:
                row.error("also_covers", _("“%(name)s”（%(code)s）不是街道/镇/乡") % {
                    "name": township.name, "code": code})
            elif region is not None and township.code == region.code:
                row.error("also_covers", _("“%(name)s”已是本机构的所在区划") % {"name": township.name})
            else:
                self._check_scope(row, "also_covers", township)
                townships.append(township)
        return townships

    def _kind(self, row):
        text = row.required("kind")
        if text is None:
            return None
        kind = KIND_VALUES.get(text) or KIND_VALUES.get(text.lower())
        if kind is None:
            choices = "、".join(f"{k.value}（{k.label}）" for k in Provider.Kind)
            message = _("无法识别的机构类别“%(value)s”，可选：%(choices)s")
            row.error("kind", message % {"value": text, "choices": choices})
        return kind

    def _check_centres(self, rows):
        self._load_regions([r.text("region_code") for r in rows])
        existing = _by_code(Centre.objects.select_related("township__parent__parent"),
                            [r.text("code").upper() for r in rows])
        grade_state = self._grade_state([c.pk for c in existing.values()])
        grades = {g.name: g for g in Grade.objects.all()}
        ownerships = {o.name: o for o in Ownership.objects.all()}
        meta = Centre._meta
        seen = {}
        for row in rows:
            code = (row.required("code") or "").upper()
            if not code:
                continue
            try:
                validate_uscc(code)
            except ValidationError as exc:
                row.error("code", "；".join(exc.messages))
                continue
            if not self._first_time(row, "code", code, seen, _("统一社会信用代码")):
                continue
            centre = existing.get(code) or Centre(code=code)
            self.centres[code] = centre
            new = centre.pk is None
            old_township = None if new else centre.township
            township = self._region_ref(row, "region_code")
            if township and township.level and township.level != Region.Level.TOWNSHIP:
                message = _("托育机构的所在区划必须是街道/镇/乡，而“%(name)s”是%(level)s")
                level = _level_label(township.level)
                row.error("region_code", message % {"name": township.name, "level": level})
            grade = self._grade(row, grades)
            filed_on = row.date("filed_on", required=True)
            closed_on = row.date("closed_on")
            if filed_on and closed_on and closed_on < filed_on:
                message = _("注销日期（%(closed)s）不能早于备案日期（%(filed)s）")
                row.error("closed_on", message % {"closed": closed_on, "filed": filed_on})
            awarded_on = row.date("grade_awarded_on")
            if awarded_on and grade is None and row.text("grade") not in ("", *UNGRADED_VALUES):
                pass  # the grade itself is wrong, and said so
            elif awarded_on and grade is None:
                row.error("grade_awarded_on", _("填写了等级评定日期，但等级为空"))
            phone, ext = row.phone("phone")
            values = {
                "name": row.required("name", meta.get_field("name").max_length),
                "township": township, "ownership": self._ownership(row, ownerships),
                "places": row.count("places", 2147483647), "phone": phone or "", "phone_ext": ext,
                "filed_on": filed_on, "closed_on": closed_on,
            }
            row.optional_text(values, "address", meta.get_field("address").max_length)
            if township:
                self._check_scope(row, "region_code", old_township, township)
            if row.failed:
                continue
            changed = _assign(centre, values)
            changed = self._plan_grade(row, centre, grade, awarded_on, grade_state.get(centre.pk)) or changed
            if self._tally("centres", row, new, changed):
                self.centre_writes.append(centre)

    def _grade(self, row, grades):
        text = row.text("grade")
        if not text or text in UNGRADED_VALUES:
            return None
        grade = grades.get(text)
        if grade is None:
            message = _("无法识别的等级“%(value)s”，可选：%(choices)s，或留空")
            row.error("grade", message % {"value": text, "choices": "、".join(grades)})
        return grade

    def _ownership(self, row, ownerships):
        text = row.text("ownership")
        if not text:
            return None
        ownership = ownerships.get(text)
        if ownership is None:
            message = _("无法识别的举办性质“%(value)s”，可选：%(choices)s")
            row.error("ownership", message % {"value": text, "choices": "、".join(ownerships)})
        return ownership

    @staticmethod
    def _grade_state(centre_ids):
        """centre id -> (current CentreGrade or None, latest awarded_on of any of its grades).
        The current grade is the open one (valid_until null) awarded last."""
        state = {}
        for start in range(0, len(centre_ids), _CHUNK):
            held_rows = (CentreGrade.objects.filter(centre__in=centre_ids[start:start + _CHUNK])
                         .select_related("grade").order_by("awarded_on", "grade__rank"))
            for held in held_rows:
                current, _latest = state.get(held.centre_id, (None, None))
                if held.valid_until is None:
                    current = held
                state[held.centre_id] = (current, held.awarded_on)
        return state

    def _plan_grade(self, row, centre, grade, awarded_on, state):
        """Plan the change to the centre's grade history the row asks for; True if any.

        A new grade is awarded on grade_awarded_on, else today (a new centre's first grade:
        else its filed_on), and closes the current grade the day before. An empty grade
        closes the current one with valid_until = today: it still holds today, not tomorrow.
        The same grade again changes nothing.
        """
        if centre.pk is None:
            if grade:
                award = CentreGrade(centre=centre, grade=grade, awarded_on=awarded_on or centre.filed_on)
                self.grade_awards.append(award)
            return grade is not None
        current, latest = state or (None, None)
        if grade is None:
            if current is None:
                return False
            if current.awarded_on > self.today:
                message = _("当前等级“%(grade)s”的评定日期（%(day)s）在今天之后，不能取消")
                row.error("grade", message % {"grade": current.grade.name, "day": current.awarded_on})
                return False
            self.grade_closures.append((current, self.today))
            return True
        if current is not None and current.grade_id == grade.pk:
            return False
        day = awarded_on or self.today
        if latest and day <= latest:
            message = _("新等级的评定日期（%(day)s）须晚于该机构上一次评定日期（%(latest)s）")
            column = "grade_awarded_on" if row.present("grade_awarded_on") else "grade"
            row.error(column, message % {"day": day, "latest": latest})
            return False
        if current is not None:
            self.grade_closures.append((current, day - datetime.timedelta(days=1)))
        self.grade_awards.append(CentreGrade(centre=centre, grade=grade, awarded_on=day))
        return True

    def _check_contracts(self, rows):
        wanted = [r.text("provider_code") for r in rows]
        self.providers.update(_by_code(Provider.objects.select_related("region__parent__parent"),
                                       [c for c in wanted if c not in self.providers]))
        wanted = [r.text("centre_code").upper() for r in rows]
        self.centres.update(_by_code(Centre.objects.select_related("township__parent__parent"),
                                     [c for c in wanted if c not in self.centres]))
        existing = self._existing_contracts()
        seen, planned = {}, []
        for row in rows:
            provider = self._ref(row, "provider_code", self.providers, _("机构编码"))
            centre = self._ref(row, "centre_code", self.centres, _("托育机构代码"), upper=True)
            signed_on = row.date("signed_on")
            valid_from = row.date("valid_from", required=True)
            valid_to = row.date("valid_to", required=True)
            if valid_from and valid_to and valid_from > valid_to:
                row.error("valid_to", _("到期日期不能早于生效日期"))
            if provider is None or centre is None or valid_from is None:
                continue
            key = (provider.code, centre.code, valid_from)
            noun = _("同一医疗卫生机构与托育机构、同一生效日期的协议")
            if not self._first_time(row, "valid_from", key, seen, noun, shown=str(valid_from)):
                continue
            self._check_scope(row, "centre_code", _related(provider, "region"), _related(centre, "township"))
            contract = existing.get((provider.pk, centre.pk, valid_from))
            status = Contract.Status.SIGNED if signed_on else Contract.Status.DRAFT
            if contract is not None and contract.status == Contract.Status.TERMINATED:
                # Termination is done on the contract page, with a reason; the import leaves it.
                if (contract.signed_on, contract.valid_to) != (signed_on, valid_to):
                    row.error("valid_from", _("该协议已终止，不能通过导入修改"))
                self._tally("contracts", row, False, False)
                continue
            if contract is not None and contract.status == Contract.Status.SIGNED and not signed_on:
                row.error("signed_on", _("该协议已签约，签约日期不能清空"))
            if row.failed:
                continue
            before = snapshot(contract) if contract else None
            contract = contract or Contract(provider=provider, centre=centre, valid_from=valid_from)
            changed = _assign(contract, {"status": status, "signed_on": signed_on, "valid_to": valid_to})
            planned.append((row, contract, provider, centre))
            if self._tally("contracts", row, contract.pk is None, changed):
                self.contract_writes.append((contract, before))
        self._check_overlaps(planned, existing)

    @staticmethod
    def _ref(row, column, known, noun, upper=False):
        code = row.required(column)
        if code is None:
            return None
        code = code.upper() if upper else code
        obj = known.get(code)
        if obj is None:
            row.error(column, _missing(noun, code))
        return obj

    def _existing_contracts(self):
        """(provider id, centre id, valid_from) -> Contract, for the saved pairs in play."""
        provider_ids = {p.pk for p in self.providers.values() if p.pk}
        centre_ids = sorted({c.pk for c in self.centres.values() if c.pk})
        found = {}
        for start in range(0, len(centre_ids), _CHUNK):
            for contract in Contract.objects.filter(centre__in=centre_ids[start:start + _CHUNK]):
                if contract.provider_id in provider_ids:
                    found[(contract.provider_id, contract.centre_id, contract.valid_from)] = contract
        return found

    @staticmethod
    def _check_overlaps(planned, existing):
        """A signed contract may not overlap another signed one of the same pair: neither one
        elsewhere in the file nor one saved that the file does not rewrite. One query for each
        signed row of a pair with saved contracts that the file does not rewrite."""
        by_pair = defaultdict(list)
        for row, contract, provider, centre in planned:
            by_pair[(provider.code, centre.code)].append((row, contract, provider, centre))
        saved = defaultdict(set)  # (provider id, centre id) -> valid_from of its saved contracts
        for provider_id, centre_id, day in existing:
            saved[(provider_id, centre_id)].add(day)
        for entries in by_pair.values():
            signed = [(r, c) for r, c, _p, _c in entries if c.status == Contract.Status.SIGNED]
            for i, (row, contract) in enumerate(signed):
                for other_row, other in signed[:i]:
                    if contract.valid_from <= other.valid_to and other.valid_from <= contract.valid_to:
                        message = _("与第%(row)d行的签约协议（%(start)s 至 %(end)s）时间重叠")
                        row.error("valid_from", message % {
                            "row": other_row.number, "start": other.valid_from, "end": other.valid_to})
            _row, _contract, provider, centre = entries[0]
            rewritten = [c.valid_from for _r, c, _p, _c in entries]
            if not saved.get((provider.pk, centre.pk), set()) - set(rewritten):
                continue  # every saved contract of the pair is in the file, checked above
            for row, contract in signed:
                clashes = (
                    Contract.objects.filter(provider=provider, centre=centre)
                    .overlapping(contract.valid_from, contract.valid_to)
                    .exclude(pk=contract.pk)
                    .exclude(valid_from__in=rewritten)  # their new dates are in `signed`, checked above
                )
                for clash in clashes:
                    message = _("与已有的签约协议（%(start)s 至 %(end)s）时间重叠")
                    row.error("valid_from", message % {"start": clash.valid_from, "end": clash.valid_to})

    # ----------------------------------------------------------------- writing

    def write(self, user):
        """Save what check() planned, parents before children. Call inside transaction.atomic()."""
        for region in sorted(self.region_writes, key=lambda r: LEVEL_RANK[r.level]):
            region.save()
        for region, successor in self.successor_writes:
            region.successor = successor
            region.save(update_fields=["successor"])
        for obj in (*self.provider_writes, *self.centre_writes):
            obj.save()
        for provider, townships in self.cover_writes:
            provider.also_covers.set(townships)
        for held, valid_until in self.grade_closures:
            held.valid_until = valid_until
            held.save(update_fields=["valid_until"])
        for award in self.grade_awards:
            award.save()
        # Updates before inserts: a contract moved out of the way frees its time before the
        # database's overlap trigger sees the new one.
        for contract, before in sorted(self.contract_writes, key=lambda w: w[0].pk is None):
            contract.save()
            audit_change(contract, user=user, action="import", before=before, reason=_("登记数据导入"))
        ids = [c.pk for c, _before in self.contract_writes]
        if ids:
            transaction.on_commit(lambda: contract_changed.send(sender=Contract, contract_ids=ids))
