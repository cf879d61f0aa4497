"""One language whatever the phone asks, and light on the wire under the production settings:
compressed HTML, hashed static files with a long lifetime and gzip copies (docs/accessibility.md)."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("asked", ["en", "en-US,en;q=0.9", "zh-CN,zh;q=0.9"])
def test_a_page_is_chinese_whatever_the_browser_asks(client, world, asked):
    client.force_login(world.dan)
    client.cookies["django_language"] = "en"  # nor a language cookie from elsewhere

    response = client.post("/accounts/password/", {}, HTTP_ACCEPT_LANGUAGE=asked)

    html = response.content.decode()
    assert response["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in html
    assert "这个字段是必填项。" in html  # Django's own message, in the page's language
    assert "This field is required" not in html


PROBE = r"""
import json, re, sys
import django
django.setup()
from django.test import Client
c = Client()
login = c.get("/accounts/login/", HTTP_ACCEPT_ENCODING="gzip")
page = login.content
import gzip
html = gzip.decompress(page).decode() if login.get("Content-Encoding") == "gzip" else page.decode()
css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', html)
out = {"html_encoding": login.get("Content-Encoding"), "css": css and css.group(1),
       "icon": "/favicon" in html, "manifest": "manifest" in html}
if css:
    r = c.get(css.group(1), HTTP_ACCEPT_ENCODING="gzip")
    out.update(status=r.status_code, cache=r.get("Cache-Control"), encoding=r.get("Content-Encoding"),
               vary=r.get("Vary"))
print(json.dumps(out))
"""


def test_static_files_are_hashed_long_lived_and_gzipped_under_the_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"TESTING", "DJANGO_SETTINGS_MODULE", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="mch_link.settings", DEBUG="0", SECRET_KEY="wire-test-key-not-secret",
               STATIC_ROOT=str(tmp_path / "static"), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               REQUEST_LOG="0")
    run = dict(cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    collect = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], **run)
    assert collect.returncode == 0, collect.stderr
    assert list((tmp_path / "static/css").glob("app.*.css.gz")), "a pre-compressed copy of the stylesheet"

    probe = subprocess.run([sys.executable, "-c", PROBE], **run)
    assert probe.returncode == 0, probe.stderr
    got = json.loads(probe.stdout.strip().splitlines()[-1])

    assert got["html_encoding"] == "gzip"  # the page itself is compressed
    assert got["css"], "the stylesheet is linked by its hashed name"
    assert got["status"] == 200 and got["encoding"] == "gzip"
    assert "max-age=315360000" in got["cache"] and "immutable" in got["cache"]
    assert "Accept-Encoding" in got["vary"]
    assert got["icon"] and got["manifest"]
