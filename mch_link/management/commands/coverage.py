import datetime
import json

from django.core.management.base import BaseCommand, CommandError

from mch_link.management.options import region_option
from mch_link.selectors import coverage


class Command(BaseCommand):
    help = (
        "Signed-guidance rate and required-pair coverage on a date for a region "
        "(JSON keys: date, region, centres, signed_centres, signed_guidance_rate, required_pairs, "
        "covered_pairs, missing_pairs, uncovered_centres, extra_contracts)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, help="YYYY-MM-DD")
        parser.add_argument("--region", help="region code (city, county or township); default: everywhere")
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **opts):
        try:
            day = datetime.date.fromisoformat(opts["date"])
        except ValueError as exc:
            raise CommandError(f"--date {opts['date']!r}: not a date in YYYY-MM-DD form") from exc
        region = region_option(opts["region"])
        report = coverage(day, region)
        data = report.as_json()
        if opts["format"] == "json":
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        rate = data["signed_guidance_rate"]
        lines = [
            f"签约覆盖情况 {data['date']} {report.region.name if report.region else '全部地区'}",
            f"在册托育机构 centres: {data['centres']}",
            f"已签约托育机构 signed_centres: {data['signed_centres']}",
            f"签约指导率 signed_guidance_rate: {'—' if rate is None else f'{rate:.2%}'}",
            f"应签约对 required_pairs: {data['required_pairs']}",
            f"已覆盖 covered_pairs: {data['covered_pairs']}",
            f"缺少签约 missing_pairs: {len(data['missing_pairs'])}",
        ]
        for m in report.missing_pairs:
            lines.append(f"  [{m['tier']}] {m['provider']} {m['provider_name']} — {m['centre']} {m['centre_name']}")
        lines.append(f"未签约托育机构 uncovered_centres: {len(data['uncovered_centres'])}")
        for c in report.uncovered_centres:
            lines.append(f"  {c.code} {c.name}")
        lines.append(f"规则外协议 extra_contracts: {len(data['extra_contracts'])}")
        for e in report.extra_contracts:
            lines.append(f"  [{e['tier']}] {e['provider']} {e['provider_name']} — {e['centre']} {e['centre_name']}")
        self.stdout.write("\n".join(lines))
