"""`Idempotency-Key` on every POST: the first request with a key does the write and its
answer is kept (API_IDEMPOTENCY_HOURS); a retry with the same key and the same request gets
that answer again, marked `Idempotent-Replayed: true`, and writes nothing. The same key with
another request is refused (422). A refused write keeps nothing: its retry is tried again.

The key's row is inserted in the write's own transaction, first: a second request with the
key waits for the first (the unique constraint) and then replays its answer."""

import datetime
import hashlib
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from ninja.errors import HttpError

from .models import IdempotentRequest

HEADER = "Idempotency-Key"


def _fingerprint(request):
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _respond(request, status, data):
    """The answer as sent: `data` is already the response schema's JSON (the endpoint dumped
    it), so a replay is byte for byte the first answer."""
    from .main import api

    return api.create_response(request, data, status=status)


def idempotent(view):
    """Wrap a POST endpoint that returns (status, the response schema's JSON)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return _respond(request, *view(request, *args, **kwargs))
        if len(key) > 100:
            raise HttpError(422, "Idempotency-Key 不能超过 100 个字符")
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            kept = datetime.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
            IdempotentRequest.objects.filter(user=request.auth, created_at__lt=timezone.now() - kept).delete()
            try:
                with transaction.atomic():
                    row = IdempotentRequest.objects.create(user=request.auth, key=key, fingerprint=fingerprint)
            except IntegrityError:
                row = IdempotentRequest.objects.get(user=request.auth, key=key)
                if row.fingerprint != fingerprint:
                    raise HttpError(422, "该 Idempotency-Key 已用于另一个请求，请为新的请求换一个新的键") from None
                request.idempotent_replay = True
                return _respond(request, row.status, row.body)
            status, data = view(request, *args, **kwargs)
            row.status, row.body = status, data
            row.save(update_fields=["status", "body"])
        return _respond(request, status, data)

    return wrapper
