"""What the page-side hardening must not break for the API, and must also hold there: a
form-encoded or multipart body is refused by the API (it speaks JSON), never a 500; an escaped
NUL in a JSON body is a 400 before it can reach PostgreSQL."""

import pytest

from scheduling.models import Record

from .conftest import at
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


def test_a_nul_in_a_json_body_is_refused(planned, api):
    session = guidance(planned, 1)
    with at(TODAY):
        response = api(planned.dan).post(f"sessions/{session.pk}/record", record_body(session, content="检查\x00"))
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    assert not Record.objects.exists()
