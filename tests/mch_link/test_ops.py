"""Operations: /healthz, the request log line, backup/restore, SITE_URL and the one warning."""

import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from mch_link import ops
from mch_link.models import Region
from scheduling.jobs import SCHEDULES, register_schedules

PYTHON = sys.executable


def test_healthz_answers_anyone_with_database_broker_and_jobs(client, db, django_assert_max_num_queries):
    register_schedules()
    with django_assert_max_num_queries(3):
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True and body["broker"]["ok"] is True
    assert set(body["jobs"]) == set(SCHEDULES)
    assert all(job["registered"] and job["next_run"] for job in body["jobs"].values())
    text = response.content.decode()
    for secret in (settings.SECRET_KEY, connection.settings_dict.get("PASSWORD") or settings.SECRET_KEY,
                   connection.settings_dict["NAME"]):
        assert str(secret) not in text


def test_healthz_fails_with_503_when_the_broker_does_not_answer(client, db, settings, monkeypatch):
    class DeadBroker:
        def ping(self):
            raise ConnectionError("redis://:hunter2@10.0.0.5:6379 refused")

    settings.REDIS_URL = "redis://:hunter2@10.0.0.5:6379/0"
    monkeypatch.setattr(ops, "_broker", DeadBroker())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "fail" and response.json()["broker"]["ok"] is False
    assert "hunter2" not in response.content.decode() and "10.0.0.5" not in response.content.decode()


def test_each_request_logs_one_json_line_without_the_feed_token(client, db, caplog):
    with caplog.at_level(logging.INFO, logger="mch_link.requests"):
        client.get("/calendar/feed/secret-token-123.ics")
        client.get("/healthz")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mch_link.requests"]
    assert [(line["method"], line["route"]) for line in lines] == [
        ("GET", "/calendar/feed/<str:token>.ics"), ("GET", "/healthz")]
    assert lines[1]["status"] == 200 and lines[1]["ms"] >= 0
    assert not any("secret-token-123" in r.getMessage() for r in caplog.records if r.name == "mch_link.requests")


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_round_trip(tmp_path):
    Region.objects.create(code="330600", name="绍兴市", level="city")
    path = tmp_path / "site.backup"
    call_command("backup", str(path), stdout=open(os.devnull, "w"))
    assert path.stat().st_size > 0
    Region.objects.filter(code="330600").update(name="改掉的名字")
    Region.objects.create(code="330602", name="越城区", level="county", parent=Region.objects.get(code="330600"))
    call_command("restore", str(path), "--noinput", stdout=open(os.devnull, "w"))
    assert list(Region.objects.values_list("code", "name")) == [("330600", "绍兴市")]


def _settings_value(expr, **env):
    code = f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='mch_link.settings'; " \
           f"from django.conf import settings; print({expr})"
    base = {k: v for k, v in os.environ.items()
            if k not in {"SITE_URL", "HOST", "PORT", "TESTING", "SECRET_KEY", "SECRET_KEY_WARNED"}}
    return subprocess.run([PYTHON, "-c", code], env={**base, "DEBUG": "1", **env}, capture_output=True,
                          text=True, cwd=settings.BASE_DIR, timeout=60)


def test_site_url_follows_host_and_port_unless_set():
    assert _settings_value("settings.SITE_URL", PORT="18801").stdout.strip() == "http://127.0.0.1:18801"
    assert _settings_value("settings.SITE_URL", HOST="0.0.0.0", PORT="9000").stdout.strip() \
        == "http://127.0.0.1:9000"
    assert _settings_value("settings.SITE_URL", PORT="18801", SITE_URL="https://mch.example.cn/").stdout.strip() \
        == "https://mch.example.cn"


def test_the_development_key_warning_prints_once_across_the_processes_started():
    # A process that warned starts another (as runserver and django-q do): it stays quiet.
    child = (f"import subprocess; subprocess.run([{PYTHON!r}, '-c', "
             f"'import os; os.environ[\"DJANGO_SETTINGS_MODULE\"]=\"mch_link.settings\"; "
             f"from django.conf import settings; settings.DEBUG'])")
    done = _settings_value(f"(settings.DEBUG, exec({child!r}))")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("UserWarning: SECRET_KEY is not set") == 1


def test_favicon_ico_is_the_linked_icon_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    assert response["Location"] == static("favicon.svg")
    assert finders.find("favicon.svg")


def test_cache_url_shares_the_cache_between_processes():
    """Without CACHE_URL each process keeps its own LocMem cache; with it, the processes of a
    deployment share Redis: what one process cached another reads (the dashboard's report
    computed once for all web processes and hosts)."""
    backend = "settings.CACHES['default']['BACKEND']"
    assert _settings_value(backend).stdout.strip() == "django.core.cache.backends.locmem.LocMemCache"
    url = "redis://127.0.0.1:6379/7"
    assert _settings_value(backend, CACHE_URL=url).stdout.strip() == "django.core.cache.backends.redis.RedisCache"
    key = f"test-share-{os.getpid()}"
    put = _settings_value(f"__import__('django').setup() or __import__('django.core.cache').core.cache.cache"
                          f".set({key!r}, '共享', 60)", CACHE_URL=url)
    assert put.returncode == 0, put.stderr
    got = _settings_value(f"__import__('django').setup() or __import__('django.core.cache').core.cache.cache"
                          f".get({key!r})", CACHE_URL=url)
    assert got.stdout.strip() == "共享", got.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("older", [
    "0002",  # before the registry version's column (reports 0003)
    "0001",  # before the DataVersion table: pg_restore --clean alone left the live one, and the
             # migrate after the restore failed creating it, after the data were replaced
])
def test_a_backup_of_an_older_release_is_restored_and_brought_to_this_schema(tmp_path, older):
    """The restore brings a backup of an older release to this release's schema, and the
    versions are raised above the one before."""
    from reports import freshness

    Region.objects.create(code="330600", name="绍兴市", level="city")
    before = freshness.versions()
    quiet = open(os.devnull, "w")
    call_command("migrate", "reports", older, stdout=quiet)
    try:
        path = tmp_path / "older.backup"
        call_command("backup", str(path), stdout=quiet)
    finally:
        call_command("migrate", "reports", stdout=quiet)
    call_command("restore", str(path), "--noinput", stdout=quiet)
    assert list(Region.objects.values_list("code", "name")) == [("330600", "绍兴市")]
    n, registry = freshness.versions()
    assert n > before[0] and registry == n
