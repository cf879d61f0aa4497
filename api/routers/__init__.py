"""The API's endpoints, one module per area. Each reads through mch_link.scoping (a row
outside the caller's scope is 404, a list holds only rows in scope) and asks
mch_link.permissions what the caller may do; writes go through the same services as the
pages (scheduling.services)."""

from django.http import Http404
from ninja.errors import HttpError

from scheduling import periods


def one(qs, **lookup):
    """The row of `qs` (already scoped) matching `lookup`, else 404."""
    row = qs.filter(**lookup).first()
    if row is None:
        raise Http404
    return row


def require(allowed):
    """404 unless `allowed` (as role_required does on the pages: we do not confirm the row exists)."""
    if not allowed:
        raise Http404


def narrowed(qs, filters, **lookups):
    """`qs` narrowed by each filter given a value in `filters` (a query schema), as
    {filter name: ORM lookup}."""
    for name, lookup in lookups.items():
        value = getattr(filters, name)
        if value is not None and value != "":
            qs = qs.filter(**{lookup: value})
    return qs


def period_bounds(code):
    """(first day, last day) of a period code (2027Q1, 2027), else 422 in plain words."""
    try:
        return periods.period_bounds(code)
    except ValueError:
        raise HttpError(422, "周期应为 2027Q1 或 2027 这样的代码") from None
