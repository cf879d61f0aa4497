import datetime

from django.core.management.base import BaseCommand, CommandError

from mch_link.management.options import region_option
from mch_link.models import Provider, Region
from reports.render import FORMATS, FontMissingError, render
from reports.rows import completion_rows
from scheduling import periods


def default_region():
    """The city when the installation has exactly one, else None (everything)."""
    cities = list(Region.objects.filter(level=Region.Level.CITY, parent__isnull=True)[:2])
    return cities[0] if len(cities) == 1 else None


class Command(BaseCommand):
    help = (
        "The completion and signed-guidance report (医育结合签约服务“四个一”完成情况) of a region for a quarter "
        "or a year, as JSON, CSV, XLSX or PDF. JSON keys: region, period, as_of, signed_guidance_rate, "
        "completion, by_region, by_provider, uncovered_centres, missing_pairs, overdue (docs/reports.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="the report's year, e.g. 2027")
        parser.add_argument("--quarter", type=int, choices=[1, 2, 3, 4],
                            help="a quarter of the year; without it, the whole year")
        parser.add_argument("--region", help="region code (city, county or township); default: the city if "
                                             "there is exactly one, else the whole installation")
        parser.add_argument("--provider", help="provider code: only this provider's obligations and pairs")
        parser.add_argument("--as-of", dest="as_of",
                            help="YYYY-MM-DD; default: today")
        parser.add_argument("--format", choices=FORMATS, required=True)
        parser.add_argument("--output", help="file to write; default: standard output (json and csv only)")

    def handle(self, *args, **opts):
        period = periods.quarter_code(opts["year"], opts["quarter"]) if opts["quarter"] else str(opts["year"])
        try:
            periods.period_bounds(period)
        except ValueError as exc:
            raise CommandError(f"--year {opts['year']!r}: {exc}") from exc
        region = region_option(opts["region"]) if opts["region"] else default_region()
        provider = None
        if opts["provider"]:
            provider = Provider.objects.filter(code=opts["provider"]).first()
            if provider is None:
                raise CommandError(f"--provider {opts['provider']!r}: no provider has this code")
        as_of = None
        if opts["as_of"]:
            try:
                as_of = datetime.date.fromisoformat(opts["as_of"])
            except ValueError as exc:
                raise CommandError(f"--as-of {opts['as_of']!r}: not a date in YYYY-MM-DD form") from exc
        fmt = opts["format"]
        if fmt in ("xlsx", "pdf") and not opts["output"]:
            raise CommandError(f"--format {fmt} writes a binary file: give --output PATH")
        report = completion_rows(region=region, period=period, provider=provider, as_of=as_of)
        try:
            data = render(report, fmt)
        except FontMissingError as exc:
            raise CommandError(str(exc)) from exc
        if opts["output"]:
            with open(opts["output"], "wb") as out:
                out.write(data)
            self.stderr.write(f"{report.title}: {opts['output']}")
        else:  # json or csv: text (the CSV keeps its BOM character)
            self.stdout.write(data.decode("utf-8"), ending="")
