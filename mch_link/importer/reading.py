"""Reading files into Tables of raw cells: CSV (UTF-8, with or without a BOM, or GB18030) and
.xlsx workbooks. This layer knows the file and sheet names, nothing of the registry."""

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from .cells import cell_text
from .issues import ImportIssue, SourceError
from .spec import known_names, table_kind


@dataclass
class Table:
    """The raw cells of one CSV file or worksheet. `name` is what the user calls it
    ("centres.csv", or the sheet's name); `rows` are (row number, cells), blank rows left out."""

    kind: str
    name: str
    header: list
    rows: list[tuple[int, list]]




def _table(kind, name, rows):
    rows = list(rows)
    header = list(rows[0][1]) if rows else []
    data = [(number, list(cells)) for number, cells in rows[1:] if any(cell_text(c) for c in cells)]
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
            "无法根据文件名判断是哪张表，文件应命名为 %(names)s（.csv）") % {"names": known_names()})])
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
            "文件夹中没有可导入的文件（%(names)s，.csv）") % {"names": known_names()})])
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
            "names": known_names(), "titles": titles}
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

