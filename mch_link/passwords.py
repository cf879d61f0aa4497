"""The move from the legacy password hashes (PBKDF2) to Argon2id, without a login's time telling
which accounts still hold a legacy hash (docs/security.md, "How they are stored").

A legacy hash is one stored by a hasher listed after the first in PASSWORD_HASHERS (in
production PBKDF2-SHA256 and PBKDF2-SHA1): it still verifies, and is re-hashed with the first
hasher (Argon2id, mch_link/hashers.py) at its owner's next successful login. Verifying one costs
about 0.25-0.5 s of CPU (1,000,000 iterations), Argon2id about 30 ms; Django's ModelBackend
evens out only the default hasher, so a wrong password for a dormant account on PBKDF2 answered
visibly later than one for an unknown name or an Argon2 account.

`EvenCostBackend` gives every failed authentication the same work while any legacy hash is
stored: the default hasher once and each legacy algorithm still stored once, at its configured
work factor (PBKDF2-SHA1 and PBKDF2-SHA256 do not cost the same per iteration). Once none is
left, failures cost the default hasher only, as in Django. Successful logins of Argon2
accounts are never padded.

`legacy_accounts()` and `legacy_passwords_expire()` let an operator end the transition
(`manage.py legacy_passwords`)."""

import datetime
from dataclasses import dataclass
from time import monotonic

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password, get_hashers, identify_hasher, make_password
from django.db import transaction
from django.db.models import Case, CharField, Q, Value, When
from django.utils import timezone

from .models import AuditEvent

# How long a process trusts what it last read about legacy hashes (seconds). The bound: a
# process notices within this time that another process upgraded the last legacy hash (until
# then it keeps padding failures, which costs time but leaks nothing), and that a legacy hash
# came back behind its back (a restored older backup): only then, for at most this long, could
# failures for unknown names and Argon2 accounts answer sooner than those for legacy accounts.
# An upgrade or expiry in this process is seen at once (forget_legacy_hashes). The read is one
# query, made by the first failed login after the interval, never by a successful one.
LEGACY_CHECK_SECONDS = 300


@dataclass(frozen=True)
class _Known:
    algorithms: tuple  # the legacy algorithms it was read for (settings may change in tests)
    stored: frozenset  # those of them some user's stored hash has
    read_at: float  # monotonic()


_known = None


def legacy_hashers():
    """The hashers after the first in PASSWORD_HASHERS: what they stored still verifies."""
    return get_hashers()[1:]


def legacy_accounts(*, not_since=None):
    """The users whose stored hash is a legacy one, by user name; with `not_since` (a date,
    Asia/Shanghai) only those who have not logged in since the start of that day, including
    those who never have."""
    legacy = Q(pk__in=[])
    for hasher in legacy_hashers():
        legacy |= Q(password__startswith=f"{hasher.algorithm}$")
    users = get_user_model()._default_manager.filter(legacy)
    if not_since is not None:
        start = timezone.make_aware(datetime.datetime.combine(not_since, datetime.time.min))
        users = users.filter(Q(last_login__isnull=True) | Q(last_login__lt=start))
    return users.order_by("username")


def legacy_algorithms_stored():
    """The legacy algorithms (frozenset of names) of the users' stored hashes, as read at most
    LEGACY_CHECK_SECONDS ago by this process. Hidden query: one (the distinct algorithms of the
    legacy hashes) when that read is older or forgotten."""
    global _known
    algorithms = tuple(h.algorithm for h in legacy_hashers())
    if not algorithms:
        return frozenset()
    now = monotonic()
    known = _known
    if known is None or known.algorithms != algorithms or now - known.read_at >= LEGACY_CHECK_SECONDS:
        which = Case(*(When(password__startswith=f"{a}$", then=Value(a)) for a in algorithms),
                     output_field=CharField())
        stored = legacy_accounts().order_by().annotate(_legacy=which).values_list("_legacy", flat=True).distinct()
        known = _known = _Known(algorithms, frozenset(stored), now)
    return known.stored


def forget_legacy_hashes():
    """This process reads again at the next failed login (a legacy hash was replaced here)."""
    global _known
    _known = None


def is_legacy(encoded):
    try:
        algorithm = identify_hasher(encoded).algorithm
    except ValueError:  # unusable ("!…") or no longer installed
        return False
    return algorithm in {h.algorithm for h in legacy_hashers()}


def _check_and_upgrade(user, password):
    """(right, upgraded): whether `password` is `user`'s, as user.check_password() tells, and
    whether its hash was re-hashed with the default hasher (a legacy hash, or other Argon2
    parameters). The re-hash is stored only if the stored hash is still the one checked: a
    PBKDF2 check takes about 0.4 s, and a password expired (legacy_passwords_expire) or reset by
    an administrator meanwhile must not be replaced by the old one re-hashed (Django's setter
    saves whatever it checked). Then the password is no longer right. One UPDATE when re-hashed."""
    stored = user.password
    lost = []

    def upgrade(raw_password):
        user.set_password(raw_password)
        user._password = None  # an upgrade is no password change (as Django's setter)
        manager = type(user)._default_manager
        if not manager.filter(pk=user.pk, password=stored).update(password=user.password):
            lost.append(True)  # changed since it was read: the check was of a password gone

    right = check_password(password, stored, upgrade)
    return right and not lost, user.password != stored


class EvenCostBackend(ModelBackend):
    """Django's ModelBackend, whose failures all cost the same while a legacy hash is stored.

    What each failure has done before the padding, and what is added:
    - unknown name, unusable password, Argon2 hash (wrong password, or right but inactive):
      the default hasher once (Django's own evening-out); adds each legacy hasher whose
      algorithm some stored hash has (legacy_algorithms_stored) once.
    - legacy hash: the legacy hasher at the work factor stored in that hash; adds the rest up
      to the configured one (harden_runtime, which Django skips when the algorithm changed),
      the default hasher once, unless a right password upgraded it (an inactive account), and
      each other legacy algorithm stored once.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        UserModel = get_user_model()
        if username is None:
            username = kwargs.get(UserModel.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = UserModel._default_manager.get_by_natural_key(username)
        except UserModel.DoesNotExist:
            # Run the default password hasher once, as Django does for an unknown name (#20760).
            UserModel().set_password(password)
            stored, upgraded = None, False
        else:
            stored = user.password
            right, upgraded = _check_and_upgrade(user, password)
            if upgraded and is_legacy(stored):
                forget_legacy_hashes()  # perhaps the last one
            if right and self.user_can_authenticate(user):
                return user
        self._even_out(password, stored, upgraded=upgraded)
        return None

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)

    @staticmethod
    def _even_out(password, stored, *, upgraded):
        checked = None  # the legacy algorithm the failure has already run
        if stored is not None and is_legacy(stored):
            hasher = identify_hasher(stored)
            checked = hasher.algorithm
            hasher.harden_runtime(password, stored)
            if not upgraded:
                make_password(password)
        stored_algorithms = legacy_algorithms_stored()
        for hasher in legacy_hashers():
            if hasher.algorithm != checked and hasher.algorithm in stored_algorithms:
                hasher.encode(password, hasher.salt())  # as costly as verifying a hash it stored


def last_login_text(user):
    """When `user` last logged in, as the list and the audit trail say it (Asia/Shanghai)."""
    return f"最后登录 {timezone.localtime(user.last_login):%Y-%m-%d %H:%M}" if user.last_login else "从未登录"


def legacy_passwords_expire(*, not_since, reason=""):
    """Make the passwords of the legacy accounts not logged in since `not_since` unusable, so
    that only an administrator's reset lets them in again; one audit event each (action
    "expire_password", by the system: the old hash's algorithm, and the last login in the reason;
    neither the old nor the new hash is written). Returns the
    expired users. One transaction; the rows are locked so that a login going on either stored
    its upgrade first (then the account is no longer legacy and is left alone) or finds the
    password changed when it stores its upgrade, and is refused (_check_and_upgrade)."""
    expired = []
    with transaction.atomic():
        for user in legacy_accounts(not_since=not_since).select_for_update():
            algorithm = identify_hasher(user.password).algorithm
            user.set_unusable_password()
            user.save(update_fields=["password"])
            expired.append(user)
            AuditEvent.objects.create(
                user=None, action="expire_password", model=user._meta.model_name, object_id=str(user.pk),
                object_repr=user.get_username()[:200],
                before={"password": algorithm}, after={"password": "unusable"},
                # the last login, which did not change, read with the reason (Asia/Shanghai)
                reason=f"{last_login_text(user)}；{reason}"[:200],
            )
    forget_legacy_hashes()
    return expired
