"""Reading files into Tables of raw cells: CSV (UTF-8, with or without a BOM, or GB18030) and
.xlsx workbooks. This layer knows the file and sheet names, nothing of the registry.

Limits are checked before anything is parsed (settings, docs/import.md): the file's size
(MAX_UPLOAD_BYTES), a workbook's uncompressed size (IMPORT_MAX_UNCOMPRESSED_BYTES, read from
the zip directory, so a zip bomb is refused at once) and the rows of each table
(IMPORT_MAX_ROWS, counted while reading, which stops at the limit)."""

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from .cells import cell_text
from .issues import ImportIssue, SourceError
from .spec import TABLE_NAMES, known_names, table_guess, table_kind, table_title

# The first bytes of an old Excel (.xls, OLE2) file and of any zip (an .xlsx).
_OLE2 = b"\xd0\xcf\x11\xe0"
_ZIP = b"PK\x03\x04"
UNREADABLE_WORKBOOK = gettext_lazy("无法读取 Excel 工作簿（需为 .xlsx 格式）")
XLS_MESSAGE = gettext_lazy("这是旧版 Excel（.xls）文件，无法导入：请在 Excel 中另存为 .xlsx")


@dataclass
class Table:
    """The raw cells of one CSV file or worksheet. `name` is what the user calls it
    ("centres.csv", or the sheet's name); `rows` are (row number, cells), blank rows left out,
    the header among them (the importer finds it: it may follow a title)."""

    kind: str
    name: str
    rows: list[tuple[int, list]]


class Sources(list):
    """The Tables read, with `notes`: what was skipped (a 说明 sheet, a file of another name)."""

    def __init__(self, tables=(), notes=()):
        super().__init__(tables)
        self.notes = list(notes)


def _fail(name, message):
    raise SourceError([ImportIssue(name, None, "", message)])


def _table(kind, name, rows):
    limit = settings.IMPORT_MAX_ROWS
    data = []
    for number, cells in rows:
        if number > 2 * limit + 1000:  # blank (formatted) rows cost time too
            _fail(name, _("行数过多（含空行超过 %(n)d 行），请删除多余的空行后重试") % {"n": 2 * limit + 1000})
        if any(cell_text(c) for c in cells):
            data.append((number, list(cells)))
            if len(data) > limit + 1:  # the header and `limit` data rows
                _fail(name, _("超过 %(limit)d 行的上限，请分成几个文件导入") % {"limit": limit})
    return Table(kind=kind, name=name, rows=data)


def decode_csv(data, name):
    """CSV bytes as text: UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes), else
    GB18030, the superset of the GBK that Excel writes on Chinese Windows."""
    if data.startswith(_OLE2):
        _fail(name, str(XLS_MESSAGE))
    if data.startswith(_ZIP):
        _fail(name, _("这是 Excel 工作簿（.xlsx），不是 CSV：请把文件扩展名改为 .xlsx"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    _fail(name, _("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV"))


def size_problem(name, size):
    """Why a file of `size` bytes is refused (over MAX_UPLOAD_BYTES), or None."""
    limit = settings.MAX_UPLOAD_BYTES
    if size <= limit:
        return None
    return _("文件“%(name)s”大小为 %(size)s，超过上限 %(limit)s") % {
        "name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)}


def _check_size(name, size):
    problem = size_problem(name, size)
    if problem:
        _fail(name, problem)


def _csv_table(kind, name, data):
    _check_size(name, len(data))
    text = decode_csv(data, name)
    try:
        rows = enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
        return _table(kind, name, rows)
    except csv.Error as exc:
        _fail(name, _("CSV 格式错误：%(error)s") % {"error": exc})


def unknown_name(name, what, suffix="", skipped=True):
    """Why a file or sheet (`what`: 文件名, 工作表名) of this name is not imported, what it
    could be called, and whether it was skipped."""
    guess = table_guess(Path(name).stem)
    hint = _("；看起来是%(table)s，请改名为 %(names)s") % {
        "table": table_title(guess), "names": "、".join(n + suffix for n in TABLE_NAMES[guess])} if guess else ""
    message = _("无法根据%(what)s判断是哪张表，已跳过") if skipped else _("无法根据%(what)s判断是哪张表")
    return (message % {"what": what}) + hint + _("。可用的名称：%(names)s") % {"names": known_names()}


def read_csv_upload(name, file):
    """One uploaded (or opened) CSV file; its name says which table it is."""
    kind = table_kind(Path(name).stem)
    data = file.read()
    if kind is None:
        if data.startswith(_OLE2) or Path(name).suffix.lower() == ".xls":
            _fail(name, str(XLS_MESSAGE))
        _fail(name, unknown_name(name, _("文件名"), ".csv", skipped=False))
    return _csv_table(kind, name, data)


def read_folder(path):
    """The tables of a folder holding regions.csv, providers.csv, centres.csv and/or
    contracts.csv (each optional). Other files are skipped, with a note each."""
    folder = Path(path)
    tables, notes = [], []
    for p in sorted(folder.iterdir()):
        if not p.is_file():
            continue
        if p.suffix.lower() == ".csv" and table_kind(p.stem):
            tables.append(_csv_table(table_kind(p.stem), p.name, p.read_bytes()))
        else:
            notes.append(ImportIssue(p.name, None, "", unknown_name(p.name, _("文件名"), ".csv")))
    if not tables:
        _fail(str(folder), _("文件夹中没有可导入的 .csv 文件。可导入的名称：%(names)s") % {"names": known_names()})
    return Sources(tables, notes)


def check_workbook(file, name):
    """Refuse a workbook too large once uncompressed (a zip bomb), from the zip's directory:
    nothing is decompressed. `file` is a path or a seekable file object."""
    limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    try:
        with zipfile.ZipFile(file) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SourceError([ImportIssue(name, None, "", str(UNREADABLE_WORKBOOK))]) from exc
    finally:
        if hasattr(file, "seek"):
            file.seek(0)
    if size > limit:
        _fail(name, _("工作簿解压后为 %(size)s，超过上限 %(limit)s：请删除多余的工作表、格式或图片后重试") % {
            "size": filesizeformat(size), "limit": filesizeformat(limit)})


def read_workbook(file, name=None):
    """The tables of an .xlsx workbook (a path or a file object), one per sheet named
    regions, providers, centres or contracts. Other sheets are skipped, with a note each."""
    name = name or Path(str(getattr(file, "name", file))).name
    size = getattr(file, "size", None)
    if size is None:
        size = Path(file).stat().st_size if isinstance(file, str | Path) else None
    if size is not None:
        _check_size(name, size)
    head = Path(file).read_bytes()[:4] if isinstance(file, str | Path) else _peek(file)
    if head.startswith(_OLE2):
        _fail(name, str(XLS_MESSAGE))
    check_workbook(file, name)
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SourceError([ImportIssue(name, None, "", str(UNREADABLE_WORKBOOK))]) from exc
    try:
        tables = [
            _table(table_kind(sheet.title), sheet.title,
                   enumerate(sheet.iter_rows(values_only=True), start=1))
            for sheet in workbook.worksheets
            if table_kind(sheet.title)
        ]
        skipped = [sheet.title for sheet in workbook.worksheets if not table_kind(sheet.title)]
    finally:
        workbook.close()
    if not tables:
        message = _("工作簿中没有可导入的工作表（现有：%(titles)s）。可导入的名称：%(names)s") % {
            "names": known_names(), "titles": "、".join(skipped)}
        _fail(name, message)
    notes = [ImportIssue(title, None, "", unknown_name(title, _("工作表名"))) for title in skipped]
    return Sources(tables, notes)


def _peek(file):
    position = file.tell()
    head = file.read(4)
    file.seek(position)
    return head


def read_path(path):
    """What `manage.py import_registry PATH` reads: a folder of CSV files or one .xlsx file."""
    p = Path(path)
    if p.is_dir():
        return read_folder(p)
    if p.is_file() and p.suffix.lower() == ".xlsx":
        return read_workbook(p)
    if p.is_file() and p.suffix.lower() == ".xls":
        _fail(str(p), str(XLS_MESSAGE))
    _fail(str(p), _("应为存放 CSV 文件的文件夹，或一个 .xlsx 工作簿"))


def read_uploads(files):
    """The tables of uploaded files (one .xlsx, or several .csv), reporting every unreadable one."""
    tables, issues = Sources(), []
    for upload in files:
        try:
            if upload.name.lower().endswith(".xlsx"):
                found = read_workbook(upload, name=upload.name)
                tables.extend(found)
                tables.notes.extend(found.notes)
            else:
                tables.append(read_csv_upload(upload.name, upload))
        except SourceError as exc:
            issues.extend(exc.issues)
    if issues:
        raise SourceError(issues)
    return tables
