"""The stored password hash: Argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane), the
hashes stored before it (PBKDF2-SHA256) still accepted and upgraded at the user's next login.

The test settings hash with MD5 for speed; these tests run with the production list."""

import re

import pytest
from django.conf import global_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.test import override_settings

from mch_link import settings as production
from tests import factories as f

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
ARGON2ID = re.compile(r"^argon2\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$")
production_hashers = override_settings(
    PASSWORD_HASHERS=getattr(production, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS))


def parameters(encoded):
    m, t, p = ARGON2ID.match(encoded).groups()
    return int(m), int(t), int(p)


@production_hashers
def test_a_new_password_is_stored_as_argon2id_at_owasp_strength_or_more():
    encoded = make_password(PASSWORD)
    assert ARGON2ID.match(encoded), encoded
    memory_kib, passes, lanes = parameters(encoded)
    # OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1 is the minimum configuration.
    assert memory_kib >= 19 * 1024 and passes >= 2 and lanes >= 1
    assert check_password(PASSWORD, encoded)
    assert not check_password(PASSWORD + "x", encoded)


@production_hashers
def test_a_password_stored_before_as_pbkdf2_still_logs_in_and_is_upgraded(client):
    user = f.user("old-hash")
    old = make_password(PASSWORD, hasher="pbkdf2_sha256")
    get_user_model().objects.filter(pk=user.pk).update(password=old)
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert ARGON2ID.match(user.password)
    assert check_password(PASSWORD, user.password)


@production_hashers
def test_a_wrong_password_neither_logs_in_nor_touches_the_stored_hash(client):
    user = f.user("old-hash-2")
    old = make_password(PASSWORD, hasher="pbkdf2_sha256")
    get_user_model().objects.filter(pk=user.pk).update(password=old)
    response = client.post("/accounts/login/", {"username": user.username, "password": "not-the-password"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    user.refresh_from_db()
    assert user.password == old


@production_hashers
def test_an_argon2id_hash_with_weaker_parameters_is_raised_at_login(client):
    """Django's own Argon2 defaults differ; whatever an older release stored is re-hashed to
    the configured parameters at the next login."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    class Weaker(Argon2PasswordHasher):
        memory_cost = 8 * 1024
        time_cost = 1
        parallelism = 1

    user = f.user("weak-argon")
    weak = Weaker().encode(PASSWORD, Weaker().salt())
    get_user_model().objects.filter(pk=user.pk).update(password=weak)
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    user.refresh_from_db()
    assert user.password != weak
    assert parameters(user.password) == parameters(make_password(PASSWORD))
