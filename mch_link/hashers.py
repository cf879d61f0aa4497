"""The password hasher: Argon2id at the OWASP Password Storage Cheat Sheet's configuration.

Django's own Argon2PasswordHasher uses 100 MiB and 8 lanes (about 0.25 s of CPU a login on
this project's 2-core reference machine, as much as PBKDF2-SHA256 at 1,000,000 iterations).
OWASP's first recommendation, Argon2id with 19 MiB, 2 passes and 1 lane, costs about 30 ms of
one core and is memory-hard, which PBKDF2 is not: a guessing rig pays 19 MiB per guess in
flight. Hashes stored with other parameters or with PBKDF2 are still accepted and re-hashed
at the user's next successful login (Django's must_update / setter)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    """algorithm stays "argon2": the parameters are in each stored hash, so any Argon2 hash
    verifies, and one with other parameters is upgraded at login."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
