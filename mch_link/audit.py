"""The audit trail: every change to a contract, session, record (and each centre's part of it),
confirmation, obligation, approval or registry row, written by the domain's own methods.

Writing: `snapshot` before, `audit_change` after. Reading: `history(*objs)` (an object's
page), `scoped(user, AuditEvent)` (the audit list; registered below) and `readable(events)`,
which turns events into what a person reads: Chinese field labels, Asia/Shanghai times,
Chinese action names, foreign keys by name, choices by label, the person and organisation.

Why hand-written rather than django-simple-history or django-auditlog: both record saves
(create/update/delete) by signal, so they would not know the domain's actions (sign, dispute,
approve, reopen) or their reasons, and they miss the bulk updates the services use on purpose
(statuses_refresh, Obligation.done_on); the trail would then say less than the one the domain
methods already write, or say it twice. What was missing was the reading, not the writing.
"""

import datetime
import decimal
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import CharField, Q
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent, Region
from .scoping import scope_for, scoped


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time, decimal.Decimal)):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, (list, tuple)):  # JSON fields (topics, findings) stay structured
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def snapshot(obj):
    """The object's concrete field values as a JSON-ready dict (foreign keys by id)."""
    data = {}
    for f in obj._meta.concrete_fields:
        data[f.attname] = _jsonable(getattr(obj, f.attname))
    return data


# Bookkeeping of the protocol, not content: a change of only these is no event to show.
BOOKKEEPING = frozenset({"id", "uid", "version", "sequence", "updated_at", "created_at"})

# Objects whose model has no __str__ of its own ("QuarterApproval object (1)" says nothing).
OBJECT_NAMES = {
    "quarterapproval": lambda o: f"{o.county.name} {o.period}",
}


def object_name(obj):
    """What the trail calls `obj`: its str(), or a name built from its fields."""
    name = OBJECT_NAMES.get(obj._meta.model_name)
    return name(obj) if name else str(obj)


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
        object_repr=object_name(obj)[:200],
        before=before,
        after=after,
        reason=reason[:200],
    )


def audit_if_changed(obj, *, user, action, before, reason=""):
    """audit_change, only when a field other than the bookkeeping changed (None otherwise).
    `before` None: a new object, always audited."""
    if before is not None:
        after = snapshot(obj)
        if all(before.get(k) == v for k, v in after.items() if k not in BOOKKEEPING):
            return None
    return audit_change(obj, user=user, action=action, before=before, reason=reason)


def history(*objs):
    """The audit events of `objs` (of any models), newest first. One query."""
    q = Q(pk__in=[])
    for obj in objs:
        q |= Q(model=obj._meta.model_name, object_id=str(obj.pk))
    return AuditEvent.objects.filter(q).select_related(*PERSON)


# --------------------------------------------------------------------------- who sees which events

# The audited models (app label, model name). An event is visible when its object is.
AUDITED = (
    ("mch_link", "contract"), ("mch_link", "centre"), ("mch_link", "provider"), ("mch_link", "region"),
    ("scheduling", "session"), ("scheduling", "record"), ("scheduling", "recordcentre"),
    ("scheduling", "obligation"), ("scheduling", "quarterapproval"),
)


def audited_models():
    """{model name: model class} of the audited models."""
    return {name: apps.get_model(app, name) for app, name in AUDITED}


def _read_models():
    """audited_models() and the user model, for reading events: a user's events (a legacy
    password expired, mch_link.passwords) are seen by superusers only (visible_events)."""
    user_model = get_user_model()
    return {**audited_models(), user_model._meta.model_name: user_model}


def _ids(qs):
    """The primary keys of `qs` as text, as AuditEvent.object_id holds them (a subquery)."""
    return qs.annotate(_audit_id=Cast("pk", CharField())).values("_audit_id")


@scope_for(AuditEvent)
def visible_events(who):
    """The events of the objects `who` may see (a city admin's city, a reviewer's county);
    one query with a subquery per audited model."""
    if who.everything:
        return AuditEvent.objects.all()
    if who.membership is None:
        return AuditEvent.objects.none()
    q = Q(pk__in=[])
    for name, model in audited_models().items():
        if name == "quarterapproval":  # approvals are a county's: those of the visible regions
            rows = model.objects.filter(county__in=scoped(who, Region).values("pk"))
        else:
            rows = scoped(who, model)
        q |= Q(model=name, object_id__in=_ids(rows))
    return AuditEvent.objects.filter(q)


# --------------------------------------------------------------------------- reading

PERSON = ("user__membership__region", "user__membership__provider", "user__membership__centre")

ACTION_LABELS = {**AuditEvent.ACTION_LABELS, "import": _("登记导入"), "update": _("修改")}

# Labels of fields declared without a verbose_name (Django would show "submitted at").
FIELD_LABELS = {
    "submitted_at": _("提交时间"), "confirmed_at": _("确认时间"), "confirmed_by": _("确认人"),
    "created_at": _("创建时间"), "updated_at": _("更新时间"), "record": _("服务记录"),
    "centre": _("托育机构"), "session": _("服务场次"), "provider": _("医疗卫生机构"),
    "county": _("区/县"), "approved_by": _("审核人"), "approved_at": _("审核时间"),
    "reopened_by": _("重新开放人"), "reopened_at": _("重新开放时间"), "contract": _("签约协议"),
    "password": _("密码"),  # a user's (a legacy password expired)
    "version": _("版本号"), "uid": _("标识"), "id": _("编号"), "year": _("年度"), "live": _("有效"),
}
EMPTY = "—"


@dataclass
class Change:
    label: str
    before: str
    after: str


@dataclass
class ReadableEvent:
    """One event as a person reads it (every value already text)."""

    event: AuditEvent
    at: datetime.datetime  # aware, Asia/Shanghai
    action: str
    model: str
    object: str
    person: str
    organisation: str
    reason: str
    changes: list = field(default_factory=list)

    @property
    def when(self):
        return f"{self.at:%Y-%m-%d %H:%M}"

    @property
    def when_short(self):
        """For a table on a phone, one line: "11-29 16:18" this year, the year before it
        otherwise (the full time in the cell's title and `datetime`)."""
        return f"{self.at:%m-%d %H:%M}" if self.at.year == timezone.localdate().year else self.when

    def changes_text(self):
        return "；".join(f"{c.label}：{c.before} → {c.after}" if c.before is not None else f"{c.label}：{c.after}"
                        for c in self.changes)


def field_label(model, name):
    """The Chinese label of `model`'s field `name` (an attname like centre_id, too)."""
    f = _field(model, name)
    if f is None:
        return name
    auto = f.name.replace("_", " ")
    return str(FIELD_LABELS.get(f.name, f.verbose_name) if str(f.verbose_name) == auto else f.verbose_name)


def _field(model, attname):
    if model is None:
        return None
    for f in model._meta.concrete_fields:
        if f.attname == attname:
            return f
    return None


def person_name(user):
    if user is None:
        return str(_("系统"))
    return user.get_full_name() or user.username


def organisation_of(user):
    """"塔山街道社区卫生服务中心（儿童保健医生）", or "" without a membership."""
    m = getattr(user, "membership", None) if user is not None else None
    if m is None:
        return ""
    return f"{m.organisation}（{m.get_role_display()}）"


def _related_names(events, models_by_name):
    """{(related model, pk): name} for every foreign key value in `events`: one query per
    related model that occurs (a fixed set), whatever the number of events."""
    wanted = {}
    for e in events:
        model = models_by_name.get(e.model)
        for values in (e.before or {}, e.after or {}):
            for name, value in values.items():
                f = _field(model, name)
                if f is not None and f.is_relation and value is not None:
                    wanted.setdefault(f.related_model, set()).add(value)
    names = {}
    for related, pks in wanted.items():
        follow = [f.name for f in related._meta.concrete_fields if f.is_relation and f.name != "renewed_from"]
        for obj in related.objects.filter(pk__in=pks).select_related(*follow):
            label = person_name(obj) if related._meta.model_name == "user" else object_name(obj)
            names[(related, str(obj.pk))] = label
    return names


def _text(f, value, names):
    """`value` (as snapshot() stored it) of field `f` as text."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if f is None:
        return str(value)
    if f.is_relation:
        return names.get((f.related_model, str(value)), f"#{value}")
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(f, models.BooleanField):
        return str(_("是") if value else _("否"))
    if isinstance(f, models.DateTimeField):
        moment = parse_datetime(str(value))
        if moment is None:
            return str(value)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, datetime.UTC)
        return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
    if isinstance(f, models.TimeField):
        return str(value)[:5]
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{v}" for k, v in value.items())
    return str(value)


def readable(events):
    """The events (an iterable; load them with select_related(*PERSON)) as ReadableEvents.
    Runs one query per model the foreign keys point to, whatever the number of events."""
    events = list(events)
    by_name = _read_models()
    names = _related_names(events, by_name)
    rows = []
    for e in events:
        model = by_name.get(e.model)
        before, after = e.before or {}, e.after or {}
        created = e.before is None
        changes = []
        for name in [k for k in after if k not in BOOKKEEPING] + [k for k in before if k not in after
                                                                   and k not in BOOKKEEPING]:
            f = _field(model, name)
            new = _text(f, after.get(name), names)
            if created and new == EMPTY:
                continue
            changes.append(Change(field_label(model, name), None if created else _text(f, before.get(name), names),
                                  new))
        rows.append(ReadableEvent(
            event=e, at=timezone.localtime(e.at), action=str(ACTION_LABELS.get(e.action, e.action)),
            model=str(model._meta.verbose_name) if model else e.model, object=e.object_repr,
            person=person_name(e.user), organisation=organisation_of(e.user), reason=e.reason, changes=changes,
        ))
    return rows
