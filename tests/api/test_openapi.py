"""The OpenAPI 3.1 document: docs/openapi.json is what the code generates (CI fails on drift:
run `python manage.py export_openapi`), it is served at /api/openapi.json, and the docs page
at /api/docs runs under the site's Content-Security-Policy with no file from the internet."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command

from api.management.commands.export_openapi import DEFAULT_PATH, openapi_text

pytestmark = pytest.mark.django_db


def test_docs_openapi_json_is_what_the_code_generates():
    assert DEFAULT_PATH.read_text(encoding="utf-8") == openapi_text(), \
        "docs/openapi.json is out of date: run `python manage.py export_openapi`"


def test_the_check_flag_fails_on_drift(tmp_path):
    stale = tmp_path / "openapi.json"
    stale.write_text(openapi_text().replace('"3.1.0"', '"3.0.0"'), encoding="utf-8")
    with pytest.raises(CommandError, match="out of date"):
        call_command("export_openapi", "--check", "--output", str(stale))
    call_command("export_openapi", "--output", str(stale))
    call_command("export_openapi", "--check", "--output", str(stale))


def test_the_document_is_openapi_3_1_with_the_bearer_scheme(client):
    schema = client.get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert all(p.startswith("/api/v1/") for p in schema["paths"])


def test_the_docs_page_loads_only_our_own_scripts_and_styles(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page = response.content.decode()
    assert "cdn" not in page.lower() and "https://" not in page
    for tag in re.findall(r"<script[^>]*>", page):  # no inline script: a src, or JSON data
        assert "src=" in tag or 'type="application/json"' in tag, tag
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert finders.find(url.removeprefix(settings.STATIC_URL if settings.STATIC_URL.startswith("/")
                                             else "/" + settings.STATIC_URL)), url
    assert Path(finders.find("ninja/swagger-ui-bundle.js")).stat().st_size > 100_000
