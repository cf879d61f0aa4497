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

The modules, by what they do:
- spec: the tables, their columns and the headers and coded words accepted;
- reading: files into Tables of raw cells; cells: cell text into values (Row);
- issues: what is reported (ImportIssue, SourceError, ImportResult);
- job: one run's state and what every check shares, with validation through the models;
- regions, providers, centres, contracts: the checks of each table;
- write: saving the plan, and the bulk upsert the demo seeds with; run: registry_import.
"""

from .cells import parse_date
from .issues import ImportIssue, ImportResult, SourceError
from .reading import Table, decode_csv, read_csv_upload, read_folder, read_path, read_uploads, read_workbook
from .run import registry_import
from .spec import COLUMNS, TABLE_LABELS, TABLE_NAMES, TABLE_ORDER, Column, table_kind

__all__ = [
    "COLUMNS", "TABLE_LABELS", "TABLE_NAMES", "TABLE_ORDER", "Column", "ImportIssue", "ImportResult",
    "SourceError", "Table", "decode_csv", "parse_date", "read_csv_upload", "read_folder", "read_path",
    "read_uploads", "read_workbook", "registry_import", "table_kind",
]
