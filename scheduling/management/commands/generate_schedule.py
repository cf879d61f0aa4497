from django.core.management.base import BaseCommand
from django.utils import timezone

from mch_link.management.options import region_option
from scheduling.services import schedule_generate


class Command(BaseCommand):
    help = ("Create the year's obligations from signed contracts and plan their sessions on working days. "
            "Idempotent: a second run changes nothing. Prints obligations created, sessions created, kept, "
            "moved (with reasons) and cancelled.")

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--region", help="only providers with contracts in this region (code)")
        parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")

    def handle(self, *args, **opts):
        region = region_option(opts["region"])
        report = schedule_generate(year=opts["year"], today=timezone.localdate(), region=region,
                                   dry_run=opts["dry_run"])
        if opts["dry_run"]:
            self.stdout.write("（试运行，未写入 dry run: nothing written）")
        for line in report.lines():
            self.stdout.write(line)
