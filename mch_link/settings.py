"""Settings for mch-link, read from the environment (see .env.example).

SQLite in the project folder and the django-q ORM broker are the embedded default;
DATABASE_URL=postgres://... and REDIS_URL=redis://... select the production choice.
"""

import os
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=""):
    """The variable's value; unset or empty gives `default`."""
    return os.environ.get(name) or default


def env_bool(name, default=False):
    value = os.environ.get(name)
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


_DEV_SECRET_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = env("SECRET_KEY", _DEV_SECRET_KEY)
# Off unless set: a forgotten variable must not serve Django's debug pages (`make run` sets it).
DEBUG = env_bool("DEBUG", False)
if SECRET_KEY == _DEV_SECRET_KEY and not DEBUG and not env_bool("TESTING"):
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (or set DEBUG=1 for development).")
if SECRET_KEY == _DEV_SECRET_KEY and not env_bool("TESTING") and not env_bool("SECRET_KEY_WARNED"):
    warnings.warn("SECRET_KEY is not set: using the development default.", stacklevel=1)
    # Once: the processes this one starts (runserver, django-q's workers) inherit the flag.
    os.environ["SECRET_KEY_WARNED"] = "1"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# The address in feed links and QR codes; unset, the one `make run HOST=... PORT=...` serves on.
_SITE_HOST = env("HOST", "127.0.0.1")
SITE_URL = env("SITE_URL", "http://{}:{}".format("127.0.0.1" if _SITE_HOST in {"0.0.0.0", "::"} else _SITE_HOST,
                                                 env("PORT", "8000"))).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "phonenumber_field",
    "django_q",
    "mch_link",
    "scheduling",
    "reports",
    "ninja",  # its Swagger UI files, served from our static files (no CDN): /api/docs
    "api",
]

MIDDLEWARE = [
    # First, so its duration covers the whole request; on unless REQUEST_LOG=0 (off with DEBUG).
    *(["mch_link.ops.RequestLogMiddleware"] if env_bool("REQUEST_LOG", not DEBUG) else []),
    "django.middleware.security.SecurityMiddleware",
    # Compresses HTML for weak phone connections (docs/accessibility.md: BREACH and why the
    # pages here may be compressed). Before whitenoise, which serves its own .gz copies.
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Calendar feeds (anonymous, authenticated by their token, no cookie) are answered here,
    # without the session, locale, CSRF, auth, messages, CSP and axes middleware below.
    "scheduling.middleware.FeedMiddleware",
    # Before the session and CSRF middleware: drops the cookies they repeat on a prefetch.
    "mch_link.prefetch.PrefetchSetsNoCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A NUL anywhere in the path, query or form is refused before any view (PostgreSQL cannot
    # take it; Django's admin and third-party views would answer 500).
    "mch_link.params.RefuseNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mch_link.urls"
WSGI_APPLICATION = "mch_link.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mch_link.context_processors.membership",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# Persistent connections (seconds; 0 opens one per request), on SQLite too: each gunicorn
# sync worker and each django-q process keeps its own, opened after the fork, and skips the
# connect and the PRAGMAs below on every request (docs/performance.md, feeds).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(env("CONN_MAX_AGE", "60")))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the task worker writes; IMMEDIATE takes the write
    # lock at BEGIN, so two writers queue for busy_timeout instead of failing with
    # "database is locked" halfway through a transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": env("TEST_SQLITE_NAME") or None}
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # The reports read dates back from SQL text (CAST(... AS TEXT)): ISO whatever the server's
    # or the database's default DateStyle, asked for when each connection starts (no query).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c DateStyle=ISO,YMD".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Task queue (django-q2) -----------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
Q_CLUSTER = {
    # Processes sharing one Redis share a queue by this name (docs/deploy.md).
    "name": env("Q_CLUSTER_NAME", "mch_link"),
    "workers": env_int("Q_WORKERS", 2),
    "timeout": 600,
    "retry": 900,  # must exceed timeout, or a long job is handed out twice
    "catch_up": False,  # a server down over night runs the nightly job once, not N times
    "save_limit": 500,
    "label": "任务队列",
    "sync": env_bool("Q_SYNC", False),
    # Every cluster runs the scheduler unless Q_SCHEDULER=0 (the Procfile keeps it to one
    # process; two would still not double a job: django-q locks the schedule row).
    "scheduler": env_bool("Q_SCHEDULER", True),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Cache ----------------------------------------------------------------------------------
# What is cached (the dashboard's rendered report, keyed by the shared data version; feed
# bodies, keyed by their fingerprint) is correct in a per-process LocMem cache, each process
# computing it once. CACHE_URL=redis://host:6379/1 shares it between the processes and hosts of
# a deployment (docs/deploy.md): computed once for all of them.
# The reports have a cache of their own, bounded apart (REPORT_CACHE_ENTRIES a process, and no
# report over REPORT_CACHE_MAX_BYTES is kept): asking for many distinct reports cannot push the
# feed bodies out, nor fill a process's memory.
CACHE_URL = env("CACHE_URL")
_KEY_PREFIX = env("CACHE_KEY_PREFIX", "mch_link")
if CACHE_URL:
    CACHES = {alias: {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                      "KEY_PREFIX": f"{_KEY_PREFIX}:{alias}"} for alias in ("default", "reports")}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "default"},
        "reports": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "reports",
                    "OPTIONS": {"MAX_ENTRIES": env_int("REPORT_CACHE_ENTRIES", 100)}},
    }

# --- Auth -----------------------------------------------------------------------------------
# django-axes refuses a login before the password is checked once the account or the address
# has failed LOGIN_FAILURE_LIMIT times within LOGIN_COOLOFF_MINUTES (docs/security.md).
# Then Django's ModelBackend, whose failures all cost the same while legacy (PBKDF2) hashes
# remain, so that a login's time does not tell which accounts still hold one (mch_link/passwords.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "mch_link.passwords.EvenCostBackend",
]
# Argon2id at OWASP's parameters (mch_link/hashers.py, docs/security.md); the PBKDF2 hashes
# stored before still verify and are re-hashed at the next login.
PASSWORD_HASHERS = [
    "mch_link.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
PASSWORD_MIN_LENGTH = env_int("PASSWORD_MIN_LENGTH", 10)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "mch_link.security.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "mch_link:home"
LOGOUT_REDIRECT_URL = "login"
# Session lifetime in seconds (default 8 hours, a working day); ends with the browser if set.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", False)

LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15)
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_VERBOSE = env_bool("AXES_VERBOSE", False)  # not a "BEGIN" line from every process
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
# Either the account or the address reaching the limit locks (not only the pair).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "mch_link.security.lockout_response"
AXES_CLIENT_IP_CALLABLE = "mch_link.security.client_ip"
# Behind a reverse proxy, the number of proxies that append to X-Forwarded-For (0: none,
# REMOTE_ADDR is the client). Without it every login seems to come from the proxy.
NUMBER_OF_PROXIES = env_int("NUMBER_OF_PROXIES", 0)

# --- Language and time ----------------------------------------------------------------------
# One language: the pages are Chinese whatever the browser asks, and Django's own messages
# ("这个字段是必填项。") with them; LocaleMiddleware answers Content-Language: zh-hans, the
# same as <html lang> (docs/accessibility.md).
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Without DEBUG (the production profile, after `collectstatic`): hashed names, so whitenoise
# serves them with a ten-year Cache-Control, and gzip copies made once at collectstatic.
# With DEBUG (`make run`): plain names from the app folders, no collectstatic needed.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Uploads (signed agreements, visit photos) live outside the web root and are served only by
# views that check who may see them: there is deliberately no MEDIA_URL route.
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "private_media")))
MEDIA_URL = "/files/"
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 1024 * 1024
# Registry import limits (docs/import.md): checked before a file is parsed.
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int("IMPORT_MAX_UNCOMPRESSED_BYTES", 50 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 50_000)
# Uploads larger than this run as a background task (django-q) with progress on the page.
IMPORT_BACKGROUND_BYTES = env_int("IMPORT_BACKGROUND_BYTES", 256 * 1024)

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "mch-link <noreply@localhost>")

# --- Phone numbers --------------------------------------------------------------------------
PHONENUMBER_DEFAULT_REGION = "CN"
PHONENUMBER_DEFAULT_FORMAT = "NATIONAL"
# An 8-digit local number ("88001234") is read as a number in this area (0575 = Shaoxing).
DEFAULT_AREA_CODE = env("DEFAULT_AREA_CODE", "0575")

# --- Policy rules (design.md) ---------------------------------------------------------------
# A contract owes a quarter when in force at least this many days of it ...
MIN_DAYS_IN_FORCE_QUARTER = env_int("MIN_DAYS_IN_FORCE_QUARTER", 30)
# ... and the year's supervision when in force at least this many days of the year.
MIN_DAYS_IN_FORCE_YEAR = env_int("MIN_DAYS_IN_FORCE_YEAR", 90)
# Days after a period ends during which a service still counts, as done late.
GRACE_DAYS = env_int("GRACE_DAYS", 15)
# A record entered more than this many days after it was held is a late entry ("补录"): its
# reason is asked for, and reports count it apart.
LATE_ENTRY_DAYS = env_int("LATE_ENTRY_DAYS", 7)
# Seconds the dashboard keeps a rendered report in the cache (0: never cached). Keyed by the
# data version, raised after every write (reports.freshness), so this bounds staleness only
# where a bump was lost (a process killed between a commit and its bump). docs/reports.md.
REPORT_CACHE_SECONDS = env_int("REPORT_CACHE_SECONDS", 300)
# The registry parts each process keeps for the dashboard's misses (reports.views.REGISTRY_PARTS):
# at most this many facts together (about 0.55 KB each: 60,000 is about 33 MB a process).
REPORT_REGISTRY_KEPT_FACTS = env_int("REPORT_REGISTRY_KEPT_FACTS", 60_000)
REPORT_CACHE_MAX_BYTES = env_int("REPORT_CACHE_MAX_BYTES", 2_000_000)
SESSIONS_PER_DOCTOR_PER_DAY = env_int("SESSIONS_PER_DOCTOR_PER_DAY", 2)
BUFFER_WORKING_DAYS = env_int("BUFFER_WORKING_DAYS", 10)
# Years a URL or form may name (mch_link.params): the plan's span plus a margin. Anything
# outside is refused with a 400 or a form error.
PARAM_YEARS = (env_int("PARAM_YEAR_MIN", 2020), env_int("PARAM_YEAR_MAX", 2035))
TRAINING_GROUP_SIZE = env_int("TRAINING_GROUP_SIZE", 5)
GROUP_PARENT_LECTURES = env_bool("GROUP_PARENT_LECTURES", False)
REMINDER_DAYS_DOCTOR = env_int("REMINDER_DAYS_DOCTOR", 3)
REMINDER_DAYS_CENTRE = env_int("REMINDER_DAYS_CENTRE", 7)
FEED_ALARM_MINUTES = env_int("FEED_ALARM_MINUTES", 24 * 60)
# PostgreSQL: the statements run again and again (a feed request's, the reports' and the
# registry's kept statements) are prepared on the server, once per connection
# (mch_link/statements.py, docs/deploy.md). Turn off behind a transaction-pooling pgbouncer
# older than 1.22. FEED_PREPARED_STATEMENTS, its name when it covered the feeds alone, is read
# when PREPARED_STATEMENTS is not set.
PREPARED_STATEMENTS = env_bool("PREPARED_STATEMENTS", env_bool("FEED_PREPARED_STATEMENTS", True))
# At most this many prepared a connection, least recently used deallocated first: each holds
# server memory, 30-400 KB (a city report's five about 1.5 MB), so 32 is about 10 MB a connection.
PREPARED_STATEMENTS_MAX = env_int("PREPARED_STATEMENTS_MAX", 32)
if PREPARED_STATEMENTS_MAX < 1:  # 0 would prepare every statement again at each run
    raise ImproperlyConfigured(
        "PREPARED_STATEMENTS_MAX must be at least 1 (set PREPARED_STATEMENTS=0 to prepare none).")

# --- JSON API (docs/api.md) ------------------------------------------------------------------
# Requests a personal access token may make a minute; more are answered 429 with Retry-After.
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 120)
# Items of a list page: the default and the most a client may ask for (?limit=).
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 100)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 500)
# How long the answer to a POST with an Idempotency-Key is kept for a retry.
API_IDEMPOTENCY_HOURS = env_int("API_IDEMPOTENCY_HOURS", 24)

# --- Security (docs/security.md) -----------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Cookies only over https unless DEBUG. A deployment (or a local production test) on plain
# http sets COOKIES_OVER_HTTP=1 (the same as both *_COOKIE_SECURE=0; docs/deploy.md).
_COOKIES_SECURE = not DEBUG and not env_bool("COOKIES_OVER_HTTP")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _COOKIES_SECURE)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _COOKIES_SECURE)
# Turned on by a deployment that answers on https (the proxy terminating TLS sets
# X-Forwarded-Proto: https, and SECURE_PROXY_SSL_HEADER=1 trusts it).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if env_bool("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# Content-Security-Policy (django-csp): scripts and styles only from our own static files,
# no inline <script> but the nonced speculation rules (mch_link/prefetch.py), no style=
# attributes, no framing. The nonce is in the header only on a page that used it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # the request line is JSON already (mch_link.ops): printed as it is, one per line
        "bare": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "requests": {"class": "logging.StreamHandler", "formatter": "bare"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "mch_link.requests": {"handlers": ["requests"], "level": "INFO", "propagate": False},
    },
}

# Serve static files from the app folders too with DEBUG, so `make run` needs no collectstatic;
# without it only the collected (hashed, compressed) files.
WHITENOISE_USE_FINDERS = DEBUG
