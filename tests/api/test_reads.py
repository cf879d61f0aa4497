"""The read endpoints as a client uses them: cursor paging that stays stable while rows are
added, ETags, "as of" and "changed since" filters, the figures equal to their commands' JSON,
refusals of bad parameters in Chinese, and query counts that do not grow with the rows."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.models import Session
from scheduling.services import session_move
from tests import factories as f

from .conftest import at, submit_record

pytestmark = pytest.mark.django_db


def walk(client, path, limit, cursor=None, **params):
    """Every item of a list from `cursor` on, page by page; the pages' sizes too."""
    items, sizes = [], []
    while True:
        body = client.get(path, limit=limit, **({"cursor": cursor} if cursor else {}), **params).json()
        items += body["items"]
        sizes.append(len(body["items"]))
        cursor = body["next_cursor"]
        if not cursor:
            return items, sizes


class TestPaging:
    def test_pages_cover_every_row_once_in_a_stable_order(self, planned, api):
        client = api(planned.alice)
        items, sizes = walk(client, "sessions", 7)
        ids = [s["id"] for s in items]
        assert ids == sorted(Session.objects.values_list("pk", flat=True))
        assert max(sizes) == 7 and len(sizes) == -(-len(ids) // 7)

    def test_rows_added_while_paging_do_not_shift_the_pages(self, world, api):
        client = api(world.alice)
        first = client.get("centres", limit=2).json()
        f.centre("新苗托育", world.tashan)
        rest, _sizes = walk(client, "centres", 2, cursor=first["next_cursor"])
        codes = [c["code"] for c in first["items"] + rest]
        assert len(codes) == len(set(codes)) == 5
        assert codes[-1] == world.tashan.centres.get(name="新苗托育").code

    def test_a_made_up_cursor_is_refused_in_chinese(self, world, api):
        response = api(world.alice).get("centres", cursor="bm9wZQ")
        assert response.status_code == 400
        assert "分页游标无效" in response.json()["detail"]

    @pytest.mark.parametrize("limit, message", [(0, "不能小于 1"), (501, "不能大于 500"), ("x", "应为整数")])
    def test_a_bad_limit_is_422_with_the_field_in_chinese(self, world, api, limit, message):
        response = api(world.alice).get("regions", limit=limit)
        assert response.status_code == 422
        assert response.json()["errors"] == {"query.limit": [message]}


class TestETag:
    def test_an_unchanged_list_is_304_and_a_changed_one_200(self, world, api):
        client = api(world.alice)
        first = client.get("regions")
        etag = first["ETag"]
        assert first.status_code == 200 and etag
        again = client.client.get("/api/v1/regions", headers={**client.headers, "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        f.region("330602099", "新街道", parent=world.yc)
        changed = client.client.get("/api/v1/regions", headers={**client.headers, "If-None-Match": etag})
        assert changed.status_code == 200 and changed["ETag"] != etag
        assert "Authorization" in changed["Vary"] and "private" in changed["Cache-Control"]


class TestFilters:
    def test_a_centres_grade_and_filing_as_of_a_day(self, world, api):
        client = api(world.alice)
        now = client.get(f"centres/{world.bamboo.code}", as_of="2026-06-01").json()
        assert (now["grade"], now["grade_rank"], now["open"]) == ("一级", 3, True)
        before = client.get(f"centres/{world.bamboo.code}", as_of="2023-06-01").json()
        assert (before["grade"], before["open"]) == (None, False)
        listed = {c["code"]: c["grade"] for c in client.get("centres", as_of="2026-06-01").json()["items"]}
        assert listed[world.sunny.code] == "市级示范" and listed[world.rice.code] is None

    def test_sessions_by_period_provider_centre_status_and_changed_since(self, planned, api):
        client = api(planned.alice)
        q1 = client.get("sessions", period="2026Q1", limit=500).json()["items"]
        assert q1 and all("2026-01-01" <= s["date"] <= "2026-03-31" for s in q1)
        by_centre = client.get("sessions", centre=planned.bamboo.code, limit=500).json()["items"]
        assert by_centre and {s["provider"] for s in by_centre} == {"P-KQJD"}
        by_provider = client.get("sessions", provider="P-TS", limit=500).json()["items"]
        assert {s["id"] for s in by_provider} == set(planned.tashan_chc.sessions.values_list("pk", flat=True))
        session = planned.tashan_chc.sessions.filter(date__gte=datetime.date(2026, 12, 1)).first()
        with at(datetime.date(2026, 11, 30)):
            session_move(session=session, user=planned.carol, day=session.date + datetime.timedelta(days=1),
                         start=session.start, end=session.end, reason="医生外出", version=session.version)
        changed = client.get("sessions", updated_since="2026-11-30T00:00:00+08:00").json()["items"]
        assert [s["id"] for s in changed] == [session.pk]
        assert changed[0]["change_reason"] == "医生外出" and changed[0]["sequence"] == 1
        assert client.get("sessions", status="held").json()["items"] == []

    def test_records_with_their_parts(self, recorded, api):
        body = api(recorded.fay).get("records").json()["items"]
        assert [r["id"] for r in body] == [recorded.record.pk]
        (part,) = body[0]["parts"]
        assert part["centre"] == recorded.sunny.code and part["confirmation"] == "unconfirmed"
        assert body[0]["findings"] == {"卫生与消毒": "消毒记录不全"} and body[0]["status"] == "submitted"

    @pytest.mark.parametrize("params, field, message", [
        ({"updated_since": "yesterday"}, "query.updated_since", "ISO 8601"),
        ({"period": "2026Q5"}, None, "周期应为 2027Q1"),
        ({"status": "done"}, "query.status", "取值应为"),
    ])
    def test_bad_filters_are_refused_in_chinese(self, planned, api, params, field, message):
        response = api(planned.alice).get("sessions", **params)
        assert response.status_code == 422
        body = response.json()
        assert message in (body["errors"][field][0] if field else body["detail"])

    def test_changed_since_takes_any_offset_and_refuses_a_moment_out_of_range(self, planned, api):
        client = api(planned.alice)  # PostgreSQL itself refuses offsets past ±15:59
        assert client.get("sessions", updated_since="0893-02-06T01:06:56-16:13").status_code == 200
        naive = client.get("sessions", updated_since="2099-01-01T00:00:00")
        assert naive.status_code == 200 and naive.json()["items"] == []
        response = client.get("contracts", updated_since="0001-01-01T00:00:00+05:00")
        assert response.status_code == 422 and response.json()["errors"]["query.updated_since"] == ["时间超出范围"]

    def test_the_work_calendar(self, planned, api):
        (year,) = api(planned.fay).get("workdays", year=2026).json()
        assert year["year"] == 2026 and {"date": "2026-10-01", "is_off": True, "name": ""} in year["days"]


class TestFigures:
    def test_coverage_is_the_coverage_commands_json(self, planned, api):
        out = io.StringIO()
        call_command("coverage", "--date", "2026-06-30", "--region", planned.city.code, "--format", "json", stdout=out)
        response = api(planned.alice).get("coverage", date="2026-06-30", region=planned.city.code)
        assert response.json() == json.loads(out.getvalue())

    def test_the_completion_report_is_the_commands_json(self, recorded, api):
        out = io.StringIO()
        call_command("completion_report", "--year", "2026", "--quarter", "1", "--region", recorded.city.code,
                     "--as-of", "2026-11-29", "--format", "json", stdout=out)
        response = api(recorded.alice).get("reports/completion", period="2026Q1", region=recorded.city.code,
                                           as_of="2026-11-29")
        expected = json.loads(out.getvalue())
        assert response.json() == expected and expected["completion"]["guidance"]["owed"] == 2

    def test_a_managers_report_is_its_own_providers(self, recorded, api):
        body = api(recorded.carol).get("reports/completion", period="2026Q1").json()
        assert [p["code"] for p in body["by_provider"]] == ["P-TS"]


# Queries of a list page, whatever its length: auth (token, count), then the page and its
# prefetches; coverage and the report are pinned by their own tests (tests/reports).
# A city admin's scope reads its region tree once.
PINNED = {"regions": 4, "providers": 5, "centres": 6, "contracts": 4, "obligations": 4, "sessions": 5,
          "records": 6, "workdays": 4}


@pytest.mark.parametrize("path", sorted(PINNED))
def test_a_list_costs_the_same_queries_for_one_row_or_many(recorded, api, path):
    submit_record(recorded.training, recorded.dan)
    client = api(recorded.alice)
    counts = []
    for limit in (1, 500):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path, limit=limit).status_code == 200
        counts.append(len(queries))
    assert counts == [PINNED[path]] * 2
