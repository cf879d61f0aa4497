"""Cursor paging over a stable order (the primary key): a page ends with `next_cursor`, an
opaque text the client sends back as `?cursor=` for the next page. Rows added or changed
meanwhile never shift a page the way offsets do."""

import base64
import binascii

from django.conf import settings
from ninja import Field, Schema
from ninja.errors import HttpError


class Paging(Schema):
    """?cursor= (the previous page's next_cursor) and ?limit= (items a page)."""

    cursor: str | None = None
    limit: int | None = Field(None, ge=1, le=500)


class Page(Schema):
    next_cursor: str | None = None


def page_of(item_schema):
    """The page schema of `item_schema`: {"items": [...], "next_cursor": "…" or null}."""
    name = item_schema.__name__.removesuffix("Out") + "Page"
    return type(name, (Page,), {"__annotations__": {"items": list[item_schema]}, "__module__": __name__})


def encode_cursor(pk):
    return base64.urlsafe_b64encode(f"pk:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor):
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "pk" or not value.isdigit():
            raise ValueError(cursor)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HttpError(400, "分页游标无效：请使用上一页返回的 next_cursor") from None


def paginate(qs, cursor=None, limit=None):
    """(rows of this page, next cursor or None): `qs` in primary-key order after `cursor`,
    `limit` rows (default API_PAGE_SIZE, at most API_MAX_PAGE_SIZE). One query (one more row
    is read to know whether a next page exists), plus the queryset's prefetches."""
    limit = min(limit or settings.API_PAGE_SIZE, settings.API_MAX_PAGE_SIZE)
    qs = qs.order_by("pk")
    if cursor:
        qs = qs.filter(pk__gt=decode_cursor(cursor))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].pk) if more else None)


def page(qs, cursor=None, limit=None):
    """The page of `qs` as a page schema's data."""
    rows, next_cursor = paginate(qs, cursor, limit)
    return {"items": rows, "next_cursor": next_cursor}
