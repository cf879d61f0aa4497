"""Calendar arithmetic on dates (Asia/Shanghai calendar days). Pure: no ORM, no clock."""

import datetime

from dateutil.relativedelta import relativedelta


def years_after(day, years):
    """`day` moved by whole `years` (negative goes back); 29 February lands on 28 February
    in a year without one."""
    return day + relativedelta(years=years)


def one_year_from(day):
    """The last day of a one-year term starting `day` (2026-01-01 -> 2026-12-31). A term from
    29 February runs to 28 February: the next one starts on 1 March."""
    anniversary = years_after(day, 1)
    if anniversary.day != day.day:  # 29 February in a year without one
        return anniversary
    return anniversary - datetime.timedelta(days=1)
