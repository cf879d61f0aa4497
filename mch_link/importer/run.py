"""One import run: check every table in dependency order, then write all or nothing."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .centres import check_centres
from .contracts import check_contracts
from .issues import ImportIssue, ImportResult
from .job import Job
from .providers import check_providers
from .regions import check_regions
from .spec import TABLE_ORDER
from .write import write_plan

# In TABLE_ORDER: a later table may refer to codes an earlier one creates.
CHECKS = {"regions": check_regions, "providers": check_providers, "centres": check_centres,
          "contracts": check_contracts}


def registry_import(*, sources, dry_run=False, user=None, within=None, today=None, progress=None):
    """Check `sources` (Tables) and, if there is no error and not `dry_run`, write them all
    in one transaction. Returns an ImportResult; never raises for bad input.

    `within`: a Region (a city admin's city): every row must lie inside it, before and after
    the change. None (superusers, the command line) allows everything.
    `today`: the day a grade change without an award date takes effect; default
    timezone.localdate(). `user` is recorded in the audit trail of imported contracts.
    `progress(rows checked, rows in all)` is called as the check goes, and with None
    before writing (the background job shows it).
    """
    job = Job(today=today or timezone.localdate(), within=within, progress=progress)
    check(job, sources)
    errors = [issue for _order, issue in sorted(job.errors, key=lambda e: e[0])]
    notes = [*getattr(sources, "notes", []), *job.notes]
    result = ImportResult(errors=errors, warnings=job.warnings, notes=notes, counts=job.counts, dry_run=dry_run)
    if result.errors or dry_run:
        return result
    if progress:
        progress(None, job.total)
    try:
        with transaction.atomic():
            write_plan(job, user)
    except IntegrityError as exc:
        # Checked above, so only a concurrent change can get here; nothing was written.
        result.counts = {}
        message = _("写入数据库时出错，已全部撤销：%(error)s") % {"error": exc}
        result.errors.append(ImportIssue("", None, "", message))
    return result


def check(job, sources):
    """Plan `sources` into `job`, table by table in TABLE_ORDER, filing every problem."""
    tables = {}
    for table in sources:
        if table.kind in tables:
            message = _("与“%(other)s”是同一张表，每张表只能导入一份")
            job.error(table.name, None, "", message % {"other": tables[table.kind].name},
                      order=(TABLE_ORDER.index(table.kind), 0))
        else:
            tables[table.kind] = table
    for kind in TABLE_ORDER:
        if kind in tables:
            job.counts[kind] = {"created": 0, "updated": 0, "unchanged": 0}
            rows = job.rows(tables[kind])
            if rows is not None:
                CHECKS[kind](job, rows)
