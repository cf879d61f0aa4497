"""The schedule export: one plain row per obligation of a year, then CSV, XLSX or JSON.

Rows are built once (`schedule_rows`) and rendered by format, so the command, and later a
page, show the same thing. Dates are calendar dates and times local wall-clock times in
Asia/Shanghai, as stored.
"""

import json

from mch_link.models import Contract
from mch_link.scoping import region_q, scoped
from mch_link.tables import Sheet, csv_bytes, xlsx_bytes

from .models import Obligation, Session

COLUMNS = ("period", "kind", "provider_code", "centre_code", "session_id", "date", "start", "end", "status",
           "estimated", "doctor")

# The XLSX sheet is for people in the bureaus: Chinese headers, in the order of COLUMNS.
HEADERS_ZH = {
    "period": "周期",
    "kind": "服务类型",
    "provider_code": "机构编码",
    "centre_code": "托育机构代码",
    "session_id": "场次ID",
    "date": "日期",
    "start": "开始",
    "end": "结束",
    "status": "状态",
    "estimated": "估计",
    "doctor": "医生",
}

SHEET_TITLE = "schedule"


def schedule_rows(*, year, region=None, user=None):
    """One dict per obligation of `year` (keys: COLUMNS, in that order), sorted by period,
    kind, provider_code, centre_code as strings (so a year's "2027" comes before its "2027Q1"; then
    contract start and id, to be deterministic).

    Optionally only the obligations whose centre lies in `region` (a mch_link Region), and only
    those of contracts `user` may see (scoped(user, Contract)); no user means no scoping (the
    command is an admin tool).

    Values: `session_id` int, `date` datetime.date, `start`/`end` "HH:MM" strings, `estimated`
    bool, `doctor` a username; each of them None when the obligation has no session that is not
    cancelled (and `doctor` None when the session has no doctor). `period`, `kind` and `status`
    are codes ("2027Q1", "guidance", "planned"); `status` is the stored one (as of its
    `status_on` date), not recomputed.

    Queries: two (obligations, then their sessions through the M2M table, each filtered by a
    subquery), plus the user's membership and region when `user` is given: never one per row.
    """
    obligations = Obligation.objects.of_year(year)
    if region is not None:
        obligations = obligations.filter(region_q(region, "contract__centre__township"))
    if user is not None:
        obligations = obligations.filter(contract__in=scoped(user, Contract).values("pk"))

    # An obligation has at most one live session in practice; if there were more, the
    # earliest is the one shown (the first one to discharge it).
    Through = Session.obligations.through
    links = (
        Through.objects.filter(obligation__in=obligations.values("pk"))
        .exclude(session__status=Session.Status.CANCELLED)
        .order_by("session__date", "session__start", "session_id")
        .values_list("obligation_id", "session_id", "session__date", "session__start", "session__end",
                     "session__estimated", "session__doctor__username")
    )
    session_of = {}
    for obligation_id, *session in links:
        session_of.setdefault(obligation_id, session)

    rows = []
    for ob in obligations.order_by(
        "period", "kind", "contract__provider__code", "contract__centre__code", "contract__valid_from", "pk",
    ).values("pk", "period", "kind", "contract__provider__code", "contract__centre__code", "status"):
        session_id, day, start, end, estimated, doctor = session_of.get(ob["pk"], (None,) * 6)
        rows.append({
            "period": ob["period"],
            "kind": ob["kind"],
            "provider_code": ob["contract__provider__code"],
            "centre_code": ob["contract__centre__code"],
            "session_id": session_id,
            "date": day,
            "start": f"{start:%H:%M}" if start is not None else None,
            "end": f"{end:%H:%M}" if end is not None else None,
            "status": ob["status"],
            "estimated": estimated,
            "doctor": doctor or None,
        })
    return rows


def _text(value):
    """A cell of the CSV: ISO dates, true/false, empty for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def render_csv(rows):
    """UTF-8 with a BOM (so that Excel reads the Chinese right), a header row of COLUMNS, CRLF."""
    return csv_bytes([COLUMNS, *([_text(row[c]) for c in COLUMNS] for row in rows)])


WIDTHS = {"period": 9, "kind": 16, "provider_code": 14, "centre_code": 22, "session_id": 9, "date": 12,
          "start": 7, "end": 7, "status": 14, "estimated": 7, "doctor": 14}


def render_xlsx(rows):
    """One sheet "schedule": Chinese headers in a frozen first row, real date cells
    (yyyy-mm-dd), session ids as numbers, estimated as booleans."""
    return xlsx_bytes([Sheet(
        SHEET_TITLE, [HEADERS_ZH[c] for c in COLUMNS], ([row[c] for c in COLUMNS] for row in rows),
        number_formats={COLUMNS.index("date"): lambda day: "yyyy-mm-dd" if day is not None else None},
        widths=[WIDTHS[c] for c in COLUMNS],
    )])


def _json_value(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")


def render_json(rows):
    """A list of objects with the keys of COLUMNS; UTF-8, Chinese as is; ISO dates, null for None."""
    return json.dumps(rows, ensure_ascii=False, indent=1, default=_json_value).encode("utf-8")


RENDERERS = {"csv": render_csv, "xlsx": render_xlsx, "json": render_json}
