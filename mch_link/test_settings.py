"""Settings for the test suite: tasks run synchronously (read by django-q at import)."""
import os

os.environ.setdefault("TESTING", "1")

from .settings import *  # noqa: E402,F403
from .settings import Q_CLUSTER  # noqa: E402

Q_CLUSTER["sync"] = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The test client's login() authenticates without a request, which django-axes refuses; the
# lockout tests turn it on with override_settings(AXES_ENABLED=True).
AXES_ENABLED = False
# The dashboard's cache is keyed by a data version raised after commits, which the tests'
# rolled-back transactions never reach: off, except in the tests of the cache (report_cache).
REPORT_CACHE_SECONDS = 0
