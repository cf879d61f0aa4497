"""`manage.py load_workdays PATH`: load a year's official days off and make-up days, re-plan it.

The page at /schedule/workdays/ does the same from an upload, through the functions below.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from scheduling import workdays
from scheduling.models import WorkDay
from scheduling.services import schedule_generate, workyear_load


def workdays_load(data, user=None, filename=None):
    """Load the State Council's notice of a year (a holiday-cn file) and re-plan the year as of
    today (Asia/Shanghai), in one transaction: if re-planning fails, the old calendar stays.
    Returns (WorkYear row, ScheduleReport). workdays.HolidayFileError listing every problem,
    and nothing written, when the file is bad or is no notice (workdays.read_notice): the year
    then stays estimated. The report is returned, not logged: the caller shows it once."""
    workdays.read_notice(data, filename)
    with transaction.atomic():
        row = workyear_load(data)
        _names_save(row, data)
        report = schedule_generate(year=row.year, today=timezone.localdate(), user=user)
    return row, report


def _names_save(row, data):
    """Keep the holiday names of the file (元旦, 春节…) on the days: services.workyear_load
    stores the dates only. One query to read, one bulk update."""
    names = {entry["date"]: entry["name"].strip()[:40] for entry in data["days"]}
    named = []
    for day in row.days.all():
        name = names.get(day.date.isoformat(), "")
        if name and name != day.name:
            day.name = name
            named.append(day)
    WorkDay.objects.bulk_update(named, ["name"], batch_size=1000)


def read_holiday_json(raw):
    """Bytes of a holiday-cn file -> the parsed JSON (a BOM is tolerated). ValueError in plain words."""
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ValueError("文件不是 UTF-8 编码的文本 / the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"文件不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）"
                         f" / not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def as_holiday_cn(work_year, names=None):
    """A workdays.WorkYear in the holiday-cn format, so that data from the chinese-calendar
    package goes through the same validated write (services.workyear_load) as a file.
    `names`: {date: holiday name}, optional."""
    names = names or {}
    days = [{"name": names.get(d, ""), "date": d.isoformat(), "isOffDay": True} for d in work_year.days_off]
    days += [{"name": names.get(d, ""), "date": d.isoformat(), "isOffDay": False} for d in work_year.makeup_days]
    return {"year": work_year.year, "papers": [work_year.source], "days": sorted(days, key=lambda d: d["date"])}


class Command(BaseCommand):
    help = ("Load one year's official days off and make-up working days (调休) from a JSON file in the holiday-cn "
            "format (github.com/NateScarlet/holiday-cn), or from the chinese-calendar package with --from-package, "
            "replacing what was loaded for that year and marking it official; then re-plan the year's sessions "
            "and print what moved. A bad file is refused whole: nothing is written.")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="a holiday-cn JSON file, e.g. 2027.json")
        parser.add_argument("--from-package", type=int, metavar="YEAR",
                            help="take YEAR from the chinese-calendar package instead of a file")
        parser.add_argument("--dry-run", action="store_true",
                            help="check the data and print what would be loaded; write nothing, re-plan nothing")

    def handle(self, *args, path, from_package, dry_run, **opts):
        if bool(path) == (from_package is not None):
            raise CommandError("give either PATH or --from-package YEAR (one of them)")
        data = self._from_package(from_package) if from_package is not None else self._from_file(path)
        try:
            parsed = workdays.read_notice(data, Path(path).name if path else None)
        except ValueError as exc:
            raise CommandError(f"{exc}（未写入任何数据 nothing written）") from None
        summary = (f"{parsed.year} 年：放假 {len(parsed.days_off)} 天，调休上班 {len(parsed.makeup_days)} 天"
                   f" / days off: {len(parsed.days_off)}, make-up days: {len(parsed.makeup_days)}"
                   f"（来源 source: {parsed.source}）")
        if dry_run:
            self.stdout.write(f"试运行，未写入 dry run, nothing written. 将载入 would load: {summary}")
            return
        _row, report = workdays_load(data, filename=Path(path).name if path else None)
        self.stdout.write(self.style.SUCCESS(f"已载入 loaded: {summary}"))
        for line in report.lines():
            self.stdout.write(line)

    def _from_file(self, path):
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 cannot read {path}: {exc.strerror}") from None
        try:
            return read_holiday_json(raw)
        except ValueError as exc:
            raise CommandError(f"{path}: {exc}（未写入任何数据 nothing written）") from None

    def _from_package(self, year):
        work_year = workdays.from_chinese_calendar(year)
        if work_year is None:
            raise CommandError(f"chinese-calendar 软件包没有 {year} 年的数据 / the chinese-calendar package "
                               f"does not know {year}: load the State Council notice as a holiday-cn file")
        return as_holiday_cn(work_year, package_names(work_year.days_off | work_year.makeup_days))


def package_names(days):
    """{date: Chinese holiday name} from the chinese-calendar package (its names are English)."""
    import chinese_calendar

    chinese = {h.value: h.chinese for h in chinese_calendar.Holiday}
    names = {}
    for day in days:
        _on_holiday, name = chinese_calendar.get_holiday_detail(day)
        if name:
            names[day] = chinese.get(name, name)
    return names
