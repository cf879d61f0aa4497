from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from mch_link.importer import SourceError, read_path, registry_import
from mch_link.importer.issues import group


class Command(BaseCommand):
    help = (
        "Import regions, providers, centres and contracts from a folder of CSV files "
        "(regions.csv, providers.csv, centres.csv, contracts.csv, each optional) or from one .xlsx "
        "workbook with sheets of those names. All or nothing: any error writes nothing. "
        "See docs/import.md for the columns."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="A folder of CSV files, or an .xlsx workbook.")
        parser.add_argument(
            "--dry-run", action="store_true",
            help="Check everything and print what would be created or updated; write nothing.",
        )

    def handle(self, *args, path, dry_run, **options):
        try:
            sources = read_path(path)
        except SourceError as exc:
            self._fail(exc.issues)
        result = registry_import(sources=sources, dry_run=dry_run)
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(_("警告：%(issue)s") % {"issue": warning}))
        for note in result.note_groups:
            self.stderr.write(_("已自动处理：%(issue)s") % {"issue": note})
        if result.errors:
            self._fail(result.errors)
        if dry_run:
            self.stdout.write(_("试运行（--dry-run）：数据检查通过，未写入任何数据。将写入："))
        for table, label, created, updated, unchanged in result.count_rows():
            line = _("%(table)s（%(label)s）：新增 %(created)d，更新 %(updated)d，未变 %(unchanged)d")
            self.stdout.write(line % {"table": table, "label": label, "created": created,
                                      "updated": updated, "unchanged": unchanged})
        if not dry_run:
            self.stdout.write(self.style.SUCCESS(_("导入完成。")))

    def _fail(self, issues):
        for issue in group(issues):  # one line a kind of error, with its first rows and count
            self.stderr.write(str(issue))
        raise CommandError(_("导入失败：发现 %(n)d 个错误，未写入任何数据。") % {"n": len(issues)})
