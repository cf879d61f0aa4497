"""A failed login costs the same whatever the account's stored hash, while legacy (PBKDF2) hashes
remain: otherwise its time tells an attacker which user names exist and are dormant. The tests
count the work done (Argon2 computations by their parameters, PBKDF2 iterations by digest), not
the time. The end of the transition: `manage.py legacy_passwords`.

The test settings hash with MD5 for speed; these tests run with the production list."""

import datetime
import io
from collections import Counter

import argon2
import pytest
from django.conf import global_settings
from django.contrib.auth import get_user_model
from django.contrib.auth import hashers as django_hashers
from django.contrib.auth.hashers import identify_hasher, is_password_usable
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from mch_link import settings as production
from mch_link.models import AuditEvent
from tests import factories as f
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("production_hashers")]
WRONG = "not-the-password-at-all"
ARGON2ID = "argon2 m=19456,t=2,p=1"
EVEN = {ARGON2ID: 1, "pbkdf2 sha256 iterations": 1_000_000}  # a failure while legacy hashes remain
ARGON2_ONLY = {ARGON2ID: 1}
User = get_user_model()


@pytest.fixture
def production_hashers():
    with override_settings(PASSWORD_HASHERS=getattr(production, "PASSWORD_HASHERS",
                                                    global_settings.PASSWORD_HASHERS)):
        yield


@pytest.fixture(autouse=True)
def nothing_known_of_legacy_hashes():
    """What a process has read about legacy hashes must not outlive the test's rollback."""
    yield
    try:
        from mch_link.passwords import forget_legacy_hashes
    except ImportError:  # before the fix
        return
    forget_legacy_hashes()


@pytest.fixture
def work(monkeypatch):
    """The password work done from now on: {"argon2 m=…,t=…,p=…": computations,
    "pbkdf2 <digest> iterations": iterations}."""
    done = Counter()
    real_pbkdf2 = django_hashers.pbkdf2
    real_hash, real_verify = argon2.low_level.hash_secret, argon2.PasswordHasher.verify

    def pbkdf2(password, salt, iterations, dklen=0, digest=None):
        done[f"pbkdf2 {digest().name} iterations"] += iterations
        return real_pbkdf2(password, salt, iterations, dklen, digest)

    def hash_secret(*args, **kw):
        done[f"argon2 m={kw['memory_cost']},t={kw['time_cost']},p={kw['parallelism']}"] += 1
        return real_hash(*args, **kw)

    def verify(self, hash, password):
        p = argon2.extract_parameters(hash)
        done[f"argon2 m={p.memory_cost},t={p.time_cost},p={p.parallelism}"] += 1
        return real_verify(self, hash, password)

    monkeypatch.setattr(django_hashers, "pbkdf2", pbkdf2)
    monkeypatch.setattr(argon2.low_level, "hash_secret", hash_secret)
    monkeypatch.setattr(argon2.PasswordHasher, "verify", verify)
    return done


def stored_as(user, encoded):
    User.objects.filter(pk=user.pk).update(password=encoded)


def pbkdf2(password=PASSWORD, iterations=None, hasher="pbkdf2_sha256"):
    h = django_hashers.get_hasher(hasher)
    return h.encode(password, h.salt(), iterations)


def log_in(client, username, password):
    """Posts the login form; True when it logged in."""
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code in (200, 302)
    return response.status_code == 302


@pytest.fixture
def dormant():
    """An account that has not logged in since passwords became Argon2id: still PBKDF2."""
    user = f.user("dormant")
    stored_as(user, pbkdf2())
    return user


@pytest.fixture
def active():
    return f.user("active")  # Argon2id


# Every way a login can fail: each builds its account and gives the name and password tried.
def unknown_name():
    return "nobody-of-that-name", WRONG


def argon2_account_wrong_password():
    f.user("argon")
    return "argon", WRONG


def pbkdf2_account_wrong_password():
    return "dormant", WRONG


def pbkdf2_account_of_an_older_django_wrong_password():
    """Django 5.0 stored PBKDF2-SHA256 at 720,000 iterations."""
    stored_as(f.user("older"), pbkdf2(iterations=720_000))
    return "older", WRONG


def unusable_password():
    """An account whose password was expired (or never set)."""
    user = f.user("expired")
    user.set_unusable_password()
    user.save()
    return "expired", PASSWORD


def inactive_argon2_account_right_password():
    f.user("left", is_active=False)
    return "left", PASSWORD


def inactive_pbkdf2_account_right_password():
    stored_as(f.user("left-long-ago", is_active=False), pbkdf2())
    return "left-long-ago", PASSWORD


FAILURES = [unknown_name, argon2_account_wrong_password, pbkdf2_account_wrong_password,
            pbkdf2_account_of_an_older_django_wrong_password, unusable_password,
            inactive_argon2_account_right_password, inactive_pbkdf2_account_right_password]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda fn: fn.__name__)
def test_while_a_legacy_hash_remains_every_failed_login_does_the_same_work(client, dormant, work, failure):
    username, password = failure()
    work.clear()
    assert not log_in(client, username, password)
    assert dict(work) == EVEN


def test_a_successful_login_of_an_argon2_account_is_not_padded(client, dormant, active, work):
    assert log_in(client, "active", PASSWORD)
    assert dict(work) == ARGON2_ONLY


def test_a_legacy_account_logging_in_is_upgraded_and_its_failures_then_cost_argon2_only(client, dormant, work):
    assert log_in(client, "dormant", PASSWORD)
    assert identify_hasher(User.objects.get(username="dormant").password).algorithm == "argon2"
    client.logout()
    work.clear()
    # That was the last legacy hash: no interval to wait in this process.
    assert not log_in(client, "dormant", WRONG)
    assert dict(work) == ARGON2_ONLY
    work.clear()
    assert not log_in(client, "nobody-of-that-name", WRONG)
    assert dict(work) == ARGON2_ONLY


@pytest.mark.parametrize("username", ["nobody-of-that-name", "active"])
def test_with_no_legacy_hash_left_a_failure_costs_argon2_only(client, active, work, username):
    work.clear()
    assert not log_in(client, username, WRONG)
    assert dict(work) == ARGON2_ONLY


def test_the_admin_login_is_evened_out_too(client, dormant, active, work):
    for username in ("nobody-of-that-name", "active", "dormant"):
        work.clear()
        response = client.post("/admin/login/", {"username": username, "password": WRONG})
        assert response.status_code == 200
        assert dict(work) == EVEN, username


def test_whether_legacy_hashes_remain_is_read_once_an_interval(django_assert_num_queries, monkeypatch, active):
    from mch_link import passwords

    clock = [1000.0]
    monkeypatch.setattr(passwords, "monotonic", lambda: clock[0])
    with django_assert_num_queries(1):
        assert passwords.legacy_algorithms_stored() == frozenset()
    # A legacy hash comes back behind the process's back (a restored older backup).
    stored_as(active, pbkdf2())
    clock[0] += passwords.LEGACY_CHECK_SECONDS - 1
    with django_assert_num_queries(0):
        assert passwords.legacy_algorithms_stored() == frozenset()
    clock[0] += 1
    with django_assert_num_queries(1):
        assert passwords.legacy_algorithms_stored() == {"pbkdf2_sha256"}


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_the_lockout_still_refuses_before_any_password_work(client, dormant, work):
    for _ in range(3):
        client.post("/accounts/login/", {"username": "dormant", "password": WRONG})
    work.clear()
    response = client.post("/accounts/login/", {"username": "dormant", "password": PASSWORD})
    assert response.status_code == 429
    assert dict(work) == {}
    assert identify_hasher(User.objects.get(username="dormant").password).algorithm == "pbkdf2_sha256"


# --------------------------------------------------------------------------- the command


def last_logged_in(user, day):
    User.objects.filter(pk=user.pk).update(
        last_login=timezone.make_aware(datetime.datetime.combine(day, datetime.time(9, 0))))


@pytest.fixture
def cast(dormant):
    """dormant (never logged in), ada (PBKDF2, last in 2025-03-01), sam (PBKDF2, last in
    2026-02-01), active (Argon2id)."""
    ada, sam = f.user("ada"), f.user("sam")
    stored_as(ada, pbkdf2())
    stored_as(sam, pbkdf2(hasher="pbkdf2_sha1"))
    last_logged_in(ada, datetime.date(2025, 3, 1))
    last_logged_in(sam, datetime.date(2026, 2, 1))
    f.user("active")
    return {u.username: User.objects.get(pk=u.pk) for u in (dormant, ada, sam)}


def run(*args):
    out = io.StringIO()
    call_command("legacy_passwords", *args, stdout=out)
    return out.getvalue()


def passwords_now():
    return dict(User.objects.values_list("username", "password"))


def test_the_command_lists_the_legacy_accounts_and_their_last_login_and_changes_nothing(cast):
    before = passwords_now()
    out = run()
    assert out.splitlines()[0].endswith("旧密码哈希账户: 3")
    assert "ada" in out and "2025-03-01" in out
    assert "sam" in out and "2026-02-01" in out and "pbkdf2_sha1" in out
    assert "dormant" in out and "从未登录" in out
    assert "active" not in out
    assert passwords_now() == before
    assert not AuditEvent.objects.exists()


def test_not_since_without_expire_lists_only_and_changes_nothing(cast):
    before = passwords_now()
    out = run("--not-since", "2026-01-01")
    assert "ada" in out and "dormant" in out and "sam" not in out
    assert passwords_now() == before
    assert not AuditEvent.objects.exists()


def test_a_dry_run_says_what_it_would_expire_and_changes_nothing(cast):
    before = passwords_now()
    out = run("--expire", "--not-since", "2026-01-01", "--dry-run")
    assert "ada" in out and "dormant" in out and "sam" not in out
    assert "将停用: 2" in out
    assert passwords_now() == before
    assert not AuditEvent.objects.exists()


def test_expire_makes_the_old_passwords_unusable_and_audits_each(client, cast):
    out = run("--expire", "--not-since", "2026-01-01")
    assert "已停用: 2" in out
    after = {u.username: u for u in User.objects.all()}
    assert not is_password_usable(after["ada"].password)
    assert not is_password_usable(after["dormant"].password)
    assert after["sam"].password == cast["sam"].password  # logged in since
    assert is_password_usable(after["active"].password)
    assert not log_in(client, "ada", PASSWORD)
    events = {e.object_repr: e for e in AuditEvent.objects.filter(action="expire_password")}
    assert set(events) == {"ada", "dormant"}
    assert events["ada"].before["password"] == "pbkdf2_sha256"
    assert "pbkdf2_sha256$" not in str(events["ada"].before) + str(events["ada"].after)  # no hash kept
    assert events["ada"].object_id == str(after["ada"].pk) and events["ada"].user is None
    # A superuser reads it in the audit list.
    client.force_login(f.user("root", is_superuser=True, is_staff=True))
    page = client.get("/audit/", {"action": "expire_password"}).content.decode()
    assert page.count("停用旧密码") == 3 and "ada" in page and "dormant" in page  # the filter, two rows
    client.logout()
    # An administrator's reset lets them in again (set_password: Argon2id).
    after["ada"].set_password("a-new-password-2026")
    after["ada"].save()
    assert log_in(client, "ada", "a-new-password-2026")


def test_expiring_the_last_legacy_hashes_ends_the_padding_at_once(client, dormant, work):
    assert not log_in(client, "nobody-of-that-name", WRONG)  # reads: legacy hashes remain
    run("--expire", "--not-since", timezone.localdate().isoformat())
    work.clear()
    assert not log_in(client, "nobody-of-that-name", WRONG)
    assert dict(work) == ARGON2_ONLY


@pytest.mark.parametrize("args, message", [
    (["--expire"], "--not-since"),
    (["--expire", "--not-since", "2026-13-01"], "YYYY-MM-DD"),
    (["--expire", "--not-since", "yesterday"], "YYYY-MM-DD"),
    (["--dry-run"], "--expire"),
    (["--expire", "--not-since", "2999-01-01"], "future"),
])
def test_bad_flags_are_refused_and_change_nothing(cast, args, message):
    before = passwords_now()
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert passwords_now() == before
    assert not AuditEvent.objects.exists()


def test_the_list_never_shows_a_hash(cast):
    out = run()
    assert "$" not in out


@pytest.mark.parametrize("meanwhile", ["expired", "reset by an administrator"])
def test_a_password_changed_while_a_login_checks_the_legacy_hash_stays_changed(client, dormant, monkeypatch,
                                                                               meanwhile):
    """Checking a PBKDF2 hash takes about 0.4 s. If the expiry (or an administrator's reset)
    commits meanwhile, the login must not then store the old password again as Argon2id (the
    upgrade) nor log in with it: the expiry's audit event says the password is unusable, and
    a reset of a leaked password must hold."""
    from mch_link.passwords import legacy_passwords_expire

    real_verify = django_hashers.PBKDF2PasswordHasher.verify
    changed = []

    def verify(self, password, encoded):
        right = real_verify(self, password, encoded)
        if not changed:  # another process, while this login checks the hash it read
            changed.append(True)
            if meanwhile == "expired":
                assert [u.username for u in legacy_passwords_expire(not_since=timezone.localdate())] == ["dormant"]
            else:
                user = User.objects.get(username="dormant")
                user.set_password("a-new-password-2026")
                user.save()
        return right

    monkeypatch.setattr(django_hashers.PBKDF2PasswordHasher, "verify", verify)
    assert not log_in(client, "dormant", PASSWORD)
    assert "_auth_user_id" not in client.session
    stored = User.objects.get(username="dormant").password
    if meanwhile == "expired":
        assert not is_password_usable(stored)
        assert AuditEvent.objects.get(action="expire_password").after == {"password": "unusable"}
    else:
        assert django_hashers.check_password("a-new-password-2026", stored)
        assert not django_hashers.check_password(PASSWORD, stored)


def pbkdf2_sha1_account_wrong_password():
    return "imported", WRONG


@pytest.mark.parametrize("failure", [*FAILURES, pbkdf2_sha1_account_wrong_password], ids=lambda fn: fn.__name__)
def test_while_sha1_hashes_remain_too_every_failed_login_does_the_same_work(client, dormant, work, failure):
    """A PBKDF2-SHA1 hash (imported from another system) is checked with SHA-1, whose cost per
    iteration is not SHA-256's (here 0.42 s against 0.35 s for 1,000,000): while one is stored,
    every failure also does each legacy algorithm still stored once."""
    stored_as(f.user("imported"), pbkdf2(hasher="pbkdf2_sha1"))
    username, password = failure()
    work.clear()
    assert not log_in(client, username, password)
    assert dict(work) == {**EVEN, "pbkdf2 sha1 iterations": 1_000_000}


def test_the_audit_list_reads_an_expiry_in_chinese_with_the_last_login_in_local_time(client, cast):
    """ada last logged in on 2025-03-01 at 09:00 (Asia/Shanghai): the audit list says so, and
    does not show her last login as changed to nothing (it was not), nor the UTC time, nor
    the field names of the code."""
    import re

    run("--expire", "--not-since", "2026-01-01")
    client.force_login(f.user("root", is_superuser=True, is_staff=True))
    page = client.get("/audit/", {"action": "expire_password"}).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "2025-03-01 09:00" in text and "从未登录" in text  # ada's last login, dormant's none
    assert "T01:00" not in text and "last_login" not in text and "password：" not in text
    assert "密码：pbkdf2_sha256 →" in text
