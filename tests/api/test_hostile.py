"""What the page-side hardening must not break for the API, and must also hold there: a
form-encoded or multipart body is refused by the API (it speaks JSON), never a 500; an escaped
NUL in a JSON body is a 400 before it can reach PostgreSQL."""

import pytest

from scheduling.models import Record

from .conftest import at, bearer
from .test_writes import TODAY, guidance, record_body

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["multipart", "urlencoded"])
def test_a_form_body_gets_a_refusal_not_a_server_error(planned, client, api, kind):
    session = guidance(planned, 1)
    headers = api(planned.dan).headers
    url = f"/api/v1/sessions/{session.pk}/record"
    with at(TODAY):
        if kind == "multipart":
            response = client.post(url, {"content": "x"}, headers=headers)
        else:
            response = client.post(url, "content=x", content_type="application/x-www-form-urlencoded",
                                   headers=headers)
    assert 400 <= response.status_code < 500
    assert not Record.objects.exists()


def test_a_nul_in_a_json_body_is_refused_in_json(planned, api):
    session = guidance(planned, 1)
    with at(TODAY):
        response = api(planned.dan).post(f"sessions/{session.pk}/record", record_body(session, content="检查\x00"))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "NUL" in response.json()["detail"] and response.json()["code"] == "bad_request"
    assert not Record.objects.exists()


def test_a_nul_in_a_query_is_json_to_an_api_client_and_a_page_to_a_browser(planned, client):
    """One rule for every path (mch_link.params.RefuseNulMiddleware); the answer follows the
    client's Accept header, not the path."""
    headers = bearer(planned.dan)
    response = client.get("/api/v1/regions", {"q": "a\x00b"}, headers={**headers, "Accept": "application/json"})
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    client.force_login(planned.carol)
    response = client.get("/contracts/", {"q": "a\x00b"}, headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert "含有不允许的控制字符" in response.content.decode()


def test_a_nul_in_a_form_body_is_refused_on_any_path(planned, client):
    headers = bearer(planned.dan)
    session = guidance(planned, 1)
    with at(TODAY):
        response = client.post(f"/api/v1/sessions/{session.pk}/record", {"content": "a\x00b"},
                               headers={**headers, "Accept": "application/json"})
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert not Record.objects.exists()


def test_a_multipart_body_gets_the_apis_own_json_refusal(planned, client):
    """Read as a form before the API (the NUL rule), a multipart body is refused by the API's
    own handler as not JSON, with an Idempotency-Key too (it hashes the body)."""
    session = guidance(planned, 1)
    with at(TODAY):
        response = client.post(f"/api/v1/sessions/{session.pk}/record", {"content": "x"},
                               headers={**bearer(planned.dan), "Idempotency-Key": "k1"})
    assert response.status_code == 415
    assert "JSON" in response.json()["detail"]
    assert not Record.objects.exists()


@pytest.mark.parametrize("content_type, encoding", [
    ("text/plain", "utf-8"),                       # ninja reads any non-form body as JSON
    ("application/json; charset=utf-16", "utf-16"),  # json.loads detects UTF-16 by itself
    ("application/json", "utf-16-le"),             # no BOM, no charset: still detected
    ("application/octet-stream", "utf-32"),
])
def test_a_nul_in_a_body_of_any_type_or_encoding_is_refused_before_the_api(planned, client, content_type, encoding):
    """The NUL rule reads the body as the API's JSON parser would (json.detect_encoding): a
    body sent as text/plain or in UTF-16/32 carrying an escaped or raw NUL is a 400 from the
    middleware, in JSON, and nothing is written."""
    import json
    session = guidance(planned, 1)
    for text in (json.dumps(record_body(session, content="检查\x00")),  # escaped: \u0000
                 json.dumps(record_body(session, content="检查\x00"), ensure_ascii=False).replace("\\u0000", "\x00")):
        with at(TODAY):
            response = client.generic("POST", f"/api/v1/sessions/{session.pk}/record", text.encode(encoding),
                                      content_type=content_type,
                                   headers={**bearer(planned.dan), "Accept": "application/json"})
        assert response.status_code == 400, (content_type, encoding, response.content[:200])
        assert "NUL" in response.json()["detail"]
    assert not Record.objects.exists()


def test_a_body_without_nul_in_utf16_is_not_refused_by_the_nul_rule(planned, client):
    """UTF-16 text is full of zero bytes: the rule decodes before it looks, so a clean body
    passes the middleware (whatever the API then makes of it)."""
    import json
    session = guidance(planned, 1)
    with at(TODAY):
        response = client.generic("POST", f"/api/v1/sessions/{session.pk}/record",
                                  json.dumps(record_body(session, content="检查")).encode("utf-16"),
                                  content_type="application/json; charset=utf-16",
                               headers={**bearer(planned.dan), "Accept": "application/json"})
    assert "NUL" not in response.content.decode("utf-8", "replace")
