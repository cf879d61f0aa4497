"""The spreadsheet writers every export uses: CSV that Excel opens as UTF-8, and XLSX.

The callers turn their values into cells (text for CSV; numbers, dates and booleans for XLSX);
these functions only write them, so that every file has the same BOM, header style and
frozen first row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field


def csv_bytes(rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a BOM (so that Excel reads the Chinese right), CRLF line ends (csv's default):
    one line per row, cells as given (None is an empty cell)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
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
    """A workbook of `sheets`, in order."""
    from openpyxl import Workbook  # only this format needs it: keep the import off the hot path
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for spec in sheets:
        sheet = book.create_sheet(spec.title)
        sheet.append(list(spec.headers))
        for cell in sheet[1]:
            cell.font = bold
        sheet.freeze_panes = "A2"
        formats = spec.number_formats.items()
        for row in spec.rows:
            sheet.append(list(row))
            if formats:
                cells = sheet[sheet.max_row]
                for i, format_of in formats:
                    fmt = format_of(row[i])
                    if fmt:
                        cells[i].number_format = fmt
        for i, width in enumerate(spec.widths, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
