"""The spreadsheet writers every export uses: CSV that Excel opens as UTF-8, and XLSX.

The callers turn their values into cells (text for CSV; numbers, dates and booleans for XLSX);
these functions only write them, so that every file has the same BOM, header style and
frozen first row.

Cells cannot be turned against their reader (OWASP, "CSV injection"): every text cell is
cleaned once here (`safe_text`): control characters are removed, and a text beginning with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe, so that no
spreadsheet reads it as a formula. XLSX text cells are written as strings, never formulas.
Numbers stay numbers. Credit codes are text: XLSX keeps them as such; a CSV opened by
double-click leaves Excel to guess (docs/reports.md, "Downloads", says how to import it).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# C0 controls but tab, LF and CR, DEL, and the C1 controls: never in a name, refused by XLSX.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value):
    """`value` as a cell may hold it: a text without control characters, and with a leading
    apostrophe when it begins like a formula (OWASP's rule); other values unchanged."""
    if not isinstance(value, str):
        return value
    value = CONTROL_CHARACTERS.sub("", value)
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe_row(row):
    return [safe_text(v) for v in row]


def csv_bytes(rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a BOM (so that Excel reads the Chinese right), CRLF line ends (csv's default):
    one line per row, cells as given (None is an empty cell), texts through safe_text."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(_safe_row(row) for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


@dataclass
class Sheet:
    """One sheet of a workbook: a bold header row, frozen, then the rows.

    `number_formats`: {column index: format_of(value)}, the Excel number format of each cell of
    that column ("0.0%", "yyyy-mm-dd"), None to leave it general; `widths` the column widths
    (none given: Excel's)."""

    title: str
    headers: Sequence
    rows: Iterable[Sequence]
    number_formats: Mapping[int, Callable[[object], str | None]] = field(default_factory=dict)
    widths: Sequence[float] = ()


def xlsx_bytes(sheets: Iterable[Sheet]) -> bytes:
    """A workbook of `sheets`, in order; sheet titles and text cells through safe_text."""
    from openpyxl import Workbook  # only this format needs it: keep the import off the hot path
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for spec in sheets:
        sheet = book.create_sheet(CONTROL_CHARACTERS.sub("", spec.title))
        sheet.append(_safe_row(spec.headers))
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "A2"
        formats = spec.number_formats.items()
        for row in spec.rows:
            sheet.append(_safe_row(row))
            cells = sheet[sheet.max_row]
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # a text, never a formula (openpyxl takes "=..." as one)
            if formats:
                for i, format_of in formats:
                    fmt = format_of(row[i])
                    if fmt:
                        cells[i].number_format = fmt
        for i, width in enumerate(spec.widths, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
