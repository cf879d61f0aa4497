"""Operations: the /healthz check and one structured log line per request (docs/deploy.md)."""

import json
import logging
import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

request_log = logging.getLogger("mch_link.requests")


@never_cache
@require_GET
def healthz(request):
    """Database, broker and the last run of each scheduled job, as JSON: 200 when the database
    and the broker answer, 503 otherwise. Open to anyone (a load balancer has no login), so it
    names no host, user, password or error text: only yes/no, timings and job times."""
    database = _check(_database_ping)
    broker = _check(_broker_ping)
    body = {
        "status": "ok" if database["ok"] and broker["ok"] else "fail",
        "database": {**database, "vendor": connection.vendor},
        "broker": {**broker, "kind": "redis" if settings.REDIS_URL else "orm"},
        "jobs": _jobs() if database["ok"] else {},
    }
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503,
                        json_dumps_params={"ensure_ascii": False})


def _check(ping):
    started = time.perf_counter()
    try:
        ping()
        ok = True
    except Exception:  # what failed goes to the server's log, not to an anonymous caller
        logging.getLogger(__name__).exception("healthz: %s failed", ping.__name__)
        ok = False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database_ping():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


_broker = None


def _broker_ping():
    global _broker
    if not settings.REDIS_URL:
        return  # the ORM broker is the database, checked above
    from django_q.brokers import get_broker

    _broker = _broker or get_broker()
    if not _broker.ping():
        raise ConnectionError("broker did not answer")


def _jobs():
    """{schedule name: its next run and the last task it started (when, success)}: two queries."""
    from django_q.models import Schedule, Task

    from scheduling.jobs import SCHEDULES

    schedules = list(Schedule.objects.filter(name__in=list(SCHEDULES)).values("name", "next_run", "task"))
    tasks = {t["id"]: t for t in Task.objects.filter(id__in=[s["task"] for s in schedules if s["task"]])
             .values("id", "started", "stopped", "success")}
    jobs = {}
    for name in SCHEDULES:
        s = next((s for s in schedules if s["name"] == name), None)
        task = tasks.get(s["task"]) if s else None
        jobs[name] = {
            "registered": s is not None,
            "next_run": _iso(s and s["next_run"]),
            "last_run": _iso(task and task["started"]),
            "last_finished": _iso(task and task["stopped"]),
            "last_success": task["success"] if task else None,
        }
    return jobs


def _iso(value):
    return value.isoformat() if value else None


class RequestLogMiddleware:
    """One JSON line per request on the `mch_link.requests` logger: method, route (the URL
    pattern, not the path, so feed tokens and codes stay out of the log), status, duration,
    response size and the user's id when the view already loaded it (no extra query)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "_cached_user", None)
        line = {
            "event": "request",
            "method": request.method,
            "route": "/" + match.route if match else None,
            "view": match.view_name if match else None,
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "bytes": len(response.content) if not response.streaming else None,
            "user": user.pk if user is not None and user.is_authenticated else None,
        }
        request_log.info(json.dumps(line, ensure_ascii=False))
        return response


def favicon(request):
    """/favicon.ico, which browsers and bookmarks ask for whatever the pages link: the
    linked icon (a hashed, long-cached static file), not a 404 on every page."""
    from django.shortcuts import redirect
    from django.templatetags.static import static

    return redirect(static("favicon.svg"), permanent=True)
