"""Writes of the work calendar: a year's days off and make-up working days."""

from django.db import transaction

from .. import workdays
from ..models import WorkDay, WorkYear


def workyear_ensure(year):
    """The year's WorkYear row, created from the chinese-calendar package when it knows the
    year, else as an estimate (workdays.estimated_year)."""
    row = WorkYear.objects.filter(year=year).first()
    if row is not None:
        return row
    data = workdays.from_chinese_calendar(year) or workdays.estimated_year(year)
    return _workyear_save(data)


@transaction.atomic
def _workyear_save(data):
    row, _created = WorkYear.objects.update_or_create(
        year=data.year, defaults={"estimated": data.estimated, "source": data.source[:300]})
    row.days.all().delete()
    WorkDay.objects.bulk_create(
        [WorkDay(year=row, date=d, is_off=True) for d in sorted(data.days_off)]
        + [WorkDay(year=row, date=d, is_off=False) for d in sorted(data.makeup_days)]
    )
    return row


def workyear_load(data):
    """Load a year in the holiday-cn format (official), replacing what was there. Raises
    ValueError naming the bad entry. The caller re-plans the year, in the same
    transaction (load_workdays.workdays_load)."""
    parsed = workdays.parse_holiday_cn(data)
    parsed = workdays.WorkYear(year=parsed.year, days_off=parsed.days_off, makeup_days=parsed.makeup_days,
                               estimated=False, source=parsed.source)
    return _workyear_save(parsed)


def work_years_for(years):
    """{year: workdays.WorkYear} for the planner, creating missing rows first."""
    result = {}
    for year in sorted(set(years)):
        row = workyear_ensure(year)
        days = list(row.days.values_list("date", "is_off"))
        result[year] = workdays.WorkYear(
            year=year, days_off=frozenset(d for d, off in days if off),
            makeup_days=frozenset(d for d, off in days if not off), estimated=row.estimated, source=row.source)
    return result
