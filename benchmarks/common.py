"""What the benchmark scripts share: Django set up on a throwaway database, valid credit codes."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(db_path):
    """Point Django at the benchmark database (unless `db_path` is None and DATABASE_URL is
    already set) and set it up, DEBUG off as in production (the debug cursor would format
    every bulk insert for the log). Returns the database description printed in the header."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mch_link.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
    if db_path is not None:
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(db_path).resolve()}"
    import django

    django.setup()
    from django.db import connection

    return f"{connection.vendor} {connection.settings_dict['NAME']}"


@contextmanager
def benchmark_database(db_path, prefix, reuse=False):
    """Django on the benchmark's database, migrated: `db_path` (kept), else DATABASE_URL if set,
    else a temporary SQLite file removed on exit. Refuses (exits) to build over a database
    that already holds centres, so that it never touches db.sqlite3 by accident; with `reuse`,
    insists on one that does (built by an earlier run)."""
    tmpdir = None
    if db_path is None and not os.environ.get("DATABASE_URL"):
        tmpdir = tempfile.mkdtemp(prefix=prefix)
        db_path = os.path.join(tmpdir, "bench.sqlite3")
    try:
        print(f"database: {setup_django(db_path)}")
        from django.core.management import call_command

        from mch_link.models import Centre

        call_command("migrate", verbosity=0, interactive=False)
        if reuse and not Centre.objects.exists():
            sys.exit("--reuse: the database holds no centres (build it first with --db PATH)")
        if not reuse and Centre.objects.exists():
            sys.exit("refusing to run: the database already holds centres (give an empty --db)")
        yield
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


def uscc(n, county_code, rng):
    """A valid 18-character unified social credit code (GB 32100 check character)."""
    from mch_link.validators import uscc_check_char

    prefix = rng.choice(["52", "91", "12"])  # 民办非企业单位 / 企业 / 事业单位
    body = f"{prefix}{county_code}MJ{n:07d}"[:17]
    return body + uscc_check_char(body)


def free_port():
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(app, port, workers, env, ready, **popen):
    """gunicorn (sync workers) serving `app` on 127.0.0.1:`port` only; returns the process once
    `ready()` is true (an OSError meanwhile: not listening yet). `popen`: where its output goes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--chdir", str(ROOT), "--timeout", "120", "--log-level", "warning"], env=env, **popen)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if ready():
                return process
        except OSError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def stop_gunicorn(process, log, log_path):
    """Stop a gunicorn of start_gunicorn whose output went to `log` (open on `log_path`), and
    print what it said besides the request log (one JSON line a request): its errors."""
    process.terminate()
    process.wait(timeout=30)
    log.close()
    other = [line for line in log_path.read_text(errors="replace").splitlines()
             if not line.startswith('{"event": "request"')]
    if other:
        print("gunicorn said (first lines that are not the request log):", *other[:10], sep="\n  ")


def run_threads(target, count):
    """Run `target` in `count` threads at once; returns the wall seconds until all ended."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started
