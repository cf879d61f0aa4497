"""The production profile on loopback: two gunicorn workers and two django-q clusters on
PostgreSQL and Redis, started and stopped by mch_link.procrun. A manager signs a contract
through the web; the re-plan goes through the Redis queue to a worker, which plans the
sessions. Runs in CI's PostgreSQL pass (Redis runs there); skipped on SQLite."""

import datetime
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from mch_link.models import Contract
from scheduling.models import Session
from tests import factories

REDIS = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_up():
    host = urllib.parse.urlsplit(REDIS)
    try:
        with socket.create_connection((host.hostname, host.port or 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


pytestmark = [
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                       reason="the production profile runs on PostgreSQL (CI's PostgreSQL pass)"),
    pytest.mark.skipif(not _redis_up(), reason="Redis is not reachable on loopback"),
]


def _wait(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _get(opener, url):
    try:
        with opener.open(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


@pytest.mark.django_db(transaction=True)
def test_two_web_processes_and_two_workers_replan_a_signed_contract(world, tmp_path):
    draft = Contract.objects.create(provider=world.tashan_chc, centre=world.little,
                                    valid_from=datetime.date(2026, 11, 1), valid_to=datetime.date(2027, 10, 31))
    # the production settings hash with PBKDF2, not the tests' MD5
    world.carol.password = PBKDF2PasswordHasher().encode(factories.PASSWORD, "smoke-salt-1234")
    world.carol.save()
    port = _free_port()
    db = connection.settings_dict
    py = sys.executable
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"TESTING", "DJANGO_SETTINGS_MODULE", "SITE_URL"}},
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": REDIS, "Q_CLUSTER_NAME": f"smoke{os.getpid()}", "SECRET_KEY": "smoke-test-key-not-secret",
        "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
        "MEDIA_ROOT": str(tmp_path / "media"), "PROCRUN_STOP_SECONDS": "8",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    # as `make serve` does: the pages link the hashed names collectstatic writes in its manifest
    subprocess.run([py, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=settings.BASE_DIR, env=env, check=True)
    log = open(tmp_path / "procrun.log", "w+")
    runner = subprocess.Popen(
        [py, "-m", "mch_link.procrun",
         f"web={py} -m gunicorn mch_link.wsgi --bind 127.0.0.1:{port} --workers 2 --timeout 60",
         f"worker1=Q_WORKERS=1 Q_SCHEDULER=0 {py} manage.py qcluster",
         f"worker2=Q_WORKERS=1 {py} manage.py qcluster"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        _wait(lambda: _get(opener, base + "/healthz")[0] == 200, 30, "gunicorn and /healthz")
        status, body = _get(opener, base + "/healthz")
        assert '"kind": "redis"' in body and '"status": "ok"' in body

        # log in and sign through the web, as the manager would
        _status, page = _get(opener, base + "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"username": "carol", "password": factories.PASSWORD, "csrfmiddlewaretoken": token}
        opener.open(urllib.request.Request(base + "/accounts/login/", urllib.parse.urlencode(form).encode(),
                                           headers={"Referer": base + "/accounts/login/"}), timeout=10)
        _status, page = _get(opener, f"{base}/contracts/{draft.pk}/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"signed_on": "2026-11-20", "valid_from": "2026-11-01", "valid_to": "2027-10-31",
                "csrfmiddlewaretoken": token}
        opener.open(urllib.request.Request(f"{base}/contracts/{draft.pk}/sign/", urllib.parse.urlencode(form).encode(),
                                           headers={"Referer": f"{base}/contracts/{draft.pk}/"}), timeout=30)
        draft.refresh_from_db()
        assert draft.status == Contract.Status.SIGNED

        # the re-plan went on the Redis queue; a worker picks it up and plans the sessions
        _wait(lambda: Session.objects.filter(provider=world.tashan_chc).exists(), 40, "the re-plan's sessions")
    finally:
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
        log.seek(0)
        output = log.read()
        print(output[-4000:])  # shown by pytest when the test fails
    assert "Traceback" not in output and "Segmentation fault" not in output, output[-3000:]
    assert output.count('"route": "/contracts/<int:pk>/sign/"') == 1
