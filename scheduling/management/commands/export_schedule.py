from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mch_link.management.options import region_option
from scheduling.exports import RENDERERS, schedule_rows


class Command(BaseCommand):
    help = ("Export the year's schedule, one row per obligation (period, kind, provider, centre, its session "
            "and status), as CSV (UTF-8 with BOM, for Excel), XLSX or JSON. An admin tool: no user scoping. "
            "Read-only.")

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--region", help="only centres in this region (code of a city, county or township)")
        parser.add_argument("--format", choices=sorted(RENDERERS), required=True, dest="fmt")
        parser.add_argument("--output", help="write to this file (binary); default: standard output")

    def handle(self, *args, year, region, fmt, output, **opts):
        if fmt == "xlsx" and not output:
            raise CommandError("--format xlsx is a binary file: give --output PATH")
        place = region_option(region)
        data = RENDERERS[fmt](schedule_rows(year=year, region=place))
        if output:
            Path(output).write_bytes(data)
            return
        # Write the exact bytes when standard output has a byte stream (the BOM and CRLF of
        # the CSV survive any locale); else (tests, StringIO) the same text.
        buffer = getattr(self.stdout, "buffer", None)
        if buffer is not None:
            self.stdout.flush()
            buffer.write(data)
            buffer.flush()
        else:
            self.stdout.write(data.decode("utf-8"), ending="")
