"""The audit trail: every change to a contract, session, record, confirmation or obligation."""

import datetime
import decimal

from django.db.models import Q
from django.db.models.fields.files import FieldFile

from .models import AuditEvent


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time, decimal.Decimal)):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    return str(value)


def snapshot(obj):
    """The object's concrete field values as a JSON-ready dict (foreign keys by id)."""
    data = {}
    for field in obj._meta.concrete_fields:
        data[field.attname] = _jsonable(getattr(obj, field.attname))
    return data


def audit_change(obj, *, user, action, before=None, reason=""):
    """Record that `user` did `action` to `obj`; `before` is a snapshot() taken before."""
    after = snapshot(obj)
    if before is not None:
        changed = {k for k in after if before.get(k) != after.get(k)}
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    return AuditEvent.objects.create(
        user=user if (user is not None and user.is_authenticated) else None,
        action=action,
        model=obj._meta.model_name,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        before=before,
        after=after,
        reason=reason[:200],
    )


def history(*objs):
    """The audit events of `objs` (of any models), newest first. One query."""
    q = Q(pk__in=[])
    for obj in objs:
        q |= Q(model=obj._meta.model_name, object_id=str(obj.pk))
    return AuditEvent.objects.filter(q).select_related("user")
