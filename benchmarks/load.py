"""Benchmark: the busiest pages under gunicorn, with concurrent clients, on the demo data.

    .venv/bin/python benchmarks/load.py [--clients 8 16] [--requests 200] [--seconds 30] [--workers 4]
    DATABASE_URL=postgres://.../empty_db .venv/bin/python benchmarks/load.py

Builds the demo in a throwaway SQLite file, or in the empty PostgreSQL database of
DATABASE_URL (or reuses a demo database: --db PATH --reuse), as `make demo` does: migrate,
seed_demo, this year's and next year's plan, the past records (then, on PostgreSQL, ANALYZE,
as autovacuum would). Then starts gunicorn (sync
workers, DEBUG off, as the production profile) on 127.0.0.1 and a free port, and loads it with
a Python client (threads, one connection per request) for each page and number of clients:

- login: the POST of the login form (username and password; the password hash is the cost),
- agenda: /schedule/agenda/ as the demo doctor,
- feed: the demo doctor's calendar feed (no validators: a 200),
- dashboard: /reports/ as the demo city admin. The report part of the page is cached
  (reports.views): after the first request of each gunicorn worker, nearly every request is a
  hit; the share of hits is printed (the X-Report-Cache header),
- dashboard-miss: the same page, the data version raised before each request (untimed, as a
  committed record, confirmation or re-plan does: reports.freshness): every request misses the
  cache, as after such a change; the report's registry part (its coverage) is kept,
- dashboard-miss-registry: the same, as after a write to the registry (a contract, a centre):
  the registry version raised too, so the registry part is read again.

Bounded: each case stops after --requests requests or --seconds seconds, whichever comes
first; the server only listens on the loopback interface. It prints, per case, requests/s,
p50 and p99 of the response times and the errors (any status but the one expected, or a
failed connection). It asserts nothing about time: it is a benchmark, not a test. The client
shares the machine with the server (see benchmarks/README.md).
"""

import argparse
import http.client
import itertools
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import free_port, run_threads, start_gunicorn, stop_gunicorn  # noqa: E402

HOST = "127.0.0.1"  # loopback only (common.start_gunicorn binds there)
PASSWORD = "mch-demo-2026"  # mch_link.demo.DEFAULT_PASSWORD
DOCTOR, ADMIN = "doctor", "admin"


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def build_demo(env):
    """The demo as `make demo` builds it; returns the doctor's feed path."""
    year = time.localtime().tm_year
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--force")
    manage(env, "generate_schedule", "--year", str(year))
    manage(env, "generate_schedule", "--year", str(year + 1))
    manage(env, "seed_demo_records")
    analyze(env["DATABASE_URL"])
    return feed_path(env)


def analyze(database_url):
    """PostgreSQL: ANALYZE every table, as autovacuum would soon after the demo is built (the
    app analyzes only bulk writes from 1,000 rows: the demo's 500 centres and contracts are
    below that, and with autovacuum off their plans would be guessed)."""
    if not database_url.startswith(("postgres://", "postgresql://")):
        return
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(database_url)
    with psycopg.connect(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"],
                         password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True) as conn:
        conn.execute("ANALYZE")


def feed_path(env):
    out = subprocess.run([sys.executable, "manage.py", "feed_url", "--doctor", DOCTOR], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    return re.search(r"https?://[^/\s]+(/\S+)", out).group(1)


class Client:
    """One user's connection-per-request HTTP client with its cookies."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            headers = dict(headers or {})
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            self.report_cache = response.getheader("X-Report-Cache")
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, data
        finally:
            conn.close()

    def login_form(self):
        """GET the login page: its CSRF token (the cookie is kept)."""
        status, body = self.request("GET", "/accounts/login/")
        if status != 200:
            raise RuntimeError(f"login page: {status}")
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()

    def login(self, username, token=None):
        """POST the login form; True when it redirects (logged in)."""
        token = token or self.login_form()
        body = urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
        status, _ = self.request("POST", "/accounts/login/", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://{HOST}:{self.port}/accounts/login/"})
        return status == 302


def version_bumper(database_url, registry=False):
    """A function raising the reports' data version as a committed write does (its own
    connection per thread), for the dashboard-miss cases; with `registry`, as a write to the
    registry does (reports.freshness.bump)."""
    import dj_database_url

    db = dj_database_url.parse(database_url)
    local = threading.local()
    sql = f"UPDATE reports_dataversion SET n = n + 1{', registry = n + 1' if registry else ''} WHERE id = 1"

    def bump():
        if not hasattr(local, "conn"):
            if db["ENGINE"].endswith("sqlite3"):
                import sqlite3

                local.conn = sqlite3.connect(db["NAME"], timeout=30, isolation_level=None)
            else:
                import psycopg

                local.conn = psycopg.connect(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"],
                                             password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True)
        local.conn.execute(sql)

    return bump


def run_case(port, case, clients, max_requests, max_seconds, feed, database_url=None):
    """Load one page with `clients` threads. Returns (requests/s, times in seconds, errors).

    Each client logs in first (agenda, dashboard), and the clock starts once all have: the
    password hashes of the logins (the login case's own cost) do not queue in front of the
    page's first requests."""
    counter = itertools.count()
    times, errors, hits = [], [], []
    lock = threading.Lock()
    started_at = []
    ready = threading.Barrier(clients, action=lambda: started_at.append(time.perf_counter()))

    bump = None
    if case.startswith("dashboard-miss"):
        bump = version_bumper(database_url, registry=case.endswith("registry"))

    def user():
        client = Client(port)
        try:
            if case in ("agenda", "dashboard", "dashboard-miss", "dashboard-miss-registry"):
                if not client.login(DOCTOR if case == "agenda" else ADMIN):
                    raise RuntimeError("login failed")
        except Exception as exc:  # counted, not raised: the figures still stand
            with lock:
                errors.append(repr(exc))
            ready.wait()
            return
        ready.wait()
        deadline = started_at[0] + max_seconds
        while next(counter) < max_requests and time.perf_counter() < deadline:
            try:
                if case == "login":
                    token = client.login_form()  # the form's GET is not timed
                    started = time.perf_counter()
                    ok = client.login(DOCTOR, token)
                    client.cookies.pop("sessionid", None)
                else:
                    path = {"agenda": "/schedule/agenda/", "dashboard": "/reports/", "feed": feed}.get(case)
                    if bump is not None:
                        path = "/reports/"
                        bump()
                    started = time.perf_counter()
                    status, _ = client.request("GET", path)
                    ok = status == 200
                elapsed = time.perf_counter() - started
                with lock:
                    times.append(elapsed)
                    if case.startswith("dashboard"):
                        hits.append(client.report_cache == "hit")
                    if not ok:
                        errors.append("unexpected status")
            except OSError as exc:
                with lock:
                    errors.append(repr(exc))

    run_threads(user, clients)
    wall = time.perf_counter() - started_at[0]
    return len(times) / wall if wall else 0.0, times, errors, hits


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def serve(env, port, workers, log):
    """gunicorn on the loopback; its output (the request log: one line a request) goes to `log`."""
    return start_gunicorn("mch_link.wsgi", port, workers, env,
                          lambda: Client(port).request("GET", "/accounts/login/")[0] == 200,
                          stdout=log, stderr=subprocess.STDOUT)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 16], help="concurrent clients (default 8 16)")
    parser.add_argument("--requests", type=int, default=200, help="at most this many requests a case (default 200)")
    parser.add_argument("--seconds", type=float, default=30, help="at most this long a case (default 30)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4, as WEB_WORKERS)")
    parser.add_argument("--pages", nargs="+", default=["login", "agenda", "feed", "dashboard"],
                        choices=["login", "agenda", "feed", "dashboard", "dashboard-miss", "dashboard-miss-registry"])
    parser.add_argument("--db", help="SQLite file (kept); default: a temporary file, or DATABASE_URL if set")
    parser.add_argument("--reuse", action="store_true", help="the --db / DATABASE_URL already holds the demo")
    parser.add_argument("--port", type=int, help="gunicorn's port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)

    tmpdir = Path(tempfile.mkdtemp(prefix="mch-load-bench-"))
    process = None
    try:
        if args.db:
            database_url = f"sqlite:///{Path(args.db).resolve()}"
        else:
            database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmpdir / 'demo.sqlite3'}"
        env = dict(os.environ, DATABASE_URL=database_url, DEBUG="0", ALLOWED_HOSTS=HOST,
                   SECRET_KEY=os.environ.get("SECRET_KEY", "benchmark-only-not-a-secret"),
                   SESSION_COOKIE_SECURE="0", CSRF_COOKIE_SECURE="0",
                   LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT), STATIC_ROOT=str(tmpdir / "static"))
        started = time.perf_counter()
        manage(env, "collectstatic", "--noinput", "-v0")  # the hashed names the pages link (DEBUG off)
        feed = feed_path(env) if args.reuse else build_demo(env)
        print(f"database: {database_url.split('@')[-1]}; demo {'reused' if args.reuse else 'built'} "
              f"in {time.perf_counter() - started:.0f} s")
        port = args.port or free_port()
        log_path = tmpdir / "gunicorn.log"
        log = log_path.open("wb")
        process = serve(env, port, args.workers, log)
        print(f"gunicorn: {args.workers} sync workers on {HOST}:{port}; each case at most {args.requests} "
              f"requests or {args.seconds:.0f} s")
        for page in args.pages:  # warm every worker (imports, templates, the feed's cache)
            run_case(port, page, args.workers, 2 * args.workers, args.seconds, feed, database_url)
        print(f"{'page':23} {'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
              f" {'hits':>5}")
        for clients in args.clients:
            for page in args.pages:
                rate, times, errors, hits = run_case(port, page, clients, args.requests, args.seconds, feed,
                                                     database_url)
                p50 = statistics.median(times) * 1000 if times else float("nan")
                share = f"{100 * sum(hits) / len(hits):4.0f}%" if hits else "    -"
                print(f"{page:23} {clients:7} {len(times):8} {len(errors):6} {rate:7.1f} {p50:7.0f} "
                      f"{percentile(times, 0.99) * 1000:7.0f} {share}"
                      + (f"  first error: {errors[0]}" if errors else ""))
    finally:
        if process is not None:
            stop_gunicorn(process, log, log_path)
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
