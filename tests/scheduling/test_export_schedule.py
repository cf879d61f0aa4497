"""The schedule export: `manage.py export_schedule` and scheduling.exports.

The rows are checked against the database read another way (one obligation at a time);
each rendering is read back with the library a user's tool would use.
"""

import csv
import datetime
import io
import json

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mch_link.models import Contract
from scheduling.exports import COLUMNS, HEADERS_ZH, render_csv, render_json, render_xlsx, schedule_rows
from scheduling.models import Obligation, Session
from scheduling.services import obligations_sync, schedule_generate

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 1, 5)
YEAR_START, YEAR_END = datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)
BOM = b"\xef\xbb\xbf"


def sign(provider, centre, start=YEAR_START, end=YEAR_END):
    return Contract.objects.create(provider=provider, centre=centre, status="signed", signed_on=start,
                                   valid_from=start, valid_to=end)


@pytest.fixture
def scheduled(world):
    """塔山's health centre serves 阳光 and 小星星, 柯桥街道's serves 竹韵, all planned; 富盛's
    contract with 稻香 has its obligations but no sessions yet."""
    sign(world.tashan_chc, world.sunny)
    sign(world.tashan_chc, world.little)
    sign(world.keqiao_chc, world.bamboo)
    schedule_generate(year=2026, today=TODAY)
    sign(world.fusheng_thc, world.rice)
    obligations_sync(2026, provider_ids=[world.fusheng_thc.pk])
    return world


def expected_rows(obligations=None):
    """The export read from the database one obligation at a time (slow and obvious)."""
    rows = []
    for ob in (obligations or Obligation.objects.of_year(2026)).select_related("contract__provider",
                                                                                "contract__centre"):
        session = ob.sessions.exclude(status="cancelled").order_by("date", "start", "pk").first()
        rows.append({
            "period": ob.period,
            "kind": ob.kind,
            "provider_code": ob.contract.provider.code,
            "centre_code": ob.contract.centre.code,
            "session_id": session.pk if session else None,
            "date": session.date if session else None,
            "start": session.start.strftime("%H:%M") if session else None,
            "end": session.end.strftime("%H:%M") if session else None,
            "status": ob.status,
            "estimated": session.estimated if session else None,
            "doctor": session.doctor.username if session and session.doctor else None,
        })
    return sorted(rows, key=lambda r: (r["period"], r["kind"], r["provider_code"], r["centre_code"]))


def as_text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def export(*args):
    out = io.StringIO()
    call_command("export_schedule", "--year", "2026", *args, stdout=out)
    return out.getvalue()


# --------------------------------------------------------------------------- rows


def test_there_is_one_row_per_obligation_matching_the_database(scheduled):
    rows = schedule_rows(year=2026)
    assert len(rows) == Obligation.objects.of_year(2026).count() == 4 * 13
    assert rows == expected_rows()
    assert all(tuple(row) == COLUMNS for row in rows)


def test_rows_are_sorted_by_period_kind_provider_and_centre(scheduled):
    keys = [(r["period"], r["kind"], r["provider_code"], r["centre_code"]) for r in schedule_rows(year=2026)]
    assert keys == sorted(keys)
    assert keys[0][:2] == ("2026", "supervision")


def test_a_planned_row_carries_its_session(scheduled):
    session = Session.objects.filter(doctor=scheduled.dan).order_by("date").first()
    ob = session.obligations.get()
    row = next(r for r in schedule_rows(year=2026) if r["session_id"] == session.pk)
    assert row == {
        "period": ob.period, "kind": ob.kind, "provider_code": "P-TS", "centre_code": ob.contract.centre.code,
        "session_id": session.pk, "date": session.date, "start": session.start.strftime("%H:%M"),
        "end": session.end.strftime("%H:%M"), "status": "planned", "estimated": False, "doctor": "dan",
    }


def test_an_obligation_without_a_session_has_empty_session_columns(scheduled):
    rows = [r for r in schedule_rows(year=2026) if r["centre_code"] == scheduled.rice.code]
    assert len(rows) == 13
    assert {(r["session_id"], r["date"], r["start"], r["end"], r["estimated"], r["doctor"]) for r in rows} == {
        (None,) * 6}
    assert {r["status"] for r in rows} == {"unplanned"}


def test_a_session_without_a_doctor_leaves_the_doctor_empty(scheduled):
    # 越城区's MCH agency has no doctor accounts yet: its sessions are planned with nobody.
    sign(scheduled.yc_mch, scheduled.sunny)
    schedule_generate(year=2026, today=TODAY)
    assert Session.objects.filter(provider=scheduled.yc_mch, doctor=None).exists()
    undoctored = set(Session.objects.filter(doctor=None).values_list("pk", flat=True))
    rows = [r for r in schedule_rows(year=2026) if r["session_id"] in undoctored]
    assert rows and {r["doctor"] for r in rows} == {None}


def test_a_cancelled_session_is_not_shown(scheduled):
    session = Session.objects.filter(provider=scheduled.keqiao_chc).order_by("date").first()
    Session.objects.filter(pk=session.pk).update(status="cancelled")
    ob_ids = set(session.obligations.values_list("pk", flat=True))
    assert session.pk not in {r["session_id"] for r in schedule_rows(year=2026)}
    assert schedule_rows(year=2026) == expected_rows()
    assert len(ob_ids) == 1  # a guidance session serves one centre: its row is now empty


def test_another_year_has_no_rows(scheduled):
    assert schedule_rows(year=2025) == []


# --------------------------------------------------------------------------- region and scope


def codes(rows):
    return {r["centre_code"] for r in rows}


def test_the_region_filter_keeps_the_centres_inside_it(scheduled):
    w = scheduled
    assert codes(schedule_rows(year=2026, region=w.kq)) == {w.bamboo.code}
    assert codes(schedule_rows(year=2026, region=w.tashan)) == {w.sunny.code, w.little.code}
    assert codes(schedule_rows(year=2026, region=w.yc)) == {w.sunny.code, w.little.code, w.rice.code}
    assert codes(schedule_rows(year=2026, region=w.city)) == {w.sunny.code, w.little.code, w.rice.code,
                                                               w.bamboo.code}


def test_the_command_filters_by_region_code(scheduled):
    rows = list(csv.DictReader(io.StringIO(export("--format", "csv", "--region", "330603").lstrip("\ufeff"))))
    assert {r["centre_code"] for r in rows} == {scheduled.bamboo.code}
    assert len(rows) == 13


def test_an_unknown_region_is_refused(scheduled):
    with pytest.raises(CommandError, match="no region has this code"):
        export("--format", "csv", "--region", "999999")


def test_a_user_sees_only_the_rows_of_contracts_in_scope(scheduled):
    w = scheduled
    erin = schedule_rows(year=2026, user=w.erin)
    assert erin and {r["provider_code"] for r in erin} == {"P-KQJD"}
    assert not [r for r in erin if r["provider_code"] == "P-TS"]
    assert {r["provider_code"] for r in schedule_rows(year=2026, user=w.carol)} == {"P-TS"}
    assert codes(schedule_rows(year=2026, user=w.fay)) == {w.sunny.code}
    assert codes(schedule_rows(year=2026, user=w.bob)) == {w.sunny.code, w.little.code, w.rice.code}
    assert schedule_rows(year=2026, user=w.alice) == schedule_rows(year=2026)


def test_scope_and_region_combine(scheduled):
    assert schedule_rows(year=2026, region=scheduled.kq, user=scheduled.carol) == []


# --------------------------------------------------------------------------- query count


def count_queries(**kwargs):
    with CaptureQueriesContext(connection) as queries:
        rows = schedule_rows(year=2026, **kwargs)
    return len(queries), len(rows)


def test_the_query_count_does_not_grow_with_the_schedule(world):
    sign(world.tashan_chc, world.sunny)
    schedule_generate(year=2026, today=TODAY)
    small, small_rows = count_queries()
    small_scoped, _ = count_queries(user=world.alice)
    for provider, centre in [(world.tashan_chc, world.little), (world.yc_mch, world.sunny),
                             (world.city_mch, world.sunny), (world.keqiao_chc, world.bamboo)]:
        sign(provider, centre)
    schedule_generate(year=2026, today=TODAY)
    large, large_rows = count_queries()
    large_scoped, _ = count_queries(user=world.alice)
    assert (small_rows, large_rows) == (13, 5 * 13)
    assert small == large == 2
    assert small_scoped == large_scoped


def test_the_pinned_query_count(scheduled, django_assert_num_queries):
    with django_assert_num_queries(2):
        schedule_rows(year=2026, region=scheduled.yc)


# --------------------------------------------------------------------------- renderings


def test_csv_is_utf8_with_a_bom_and_english_headers(scheduled, tmp_path):
    path = tmp_path / "schedule.csv"
    assert export("--format", "csv", "--output", str(path)) == ""
    data = path.read_bytes()
    assert data.startswith(BOM) and not data[3:].startswith(BOM)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == COLUMNS
        body = list(reader)
    assert body == [[as_text(row[c]) for c in COLUMNS] for row in expected_rows()]
    assert {r[COLUMNS.index("estimated")] for r in body} == {"false", ""}


def test_csv_goes_to_standard_output_without_output(scheduled, tmp_path):
    path = tmp_path / "schedule.csv"
    export("--format", "csv", "--output", str(path))
    assert export("--format", "csv").encode("utf-8") == path.read_bytes()


def test_xlsx_has_chinese_headers_date_cells_and_numbers(scheduled, tmp_path):
    path = tmp_path / "schedule.xlsx"
    export("--format", "xlsx", "--output", str(path))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["schedule"]
    sheet = book["schedule"]
    assert sheet.freeze_panes == "A2"
    cells = list(sheet.iter_rows())
    assert [c.value for c in cells[0]] == [HEADERS_ZH[c] for c in COLUMNS]
    assert [c.value for c in cells[0]] == ["周期", "服务类型", "机构编码", "托育机构代码", "场次ID", "日期", "开始",
                                           "结束", "状态", "估计", "医生"]
    expected = expected_rows()
    assert len(cells) == 1 + len(expected)
    day, session_id = COLUMNS.index("date"), COLUMNS.index("session_id")
    for row, want in zip(cells[1:], expected, strict=True):
        values = dict(zip(COLUMNS, [c.value for c in row], strict=True))
        if want["date"] is None:
            assert row[day].value is None and row[session_id].value is None
        else:
            assert row[day].is_date and row[day].number_format == "yyyy-mm-dd"
            assert values["date"].date() == want["date"]
            assert row[session_id].data_type == "n" and values["session_id"] == want["session_id"]
        assert {k: v for k, v in values.items() if k != "date"} == {k: v for k, v in want.items() if k != "date"}


def test_xlsx_needs_an_output_file(scheduled):
    with pytest.raises(CommandError, match="--output"):
        export("--format", "xlsx")


def test_json_is_a_list_of_objects_with_the_english_keys(scheduled, tmp_path):
    path = tmp_path / "schedule.json"
    export("--format", "json", "--output", str(path))
    data = json.loads(path.read_bytes().decode("utf-8"))
    assert [tuple(obj) for obj in data] == [COLUMNS] * len(data)
    expected = [{k: (v.isoformat() if isinstance(v, datetime.date) else v) for k, v in row.items()}
                for row in expected_rows()]
    assert data == expected
    assert json.loads(export("--format", "json")) == expected


def test_json_keeps_chinese_as_is():
    row = dict.fromkeys(COLUMNS, None) | {"doctor": "王医生", "date": datetime.date(2027, 1, 4)}
    data = render_json([row])
    assert "王医生".encode() in data and b'"2027-01-04"' in data
    assert json.loads(data) == [row | {"date": "2027-01-04"}]


def test_empty_exports_still_render():
    assert render_csv([]) == BOM + b"period,kind,provider_code,centre_code,session_id,date,start,end,status," \
                                   b"estimated,doctor\r\n"
    assert json.loads(render_json([])) == []
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx([])))
    assert book["schedule"].max_row == 1


def test_standard_output_gets_the_exact_bytes(scheduled, tmp_path, capfdbinary):
    path = tmp_path / "schedule.csv"
    export("--format", "csv", "--output", str(path))
    capfdbinary.readouterr()
    call_command("export_schedule", "--year", "2026", "--format", "csv")
    assert capfdbinary.readouterr().out == path.read_bytes()
