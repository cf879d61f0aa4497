"""Benchmark: a provider's calendar feed with a year of sessions, built and served.

    .venv/bin/python benchmarks/feeds.py [--centres 100] [--runs 20] [--requests 500] [--concurrency 4]
        [--rounds 3] [--cpu-runs 300] [--port PORT]

Builds a small registry in a throwaway SQLite database, or in the empty PostgreSQL database of
DATABASE_URL (one 社区卫生服务中心 with 6 doctors
and `--centres` centres in its township, all signed for next year), plans that year with
schedule_generate, then measures in one run:

1. build: scheduling.feeds.feed_content() for the provider's feed: once cold (the
   per-process memo of event texts emptied, as after a worker restart), then warm, median
   (and min) of `--runs` calls, split into the reads (feed_sessions + load_sessions) and
   the text (build_calendar: the event fields, their memoised icalendar text, the header);
2. request CPU: one request through the WSGI application gunicorn runs (bench_app), in this
   process, `--cpu-runs` times per case (process_time, medians): the static copy, the feed's
   cached 200 and its 304, interleaved. Less sensitive to the machine's load than (3), and
   without gunicorn's own cost per request, so its ratios are lower;
3. serve: gunicorn (sync workers, one per core) on 127.0.0.1 and a free port, loaded by a
   Python client (threads, a new connection per request, as gunicorn's sync workers do not
   keep connections alive) with a fixed number of requests at a fixed concurrency, against
   - the feed URL (200, the whole body; after the warm-up from each worker's cache),
   - the feed URL with If-None-Match (304 from the fingerprint, feeds.feed_state: no body built),
   - a static copy of the same feed body served by WhiteNoise wrapping the same WSGI app in
     the same gunicorn (the cost of sending those bytes and nothing else).
   `--rounds` interleaved rounds (3); the figures are their medians, and the ratio is feed / static.

It prints the figures and asserts nothing about time: it is a benchmark, not a test.
The client runs on the same machine as the server: it takes CPU from the workers, which
understates the static figure more than the feed's (see docs/calendars.md).
"""

import argparse
import datetime
import http.client
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # as a script or imported by gunicorn
from common import free_port, run_threads, setup_django, start_gunicorn, stop_gunicorn  # noqa: E402

STATIC_PREFIX = "bench-static/"
STATIC_NAME = "feed-copy.ics"
DOCTORS = 6




# --------------------------------------------------------------------------- the WSGI app gunicorn runs


def bench_app():
    """gunicorn factory ("benchmarks.feeds:bench_app()"): the project's WSGI application,
    wrapped by WhiteNoise serving $BENCH_STATIC_DIR at /bench-static/."""
    from whitenoise import WhiteNoise

    from mch_link.wsgi import application

    return WhiteNoise(application, root=os.environ["BENCH_STATIC_DIR"], prefix=STATIC_PREFIX)


# --------------------------------------------------------------------------- the registry


def build_registry(centres_wanted, year):
    """One township, one provider with DOCTORS doctors, `centres_wanted` centres, all signed
    for `year`; then schedule_generate(year). Returns (provider, sessions)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from mch_link.models import Centre, Contract, Membership, Provider, Region, Role
    from mch_link.validators import uscc_check_char
    from scheduling.models import Session
    from scheduling.services import schedule_generate

    with transaction.atomic():
        city = Region.objects.create(code="330600", name="绍兴市", level=Region.Level.CITY)
        county = Region.objects.create(code="330602", name="越城区", level=Region.Level.COUNTY, parent=city)
        township = Region.objects.create(code="330602001", name="塔山街道", level=Region.Level.TOWNSHIP,
                                         parent=county)
        provider = Provider.objects.create(code="P-TS", name="塔山街道社区卫生服务中心",
                                           kind=Provider.Kind.COMMUNITY, region=township, doctors=DOCTORS,
                                           phone="0575-85123456", address="塔山街道解放北路100号")
        User = get_user_model()
        for i in range(DOCTORS):
            user = User.objects.create(username=f"doctor{i + 1}", first_name=f"医生{i + 1}", password="!")
            Membership.objects.create(user=user, role=Role.DOCTOR, provider=provider)
        centres = []
        for n in range(1, centres_wanted + 1):
            body = f"52330602MJ{n:07d}"
            centres.append(Centre(code=body + uscc_check_char(body), name=f"托育机构{n:03d}", township=township,
                                  address=f"塔山街道示范路{n}号", filed_on=datetime.date(2024, 1, 1)))
        Centre.objects.bulk_create(centres)
        Contract.objects.bulk_create([
            Contract(provider=provider, centre=c, status=Contract.Status.SIGNED,
                     signed_on=datetime.date(year - 1, 12, 1), valid_from=datetime.date(year, 1, 1),
                     valid_to=datetime.date(year, 12, 31))
            for c in Centre.objects.all()
        ])
    report = schedule_generate(year=year, today=datetime.date(year - 1, 12, 1))
    return provider, Session.objects.filter(provider=provider).count(), report


# --------------------------------------------------------------------------- measurements


def time_build(feed, runs):
    """Seconds per call over `runs` calls: {"build": feed_content with the cache emptied,
    "reads": its four queries, "text": its calendar text, "cached": feed_content from the
    cache (one query), "state": feed_state (the work of a 304)}."""
    from django.utils import translation

    from scheduling import feeds

    found = {name: [] for name in ("build", "reads", "text", "cached", "state")}

    def timed(name, function, *args, **kwargs):
        started = time.perf_counter()
        result = function(*args, **kwargs)
        found[name].append(time.perf_counter() - started)
        return result

    for _ in range(runs):
        feeds.cache.clear()
        timed("build", feeds.feed_content, feed)
        timed("cached", feeds.feed_content, feed)
        timed("state", feeds.feed_state, feed)
        viewer, qs = feeds.feed_sessions(feed)
        first, last = feeds.feed_window(datetime.date.today())
        sessions = timed("reads", feeds.load_sessions, viewer, qs.filter(date__range=(first, last)))
        with translation.override("zh-hans"):
            timed("text", feeds.build_calendar, feeds.calendar_name(feed), sessions)
    return found


def fetch(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, body, dict(response.getheaders())
    finally:
        conn.close()


def wsgi_environ(path, headers=None):
    """A GET of `path` as gunicorn hands it to the WSGI application (127.0.0.1, no body)."""
    import io

    environ = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
               "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False}
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def time_requests(app, cases, runs):
    """CPU seconds (process_time) of one request through the WSGI application `app`, body
    read and closed, per case of `cases` [(name, path, headers)]: `runs` rounds, the cases
    interleaved in each. Returns {name: [seconds, ...]}."""
    found = {name: [] for name, _p, _h in cases}

    def start_response(status, headers, exc_info=None):
        start_response.status = status

    for _ in range(runs):
        for name, path, headers in cases:
            environ = wsgi_environ(path, headers)
            started = time.process_time()
            result = app(environ, start_response)
            try:
                for _chunk in result:
                    pass
            finally:
                if hasattr(result, "close"):
                    result.close()
            found[name].append(time.process_time() - started)
            assert start_response.status[:3] in ("200", "304"), (name, start_response.status)
    return found


def print_request_cpu(static_dir, tmpdir, feed, static_path, runs):
    """CPU of one request through the WSGI application gunicorn runs (bench_app), in this
    process: the static copy, the feed's 200 and its 304, interleaved; medians and ratios."""
    import logging

    from scheduling import feeds

    os.environ["BENCH_STATIC_DIR"] = str(static_dir)
    app = bench_app()
    # the request log is written as under gunicorn, to a file rather than this terminal
    handlers = logging.getLogger("mch_link.requests").handlers
    streams = [h.setStream((tmpdir / "request-cpu.log").open("a")) for h in handlers]
    try:
        state = feeds.feed_state(feed)
        feed_path = feeds.feed_path(feed)
        cases = [("static copy (WhiteNoise)", static_path, None), ("feed 200 (cached)", feed_path, None),
                 ("feed 304 (If-None-Match)", feed_path, {"If-None-Match": state.etag})]
        time_requests(app, cases, 20)  # warm-up: the cache, the connection, the compiled statements
        found = time_requests(app, cases, runs)
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream).close()
    static = statistics.median(found[cases[0][0]])
    print(f"CPU of one request through the WSGI application, in this process (process_time, median of {runs}):")
    for name, values in found.items():
        median = statistics.median(values)
        print(f"  {name:26} {median * 1000:6.3f} ms  ratio to static {static / median:.3f}")


def load(port, path, total, concurrency, headers=None):
    """`total` GETs over `concurrency` threads. Returns (requests per second, statuses)."""
    counter = itertools.count()
    statuses = Counter()
    lock = threading.Lock()

    def worker():
        while next(counter) < total:
            status, _body, _headers = fetch(port, path, headers)
            with lock:
                statuses[status] += 1

    return total / run_threads(worker, concurrency), statuses


def serve(port, workers, static_dir, database_url, log):
    env = dict(os.environ, BENCH_STATIC_DIR=str(static_dir), DATABASE_URL=database_url,
               ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT),
               STATIC_ROOT=str(static_dir))
    # the request log (one line a request) is still written, to `log`
    return start_gunicorn("benchmarks.feeds:bench_app()", port, workers, env,
                          lambda: fetch(port, "/" + STATIC_PREFIX + STATIC_NAME), stdout=log, stderr=subprocess.STDOUT)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--centres", type=int, default=100, help="centres served by the provider (default 100)")
    parser.add_argument("--runs", type=int, default=20, help="feed builds to time (default 20)")
    parser.add_argument("--requests", type=int, default=500, help="requests per load round (default 500)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved load rounds (default 3)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="gunicorn sync workers (default: one per core)")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--cpu-runs", type=int, default=300,
                        help="requests per case timed through the WSGI application in this process (default 300)")
    args = parser.parse_args(argv)

    tmpdir = Path(tempfile.mkdtemp(prefix="mch-feed-bench-"))
    process = None
    try:
        # DATABASE_URL (an empty PostgreSQL database) if set, else a throwaway SQLite file
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{(tmpdir / 'bench.sqlite3').resolve()}"
        os.environ["DATABASE_URL"] = database_url
        static_dir = tmpdir / "static"  # also STATIC_ROOT, as gunicorn gets it (serve)
        static_dir.mkdir()
        os.environ["STATIC_ROOT"] = str(static_dir)
        print(f"database: {setup_django(None)}")
        from django.core.management import call_command

        from mch_link.models import Centre
        from scheduling import feeds

        call_command("migrate", verbosity=0, interactive=False)
        if Centre.objects.exists():
            sys.exit("refusing to run: the database already holds centres (give an empty one)")
        year = datetime.date.today().year + 1
        started = time.perf_counter()
        provider, sessions, report = build_registry(args.centres, year)
        feed = feeds.feed_for(provider=provider)
        content = feeds.feed_content(feed)
        print(f"registry and plan built in {time.perf_counter() - started:.1f} s: 1 provider ({DOCTORS} doctors), "
              f"{args.centres} centres, {sessions} sessions in {year}"
              f"{' (estimated year)' if report.estimated else ''}; warnings {len(report.warnings)}")
        print(f"feed: {content.events} events, {len(content.body):,} bytes")

        cold = []
        for _ in range(3):
            feeds.event_ical.cache_clear()
            feeds.cache.clear()
            started = time.perf_counter()
            feeds.feed_content(feed)
            cold.append(time.perf_counter() - started)
        print(f"cold build (event memo and cache emptied, as after a worker restart), 3 runs: "
              f"median {statistics.median(cold) * 1000:.1f} ms")
        found = time_build(feed, args.runs)
        ms = lambda xs: f"median {statistics.median(xs) * 1000:.1f} ms, min {min(xs) * 1000:.1f} ms"  # noqa: E731
        print(f"build (feed_content, cache emptied), {args.runs} runs: {ms(found['build'])}")
        print(f"  reads (4 queries):        {ms(found['reads'])}")
        print(f"  events and calendar text: {ms(found['text'])}")
        print(f"  per event:                {statistics.median(found['build']) / max(content.events, 1) * 1e6:.0f} µs")
        print(f"cached (feed_content: the fingerprint, the body from the cache): {ms(found['cached'])}")
        print(f"fingerprint (feed_state, what a 304 costs): {ms(found['state'])}")

        (static_dir / STATIC_NAME).write_bytes(content.body)
        feed_path = feeds.feed_path(feed)
        static_path = "/" + STATIC_PREFIX + STATIC_NAME
        if args.cpu_runs:
            print_request_cpu(static_dir, tmpdir, feed, static_path, args.cpu_runs)
        port = args.port or free_port()
        log_path = tmpdir / "gunicorn.log"
        log = log_path.open("wb")
        process = serve(port, args.workers, static_dir, database_url, log)
        status, body, headers = fetch(port, feed_path)
        assert status == 200 and body == content.body, (status, len(body))
        status, static_body, _ = fetch(port, static_path)
        assert status == 200 and static_body == content.body
        etag = headers["ETag"]
        for path in (feed_path, static_path):  # warm up every worker
            load(port, path, 4 * args.workers, args.concurrency)

        cases = [("static copy (WhiteNoise)", static_path, None), ("feed 200 (cached)", feed_path, None),
                 ("feed 304 (If-None-Match)", feed_path, {"If-None-Match": etag})]
        results = {name: [] for name, _p, _h in cases}
        print(f"gunicorn: {args.workers} sync workers on 127.0.0.1:{port}; client: {args.requests} requests, "
              f"concurrency {args.concurrency}, {args.rounds} rounds")
        for round_ in range(1, args.rounds + 1):
            for name, path, extra in cases:
                rps, statuses = load(port, path, args.requests, args.concurrency, extra)
                results[name].append(rps)
                print(f"  round {round_}: {name:26} {rps:8.1f} req/s  {dict(statuses)}")
        median = {name: statistics.median(values) for name, values in results.items()}
        static = median["static copy (WhiteNoise)"]
        for name, value in median.items():
            print(f"{name:28} {value:8.1f} req/s  ratio to static {value / static:.3f}")
    finally:
        if process is not None:
            stop_gunicorn(process, log, log_path)
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
