"""What an import reports: the problems found (ImportIssue), files that cannot be read at all
(SourceError), and the result of a run (ImportResult)."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .spec import TABLE_LABELS


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

