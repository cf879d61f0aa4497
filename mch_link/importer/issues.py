"""What an import reports: the problems found (ImportIssue), files that cannot be read at all
(SourceError), and the result of a run (ImportResult)."""

import re
from dataclasses import asdict, dataclass, field

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


# Values quoted in a message (“…”) and numbers differ from row to row; the kind of error does not.
_VARYING = re.compile(r"“[^”]*”|\d+")
# Rows listed in a group before "等".
FIRST_ROWS = 5


@dataclass(frozen=True)
class IssueGroup:
    """Issues of one kind (same file, column and message but for the values in it): the first
    one's message, the first rows and how many there are."""

    sheet: str
    column: str
    message: str
    rows: tuple
    count: int

    @property
    def row_text(self):
        if not self.rows:
            return ""
        shown = "、".join(str(r) for r in self.rows)
        if self.count > len(self.rows):
            return _("第%(rows)s行等，共%(n)d行") % {"rows": shown, "n": self.count}
        return _("第%(rows)s行") % {"rows": shown}

    def __str__(self):
        if self.count == 1:
            return str(ImportIssue(self.sheet, self.rows[0] if self.rows else None, self.column, self.message))
        where = " ".join(part for part in (self.sheet, self.row_text, self.column) if part)
        return _("%(where)s：%(message)s（同类问题共%(n)d处）") % {
            "where": where, "message": self.message, "n": self.count}


def group(issues):
    """`issues` as IssueGroups, one a kind of problem, in the order each kind is first found."""
    groups = {}
    for issue in issues:
        key = (issue.sheet, issue.column, _VARYING.sub("#", issue.message))
        groups.setdefault(key, []).append(issue)
    return [IssueGroup(sheet=found[0].sheet, column=found[0].column, message=found[0].message,
                       rows=tuple(dict.fromkeys(i.row for i in found if i.row is not None))[:FIRST_ROWS],
                       count=len(found))
            for found in groups.values()]


class SourceError(Exception):
    """A file that cannot be read as a table at all (unknown name, corrupt workbook...)."""

    def __init__(self, issues):
        self.issues = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


@dataclass
class ImportResult:
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    # Normalisations made (a date serial read as a date, full-width folded...) and what was skipped.
    notes: list[ImportIssue] = field(default_factory=list)
    # {table: {"created": n, "updated": n, "unchanged": n}}, in TABLE_ORDER.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def ok(self):
        return not self.errors

    @property
    def written(self):
        return self.ok and not self.dry_run

    @property
    def error_groups(self):
        return group(self.errors)

    @property
    def note_groups(self):
        return group(self.notes)

    def to_json(self):
        """For ImportJob.result; from_json reads it back."""
        return {"errors": [asdict(i) for i in self.errors], "warnings": [asdict(i) for i in self.warnings],
                "notes": [asdict(i) for i in self.notes], "counts": self.counts, "dry_run": self.dry_run}

    @classmethod
    def from_json(cls, data):
        issues = {key: [ImportIssue(**i) for i in data.get(key, [])] for key in ("errors", "warnings", "notes")}
        return cls(**issues, counts=data.get("counts", {}), dry_run=data.get("dry_run", False))

    def count_rows(self):
        """(table, label, created, updated, unchanged) for display."""
        return [(table, TABLE_LABELS[table], c["created"], c["updated"], c["unchanged"])
                for table, c in self.counts.items()]

