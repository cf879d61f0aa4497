"""A schemathesis run against the generated OpenAPI document: for every operation, requests
generated from its schema (valid and not) get no server error and no answer that breaks the
documented response schema. As the city admin and as a centre's staff member, with tokens."""

import datetime

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.main import api as ninja_api

from .conftest import at, bearer

pytestmark = pytest.mark.django_db
schema = schemathesis.openapi.from_dict(ninja_api.get_openapi_schema(path_prefix="/api/"))
APP = get_wsgi_application()


@pytest.fixture
def tokens(recorded):
    """Tokens of three roles; the WSGI app keeps the test's database connection between
    requests, as Django's test client does (else PostgreSQL's test transaction is closed)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield [bearer(recorded.alice), bearer(recorded.carol), bearer(recorded.fay)]
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_server_error_and_every_answer_fits_the_schema(case, tokens, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 100_000
    with at(datetime.date(2026, 11, 29)):
        for headers in tokens:
            # the WSGI transport does not undo GZipMiddleware: ask for the plain body
            case.call_and_validate(app=APP, headers={**headers, "Accept-Encoding": "identity"},
                                   checks=[not_a_server_error, response_schema_conformance])
