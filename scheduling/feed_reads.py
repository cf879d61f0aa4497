"""What one feed request reads, with Django compiling each statement once per process rather
than on every request: the feed row with its owner, and the feed's fingerprint.

A 304 or a cached 200 was two small indexed queries, and Django compiling them cost more than
the database running them (about 1.0 and 0.7 ms of a 2 ms request on SQLite, 0.2 ms running).

- **The feed row** (`feed_by_token`): one statement for every token, compiled once per
  process with the token as its one parameter (`RowStatement`). It reads the feed, the
  owner's name and, for a doctor, the user's flags and its whole membership, as plain
  columns, and makes the CalendarFeed and its owner from them (`Model.from_db`, every other
  field deferred). It is read on every request, never cached: a renewed token, a deactivated
  user, a doctor who left or changed role or provider takes effect on the very next request.
- **The fingerprint** (`feed_state`): the aggregate of feeds.feed_state, whose statement
  depends on the owner through the scoping rules (`feeds.feed_sessions`). The first request
  of a feed on a day runs that ORM path and records the one statement it executed; later ones
  run the recorded statement. The rules stay defined once: what is recorded is what the ORM
  compiled. The key of a recording is everything the ORM was given: the whole feed row (the
  feed, its token, the owner's fields loaded above, a doctor's membership), the window and
  the database. That nothing else went in is checked rather than assumed: the owner is made
  from the row alone, with every other field deferred, so any other read (a deferred field,
  a relation not loaded, a query of the scoping rules) is one more statement, and a recording
  of more than one statement is not kept (the feed then runs the ORM path every time).
- **Both in one** (`feed_with_state`, what the view calls): once a process has answered a
  token, it reads the row and the fingerprint recorded for it in one statement (one round
  trip to PostgreSQL), and keeps that fingerprint only if the row read is the one it was
  recorded for.
- **Prepared on PostgreSQL** (`PREPARED_STATEMENTS`, on by default; mch_link.statements):
  these statements are parsed and planned once per connection (planning the row's joins cost
  more than running them), as the reports' and the registry's kept statements are; Django's
  other statements are not. Off behind a transaction-pooling pgbouncer older than 1.22.

Settings are not in the key (they are the process's). Memory: at most FINGERPRINTS_KEPT
recordings (least recently used first out), each a statement of about 1 KB, and as many
token keys.
"""


from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Count, Max
from django.utils import timezone

from mch_link.models import Centre, Membership, Provider
from mch_link.statements import Kept, convert, fetchall, values_statement

from . import feeds
from .models import CalendarFeed, Session

FINGERPRINTS_KEPT = 4096  # feeds (times days) whose fingerprint statement a process keeps

# The feed row: (name, lookup path). A doctor's membership is all of its
# columns: the scoping rules may read any of them.
_ROW = (
    ("pk", "pk"), ("token", "token"), ("owner_type", "owner_type"), ("created_at", "created_at"),
    ("centre_id", "centre_id"), ("centre_name", "centre__name"),
    ("provider_id", "provider_id"), ("provider_name", "provider__name"),
    ("doctor_id", "doctor_id"), ("username", "doctor__username"), ("first_name", "doctor__first_name"),
    ("last_name", "doctor__last_name"), ("is_active", "doctor__is_active"), ("is_superuser", "doctor__is_superuser"),
    ("membership_id", "doctor__membership__id"), ("role", "doctor__membership__role"),
    ("region_id", "doctor__membership__region_id"), ("m_provider_id", "doctor__membership__provider_id"),
    ("m_centre_id", "doctor__membership__centre_id"), ("m_provider_name", "doctor__membership__provider__name"),
)
_TOKEN = "\x00feed-token\x00"  # what the row statement is compiled with: no token looks like it


class RowStatement:
    """The feed row's statement on one database, compiled once (statements.values_statement):
    its SQL, its parameters (the token's place among them) and the converters of its rows."""

    def __init__(self, db):
        qs = CalendarFeed.objects.using(db).filter(token=_TOKEN).values_list(*(path for _a, path in _ROW))
        _db, self.sql, params, _compiler, self.converters = values_statement(qs)
        self.params = list(params)
        [self.slot] = [i for i, value in enumerate(self.params) if value == _TOKEN]
        self.db = db

    def params_for(self, token):
        params = list(self.params)
        params[self.slot] = token
        return params

    def converted(self, row):
        """The statement's raw row (or the first len(_ROW) columns of one) converted as the ORM does."""
        [row] = convert([tuple(row[: len(_ROW)])], self.converters, connections[self.db])
        return row

    def row(self, token):
        rows = fetchall(self.db, self.sql, self.params_for(token))
        return self.converted(rows[0]) if rows else None


_statements = {}


def feed_by_token(token):
    """The CalendarFeed of `token` with its owner (centre, provider, or doctor with its
    membership and the membership's provider), or None. One query, compiled once per process.
    Only the fields the feed shows and the scoping rules read are loaded (others deferred)."""
    db = CalendarFeed.objects.db
    row = _row_statement(db).row(token)
    return None if row is None else _feed(db, row)


def _row_statement(db):
    statement = _statements.get(db)
    if statement is None:
        statement = _statements[db] = RowStatement(db)
    return statement


def _loaded(model, db, values):
    """An instance of `model` from the database with `values` ({attname: value}) loaded and
    every other field deferred (reading one is a query)."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    assert len(names) == len(values), (model, values)
    return model.from_db(db, names, [values[name] for name in names])


def _feed(db, row):
    r = dict(zip((attribute for attribute, _p in _ROW), row, strict=True))
    feed = _loaded(CalendarFeed, db, {"id": r["pk"], "token": r["token"], "owner_type": r["owner_type"],
                                      "created_at": r["created_at"], "centre_id": r["centre_id"],
                                      "provider_id": r["provider_id"], "doctor_id": r["doctor_id"]})
    centre = provider = doctor = None
    if r["centre_id"] is not None:
        centre = _loaded(Centre, db, {"id": r["centre_id"], "name": r["centre_name"]})
    if r["provider_id"] is not None:
        provider = _loaded(Provider, db, {"id": r["provider_id"], "name": r["provider_name"]})
    if r["doctor_id"] is not None:
        doctor = _loaded(get_user_model(), db, {
            "id": r["doctor_id"], "username": r["username"], "first_name": r["first_name"],
            "last_name": r["last_name"], "is_active": r["is_active"], "is_superuser": r["is_superuser"]})
        membership = None
        if r["membership_id"] is not None:
            membership = _loaded(Membership, db, {
                "id": r["membership_id"], "user_id": r["doctor_id"], "role": r["role"], "region_id": r["region_id"],
                "provider_id": r["m_provider_id"], "centre_id": r["m_centre_id"]})
            Membership._meta.get_field("user").set_cached_value(membership, doctor)
            if r["m_provider_id"] is not None:
                Membership._meta.get_field("provider").set_cached_value(
                    membership, _loaded(Provider, db, {"id": r["m_provider_id"], "name": r["m_provider_name"]}))
        # cached even when None: the user has no membership, read with the row (no query)
        get_user_model()._meta.get_field("membership").set_cached_value(doctor, membership)
    for name, owner in (("centre", centre), ("provider", provider), ("doctor", doctor)):
        CalendarFeed._meta.get_field(name).set_cached_value(feed, owner)
    feed._read_key = (db, row)  # everything it was made from: the key of its fingerprint statement
    return feed


# --------------------------------------------------------------------------- the fingerprint


class _Recorder:
    """An execute wrapper keeping every statement run through it."""

    def __init__(self):
        self.statements = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, params, many))
        return execute(sql, params, many, context)


# the recorded fingerprint statements {key: (sql, params)}, and for each token the key of its statement
fingerprints = Kept(FINGERPRINTS_KEPT)
last_keys = Kept(FINGERPRINTS_KEPT)
_converters = {}


def _converted(db, row):
    """(count, latest) of the aggregate's raw row, converted as the ORM's aggregate() does
    (on SQLite the latest change comes back as text)."""
    converters = _converters.get(db)
    if converters is None:
        query = Session.objects.using(db).all().query
        expressions = [Count("pk").resolve_expression(query), Max("updated_at").resolve_expression(query)]
        converters = _converters[db] = query.get_compiler(db).get_converters(expressions)
    [converted] = convert([tuple(row)], converters, connections[db])
    return converted


def _window(today):
    today = today or timezone.localdate()
    return today, *feeds.feed_window(today)


def feed_with_state(token, today=None):
    """(feed_by_token(token), feed_state of it): (None, None) without a feed, (feed, None)
    when its owner no longer holds its role.

    One statement when this process answered the token before with its fingerprint statement
    recorded (the usual case: a phone revalidating): the feed row and the fingerprint of the
    feed's owner as it was then, read together (`SELECT * FROM (row) r, (fingerprint) f`,
    one snapshot). If the row read is not the one that fingerprint was recorded for (the
    owner changed, or the day), that fingerprint is dropped and the row's own is read: the
    result is always the row's."""
    db = CalendarFeed.objects.db
    today, first, last = _window(today)
    statement = _row_statement(db)
    key = last_keys.get((db, token))
    recorded = None if key is None or key[-2:] != (first, last) else fingerprints.get(key)
    if recorded is None:
        row = statement.row(token)
        feed = None if row is None else _feed(db, row)
        state = None if feed is None else feed_state(feed, today)
    else:
        sql, params = recorded
        rows = fetchall(db, f"SELECT * FROM ({statement.sql}) r, ({sql}) f", [*statement.params_for(token), *params])
        if not rows:
            return None, None
        feed = _feed(db, statement.converted(rows[0]))
        if (*feed._read_key, first, last) == key:
            count, latest = _converted(db, rows[0][len(_ROW):])
            return feed, feeds.FeedState.of(feed, first, count, latest)
        state = feed_state(feed, today)  # not the owner it was recorded for
    if state is not None and fingerprints.get(key := (*feed._read_key, first, last)) is not None:
        last_keys.keep((db, token), key)
    return feed, state


def feed_state(feed, today=None):
    """feeds.feed_state of a feed read by feed_by_token, the aggregate compiled once per feed
    row, window and database in this process (the ORM's own statement, recorded on the first
    request). Other feeds (no row read) take the ORM path."""
    key = getattr(feed, "_read_key", None)
    if key is None:
        return feeds.feed_state(feed, today)
    today, first, last = _window(today)
    key = (*key, first, last)
    statement = fingerprints.get(key)
    if statement is None:
        db = key[0]
        recorder = _Recorder()
        with connections[db].execute_wrapper(recorder):
            state = feeds.feed_state(feed, today)
        if state is not None and len(recorder.statements) == 1 and not recorder.statements[0][2]:
            sql, params, _many = recorder.statements[0]
            fingerprints.keep(key, (sql, tuple(params)))
        return state
    sql, params = statement
    [row] = fetchall(key[0], sql, params)
    count, latest = _converted(key[0], row)
    return feeds.FeedState.of(feed, first, count, latest)
