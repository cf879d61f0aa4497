"""Photos kept across a failed submit of the record form, so the doctor does not pick them
again on the phone (and send them again over a slow line).

A file that passed the form's checks is stored under `pending/<session id>/` in the default
storage, and the form carries a signed token for it (user, session, path, name): a token
cannot name another user's or another session's file, nor any other path. Once the record is
saved the files become its attachments (services.records.attachments_add) and are removed;
files left behind by an abandoned form are removed by `discard_stale` after MAX_AGE.
"""

import datetime
import uuid

from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

SALT = "scheduling.pending-upload"
MAX_AGE = datetime.timedelta(days=1)
ROOT = "pending"


def hold(files, *, user, session):
    """Store `files` (checked uploads) and return a token each: [(token, original name)]."""
    held = []
    for f in files:
        ext = f.name.rsplit(".", 1)[-1].lower() if "." in f.name else "bin"
        f.seek(0)
        path = default_storage.save(f"{ROOT}/{session.pk}/{uuid.uuid4().hex}.{ext}", f)
        token = signing.dumps({"u": user.pk, "s": session.pk, "p": path, "n": f.name[:200]}, salt=SALT)
        held.append((token, f.name[:200]))
    return held


def _read(token, *, user, session):
    """(path, name) of a token of this user and session whose file is still there, else None."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    path = data.get("p", "")
    if (data.get("u"), data.get("s")) != (user.pk, session.pk) or not path.startswith(f"{ROOT}/{session.pk}/") \
            or not default_storage.exists(path):
        return None
    return path, data.get("n") or path.rsplit("/", 1)[-1]


def names(tokens, *, user, session):
    """[(token, original name)] of the valid `tokens`, in order, each once."""
    out = []
    for token in dict.fromkeys(tokens):
        found = _read(token, user=user, session=session)
        if found:
            out.append((token, found[1]))
    return out


def take(tokens, *, user, session):
    """The held files of the valid `tokens` as open Files named as uploaded, and their paths
    (for `discard` once they are attached)."""
    files, paths = [], []
    for token in dict.fromkeys(tokens):
        found = _read(token, user=user, session=session)
        if found:
            path, name = found
            handle = File(default_storage.open(path, "rb"), name=name)
            files.append(handle)
            paths.append(path)
    return files, paths


def discard(paths):
    for path in paths:
        default_storage.delete(path)


def discard_stale(now=None):
    """Remove held files older than MAX_AGE (their tokens have expired), and the folders they
    leave empty. A file taken or discarded meanwhile (a submit at the same moment) is skipped,
    not an error. Returns the count of files removed."""
    cutoff = (now or timezone.now()) - MAX_AGE
    removed = 0
    if not default_storage.exists(ROOT):
        return 0
    for folder in default_storage.listdir(ROOT)[0]:
        names = default_storage.listdir(f"{ROOT}/{folder}")[1]
        kept = len(names)
        for name in names:
            path = f"{ROOT}/{folder}/{name}"
            try:
                stale = default_storage.get_modified_time(path) < cutoff
                if stale:
                    default_storage.delete(path)
            except FileNotFoundError:
                stale = True  # gone already: taken by a submit
            if stale:
                removed += 1
                kept -= 1
        if not kept:
            try:
                default_storage.delete(f"{ROOT}/{folder}")  # FileSystemStorage removes an empty folder
            except OSError:
                pass  # a new photo was held there meanwhile
    return removed
