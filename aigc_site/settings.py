"""Settings for 画廊 AIGC.

One module, every value read from the environment (12-factor) with a default that suits
local development, so `make run` works on a fresh machine. Environments differ only in their
variables. Grouped by concern; each group says which variables it reads.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# Typed readers (aigc_site/env.py): a malformed value fails at start-up.
from aigc_site.env import env_bool, env_choice, env_float, env_int, env_list, env_str, require_ports

# The kinds of job name their own settings (path, task, cost); importing them needs no set-up.
from gallery import kinds as job_kinds

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

# --- core ---

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_site_host = urlsplit(SITE_URL).hostname or "127.0.0.1"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [_site_host, "127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "axes",
    "csp",
    # the JSON API; listed for its bundled Swagger UI files and template (no CDN)
    "ninja",
    "gallery",
    "devstack",  # only `manage.py objectstore`: the embedded S3 server for development
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise: static files are answered before this runs; every page gets the policy.
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the locale, so its 413 speaks the client's language; before anything reads the body.
    "gallery.api.limits.BodyLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout flagged during the view into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "aigc_site.urls"
WSGI_APPLICATION = "aigc_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gallery.context_processors.site",
            ],
        },
    },
]

# --- database: SQLite (WAL) under var/ by default; DATABASE_URL switches (PostgreSQL, psycopg 3) ---

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # WAL lets the web server read while a worker writes; IMMEDIATE makes a
            # transaction take the write lock up front, so select_for_update-style code does
            # not deadlock on lock upgrades; the timeout rides out short write bursts.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": env_str("SQLITE_TEST_NAME") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache: local memory by default, Redis when REDIS_URL is set ---

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- queue: django-q2, ORM broker by default, Redis broker when REDIS_URL is set ---
# timeout: the longest task is the engine's "photo, best quality" upscale of a 768x768 input
# (realesrgan-x4plus, tiled: ~4 minutes alone on 2 cores, more when sharing them), so a task
# may run 600 s.
# retry: a task not acknowledged within 660 s is handed out again; it must exceed timeout or a
# still-running task would be started twice. Tasks are idempotent anyway (see gallery/tasks.py).

Q_CLUSTER = {
    "name": env_str("Q_CLUSTER_NAME", "aigc"),
    "workers": env_int("Q_WORKERS", 4),
    "timeout": env_int("Q_TIMEOUT", 600),
    "retry": env_int("Q_RETRY", 660),
    "max_attempts": 3,  # a crashed task is re-run at most 3 times
    "queue_limit": 50,
    "bulk": 1,
    "catch_up": False,
    "poll": 0.05,  # the ORM broker's sleep on an empty queue, half of it in each hand-over (bench/loop.py)
    "ack_failures": True,
    "save_limit": 0,  # no pruning after each task: gallery/task_results.py says why and prunes daily
    "sync": env_bool("Q_SYNC", False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("Q_RETRY must exceed Q_TIMEOUT, or running tasks are handed out twice")

# --- object storage: django-storages S3 backend; the embedded default is SeaweedFS on 127.0.0.1 ---

S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "http://127.0.0.1:8333")
DEV_S3_ACCESS_KEY, DEV_S3_SECRET_KEY = "devaccesskey", "devsecretkey123"
S3_ACCESS_KEY = env_str("S3_ACCESS_KEY", DEV_S3_ACCESS_KEY)
S3_SECRET_KEY = env_str("S3_SECRET_KEY", DEV_S3_SECRET_KEY)
# The embedded object store's keys are in this file for everyone to read: with DEBUG off they
# are refused, so a deployment that forgot its S3 variables stops instead of running on them.
if not DEBUG and (S3_ACCESS_KEY == DEV_S3_ACCESS_KEY or S3_SECRET_KEY == DEV_S3_SECRET_KEY):
    raise ImproperlyConfigured(
        "S3_ACCESS_KEY and S3_SECRET_KEY must be set (not the embedded development keys) when DEBUG is off"
    )
S3_BUCKET = env_str("S3_BUCKET", "aigc-media")
S3_REGION = env_str("S3_REGION", "us-east-1")
# Private objects are served by presigned GET URLs that expire after this many seconds.
MEDIA_URL_EXPIRY = env_int("MEDIA_URL_EXPIRY", 600)
# A signed URL is handed out again for this long, so a page shows the same URLs on a second visit
# and the browser serves the pictures from its cache; handed out at the end of that time it is
# still valid for MEDIA_URL_EXPIRY minus this. At most half the expiry.
MEDIA_URL_REUSE_SECONDS = env_int("MEDIA_URL_REUSE_SECONDS", MEDIA_URL_EXPIRY // 2)
if not 0 <= MEDIA_URL_REUSE_SECONDS <= MEDIA_URL_EXPIRY // 2:
    raise ImproperlyConfigured("MEDIA_URL_REUSE_SECONDS must be between 0 and half of MEDIA_URL_EXPIRY")
# Stored pictures never change (every version has a new random key), so browsers may keep them;
# "private": never in a shared cache.
MEDIA_CACHE_CONTROL = env_str("MEDIA_CACHE_CONTROL", "private, max-age=86400, immutable")
# Deleted pictures wait in the trash this many days (restorable) before the daily purge
# deletes them and their stored objects for good (gallery/trash.py).
TRASH_RETENTION_DAYS = env_int("TRASH_RETENTION_DAYS", 30)
# An object in the bucket that no row names is only an orphan once it is this old: an ingest or
# upload may be about to attach it (the orphan sweep and check_invariants both wait this long).
STORAGE_ORPHAN_GRACE_HOURS = env_int("STORAGE_ORPHAN_GRACE_HOURS", 24)
Q_SUCCESS_KEEP_DAYS = env_int("Q_SUCCESS_KEEP_DAYS", 7)  # django-q2's successes (gallery/task_results.py)
if min(TRASH_RETENTION_DAYS, STORAGE_ORPHAN_GRACE_HOURS, Q_SUCCESS_KEEP_DAYS) < 1:
    raise ImproperlyConfigured("TRASH_RETENTION_DAYS, STORAGE_ORPHAN_GRACE_HOURS, Q_SUCCESS_KEEP_DAYS: not below 1")

STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "endpoint_url": S3_ENDPOINT_URL or None,
            "access_key": S3_ACCESS_KEY,
            "secret_key": S3_SECRET_KEY,
            "bucket_name": S3_BUCKET,
            "region_name": S3_REGION,
            "addressing_style": "path",
            "signature_version": "s3v4",
            "querystring_auth": True,
            "querystring_expire": MEDIA_URL_EXPIRY,
            "file_overwrite": False,
            "default_acl": None,
            "object_parameters": {"CacheControl": MEDIA_CACHE_CONTROL},
        },
    },
    "staticfiles": {
        # Hashed, compressed files served by WhiteNoise in production (after collectstatic);
        # plain files in development and in tests (STATIC_MANIFEST=0).
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
# SQLite and collectstatic write under VAR_DIR; WhiteNoise warns when STATIC_ROOT is missing.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- the image API (APISpace "AI 绘画"); the offline engine serves the same protocol ---

APISPACE_TOKEN = env_str("APISPACE_TOKEN")
# With no APISpace token, the offline engine is mounted under /engine/ and used as the provider.
ENGINE_ENABLED = env_bool("ENGINE_ENABLED", not APISPACE_TOKEN)
DEV_ENGINE_TOKEN = "offline-engine-token"
ENGINE_TOKEN = env_str("ENGINE_TOKEN", DEV_ENGINE_TOKEN)
# The engine renders pictures and downloads source images on request: with its publicly known
# development token it would be anyone's free CPU and fetcher. With DEBUG off it needs its own.
if ENGINE_ENABLED and not DEBUG and ENGINE_TOKEN == DEV_ENGINE_TOKEN:
    raise ImproperlyConfigured(
        "The offline engine is enabled (no APISPACE_TOKEN, or ENGINE_ENABLED=1) with its development token: "
        "set ENGINE_TOKEN to a long random secret, or set APISPACE_TOKEN to use the real API, when DEBUG is off"
    )
APISPACE_BASE_URL = env_str(
    "APISPACE_BASE_URL",
    f"{SITE_URL}/engine" if ENGINE_ENABLED else "https://23329.o.apispace.com",
).rstrip("/")
# The token the provider client sends: the real one, else the engine's own.
PROVIDER_TOKEN = APISPACE_TOKEN or ENGINE_TOKEN
# Per kind of job (gallery/kinds.py names each variable and its default): the API path
# (APISPACE_PATH_TXT2IMG...; only text-to-image's is documented, the others are configurable)
# and the task name sent in the payload (APISPACE_TASK_TXT2IMG...).
APISPACE_PATHS = {kind.name: env_str(kind.path_setting, kind.default_path) for kind in job_kinds.KINDS}
APISPACE_TASKS = {kind.name: env_str(kind.task_setting, kind.default_task) for kind in job_kinds.KINDS}
# Status and interrupt calls exist on the backend and the offline engine, not in APISpace's
# documented surface: leave empty to rely on the callback and the timeout sweep alone.
APISPACE_STATUS_PATH = env_str("APISPACE_STATUS_PATH", "/status" if ENGINE_ENABLED else "")
APISPACE_INTERRUPT_PATH = env_str("APISPACE_INTERRUPT_PATH", "/interrupt" if ENGINE_ENABLED else "")
PROVIDER_CONNECT_TIMEOUT = env_float("PROVIDER_CONNECT_TIMEOUT", 5.0)
PROVIDER_READ_TIMEOUT = env_float("PROVIDER_READ_TIMEOUT", 20.0)
# Retryable submission errors back off 5, 10, 20, 40, 80 s, then the job fails.
PROVIDER_SUBMIT_ATTEMPTS = env_int("PROVIDER_SUBMIT_ATTEMPTS", 5)
PROVIDER_BACKOFF_SECONDS = env_float("PROVIDER_BACKOFF_SECONDS", 5.0)
# Signs the per-job callback token (HMAC of the job id); defaults to SECRET_KEY.
CALLBACK_SECRET = env_str("CALLBACK_SECRET") or SECRET_KEY
CALLBACK_MAX_BYTES = env_int("CALLBACK_MAX_BYTES", 256 * 1024)

# --- ingest: where result images may be downloaded from, and how big they may be ---

# Entries are "host" (any port) or "host:port" (that port only).
_engine_url = urlsplit(APISPACE_BASE_URL)
_ENGINE_HOST_PORT = f"{_engine_url.hostname}:{_engine_url.port or (443 if _engine_url.scheme == 'https' else 80)}"
INGEST_ALLOWED_HOSTS = env_list(
    "INGEST_ALLOWED_HOSTS",
    ["ailab-huawei-cdn.nolibox.com", "ailab-1d01.obs.cn-north-4.myhuaweicloud.com"]
    + ([_ENGINE_HOST_PORT] if ENGINE_ENABLED else []),
)
# Private and loopback addresses are refused unless the host is listed here explicitly (the
# offline engine runs on 127.0.0.1, so its host AND port are listed when enabled: every other
# port of that address stays closed to ingest).
INGEST_PRIVATE_HOSTS_ALLOWED = env_list("INGEST_PRIVATE_HOSTS_ALLOWED", [_ENGINE_HOST_PORT] if ENGINE_ENABLED else [])
INGEST_MAX_BYTES = env_int("INGEST_MAX_BYTES", 40 * 1024 * 1024)
INGEST_CONNECT_TIMEOUT = env_float("INGEST_CONNECT_TIMEOUT", 5.0)
INGEST_READ_TIMEOUT = env_float("INGEST_READ_TIMEOUT", 30.0)
INGEST_MAX_REDIRECTS = 3
# When our own object store fails, ingest is retried with no limit on the count (the picture is
# safe at the provider), backing off from 10 s to at most this many seconds between tries.
INGEST_MAX_RETRY_SECONDS = env_float("INGEST_MAX_RETRY_SECONDS", 300.0)
if INGEST_MAX_RETRY_SECONDS <= 0:
    raise ImproperlyConfigured("INGEST_MAX_RETRY_SECONDS must be more than 0")

# --- images: limits shared by uploads and ingest ---

IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 3072 * 3072)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
# A user's upload may have more pixels than a provider result (a 48-megapixel phone photo is
# 8064×6048): image→image and anime scale it down to fit; still a cap against decompression bombs.
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 50_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024

# --- labelling of generated pictures (GB 45438-2025; gallery/labels.py, README "Labelling") ---

# Who we are in every picture's TC260 label: a registration code, when set, else the name.
AIGC_PRODUCER_NAME = env_str("AIGC_PRODUCER_NAME", "画廊 AIGC")
AIGC_PRODUCER_CODE = env_str("AIGC_PRODUCER_CODE")
if not (AIGC_PRODUCER_CODE or AIGC_PRODUCER_NAME).strip():
    raise ImproperlyConfigured("AIGC_PRODUCER_NAME or AIGC_PRODUCER_CODE must name the service provider")
# The visible "AI 生成" mark in downloads: off breaks the labelling rules, so only with DEBUG on.
AIGC_MARK_DOWNLOADS = env_bool("AIGC_MARK_DOWNLOADS", True)
_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
AIGC_MARK_POSITION = env_choice("AIGC_MARK_POSITION", "bottom-right", _CORNERS)
AIGC_MARK_OPACITY = env_float("AIGC_MARK_OPACITY", 0.75)
if not 0.3 <= AIGC_MARK_OPACITY <= 1 or not (DEBUG or AIGC_MARK_DOWNLOADS):
    raise ImproperlyConfigured("AIGC_MARK_OPACITY must be 0.3 to 1; AIGC_MARK_DOWNLOADS off only with DEBUG on")
# Optional C2PA manifests on originals (gallery/provenance.py): on when both PEM files are set.
C2PA_CERT_CHAIN_FILE = env_str("C2PA_CERT_CHAIN_FILE")
C2PA_PRIVATE_KEY_FILE = env_str("C2PA_PRIVATE_KEY_FILE")
C2PA_SIGNING_ALG = env_choice(
    "C2PA_SIGNING_ALG", "ES256", ("ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "ED25519")
)
C2PA_TIMESTAMP_URL = env_str("C2PA_TIMESTAMP_URL")
if bool(C2PA_CERT_CHAIN_FILE) != bool(C2PA_PRIVATE_KEY_FILE):
    raise ImproperlyConfigured("C2PA_CERT_CHAIN_FILE and C2PA_PRIVATE_KEY_FILE are set together or not at all")

# --- jobs, credits and limits ---

JOB_TIMEOUT_MINUTES = env_int("JOB_TIMEOUT_MINUTES", 15)
CREDITS_SIGNUP_GRANT = env_int("CREDITS_SIGNUP_GRANT", 50)
CREDITS_DAILY_TOPUP = env_int("CREDITS_DAILY_TOPUP", 0)  # 0 = no daily top-up
# The cost of a job, per kind (CREDIT_COST_TXT2IMG...; gallery/kinds.py names them).
CREDIT_COSTS = {kind.name: env_int(kind.cost_setting, kind.default_cost) for kind in job_kinds.KINDS}
JOBS_MAX_IN_FLIGHT = env_int("JOBS_MAX_IN_FLIGHT", 4)
JOBS_MAX_PER_MINUTE = env_int("JOBS_MAX_PER_MINUTE", 10)
FAIR_SHARE_PER_USER = max(0, env_int("FAIR_SHARE_PER_USER", 2))  # jobs with the provider at once (gallery/fairqueue.py)
# The most pictures one submission may ask for: each is its own job, charge and place in the limits above.
BATCH_MAX = env_int("BATCH_MAX", 4)
if not 1 <= BATCH_MAX <= 16:
    raise ImproperlyConfigured("BATCH_MAX must be between 1 and 16")

# --- the JSON API (/api/v1/, django-ninja; README "API") ---

API_TOKENS_MAX_PER_USER = env_int("API_TOKENS_MAX_PER_USER", 20)
# A request body larger than this is answered 413 before it is read (an upload plus its fields).
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", UPLOAD_MAX_BYTES + 256 * 1024)
# How long an Idempotency-Key is remembered (Stripe keeps them for 24 hours).
API_IDEMPOTENCY_HOURS = env_int("API_IDEMPOTENCY_HOURS", 24)
# Webhooks: POSTs to the URL a job carries, retried with back-off (base, 2x, 4x... at most 1 h)
# until this many attempts; each attempt waits this long for an answer.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_BACKOFF_SECONDS = env_float("WEBHOOK_BACKOFF_SECONDS", 30.0)
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 10.0)
# Webhook URLs pass the SSRF guard of ingest (netguard/): private and loopback addresses are refused
# unless their "host:port" is listed here (a test's receiver on 127.0.0.1; port required, below).
WEBHOOK_PRIVATE_HOSTS_ALLOWED = env_list("WEBHOOK_PRIVATE_HOSTS_ALLOWED", [])
INBOX_POLL_SECONDS = env_int("INBOX_POLL_SECONDS", 10)  # how often a background tab asks for the unread count

# --- offline engine ---

# Fault markers in prompts ([[fail]], [[unsafe]]...) work only when this is on: on in tests
# and `make run`, off by default so production ignores them.
ENGINE_FAULTS_ENABLED = env_bool("ENGINE_FAULTS_ENABLED", False)
ENGINE_SENSITIVE_WORDS = env_list("ENGINE_SENSITIVE_WORDS", ["暴力", "violence"])
ENGINE_SR_THREADS = env_int("ENGINE_SR_THREADS", 2)
ENGINE_SR_TILE = env_int("ENGINE_SR_TILE", 128)
ENGINE_SR_TILE_LARGE = env_int("ENGINE_SR_TILE_LARGE", 128)
# The engine's own protocol behaviour (engine/): how it fetches source pictures, how it calls
# back (like the real service: up to 10 tries a few seconds apart), and its slow-image fault.
ENGINE_PUBLIC_URL = env_str("ENGINE_PUBLIC_URL")  # where its result files are served; default: the request's host
ENGINE_SOURCE_MAX_BYTES = env_int("ENGINE_SOURCE_MAX_BYTES", 20 * 1024 * 1024)
ENGINE_FETCH_CONNECT_TIMEOUT = env_float("ENGINE_FETCH_CONNECT_TIMEOUT", 5.0)
ENGINE_FETCH_READ_TIMEOUT = env_float("ENGINE_FETCH_READ_TIMEOUT", 20.0)
ENGINE_FETCH_DEADLINE = env_float("ENGINE_FETCH_DEADLINE", 30.0)
# Like the real service, the engine fetches a source from any public address (netguard/ refuses
# the rest). Private and loopback addresses only for the entries listed here, "host:port" (that
# port only) or "host" (every port). In development that is the object store: the site sends
# presigned S3 URLs as sources. With DEBUG off nothing is allowed unless configured, and each
# entry must name its port, or every service on that host would be the submitter's to probe.
_s3_url = urlsplit(S3_ENDPOINT_URL)
_s3_host = f"[{_s3_url.hostname}]" if ":" in (_s3_url.hostname or "") else _s3_url.hostname
_S3_HOST_PORT = f"{_s3_host}:{_s3_url.port or (443 if _s3_url.scheme == 'https' else 80)}"
ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED = env_list(
    "ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED", [_S3_HOST_PORT] if DEBUG and _s3_url.hostname else []
)

if not DEBUG:
    require_ports("ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED", ENGINE_FETCH_PRIVATE_HOSTS_ALLOWED, "the object store's, say")
ENGINE_CALLBACK_ATTEMPTS = env_int("ENGINE_CALLBACK_ATTEMPTS", 10)
ENGINE_CALLBACK_INTERVAL = env_float("ENGINE_CALLBACK_INTERVAL", 3.0)
ENGINE_CALLBACK_TIMEOUT = env_float("ENGINE_CALLBACK_TIMEOUT", 3.0)
ENGINE_SLOWIMG_INTERVAL = env_float("ENGINE_SLOWIMG_INTERVAL", 1.0)
ENGINE_SLOWIMG_SECONDS = env_float("ENGINE_SLOWIMG_SECONDS", 120.0)
# How long a result file is served (and kept) after it was written: anyone with its URL may
# fetch it until then, a picture deleted on the site included. It must outlive the wait after
# which the site asks the status call about a job that never got its callback, and give the
# ingest that follows time for its retries: at least twice JOB_TIMEOUT_MINUTES.
ENGINE_RESULT_TTL = env_int("ENGINE_RESULT_TTL", max(3600, 2 * 60 * JOB_TIMEOUT_MINUTES))
if ENGINE_ENABLED and ENGINE_RESULT_TTL < 2 * 60 * JOB_TIMEOUT_MINUTES:
    raise ImproperlyConfigured(
        "ENGINE_RESULT_TTL must be at least twice JOB_TIMEOUT_MINUTES (in seconds), or a result recovered "
        "through the status call is gone before the site can fetch it"
    )
if ENGINE_ENABLED:
    INSTALLED_APPS.append("engine")
# Webhook and ingest allowances of private addresses, like the engine's above: host:port only.
if not DEBUG:
    require_ports("WEBHOOK_PRIVATE_HOSTS_ALLOWED", WEBHOOK_PRIVATE_HOSTS_ALLOWED, "a receiver's")
    require_ports("INGEST_PRIVATE_HOSTS_ALLOWED", INGEST_PRIVATE_HOSTS_ALLOWED, "the engine's")

# --- accounts, sessions, i18n ---

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes checks every log-in (the site's form and the admin's alike) before the password is
# looked at; then Django's own backend checks the password.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
DEMO_STAFF_USERNAME = env_str("DEMO_STAFF_USERNAME", "demo")
DEMO_STAFF_PASSWORD = env_str("DEMO_STAFF_PASSWORD", "demo-pass-2026")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- abuse protection: log-in lockout (django-axes), sign-up rate per address, e-mail check ---

# How many reverse proxies stand in front of the site and append to X-Forwarded-For (see
# gallery/clientip.py). 0: the header is ignored and REMOTE_ADDR is the client's address. Behind
# one nginx it is 1; set it too high and a visitor can choose their own address by sending the header.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")
AXES_CLIENT_IP_CALLABLE = "gallery.clientip.client_ip"
# After AXES_FAILURE_LIMIT wrong passwords for one user name from one address, that pair is
# refused for AXES_COOLOFF_MINUTES; a try while locked starts the wait again, and a good log-in
# clears the count. The lock is on the pair, not on the user name alone (anyone could then lock
# anyone out by typing their name) nor on the address alone (a campus or a mobile carrier puts
# thousands of people behind one address, and a site behind a proxy with TRUSTED_PROXY_COUNT
# unset sees everyone at the proxy's address). The price: guesses spread over many addresses are
# slowed per address only.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("AXES_COOLOFF_MINUTES", 15))
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME <= timedelta(0):
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT must be at least 1 and AXES_COOLOFF_MINUTES above 0")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts are kept in the database (axes' default handler), so every gunicorn process and
# every machine sees the same counts whatever the cache is.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_CALLABLE = "gallery.views.accounts.locked_out"


_RATE_UNITS = {"s": 1, "second": 1, "m": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A rate such as "5/hour" or "20/6h" from NAME, as (how many, per how many seconds)."""
    raw = env_str(name, default)
    found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*", raw.lower())
    if not found or found.group(3) not in _RATE_UNITS or int(found.group(1)) < 1 or found.group(2)[:1] == "0":
        raise ImproperlyConfigured(f"{name} must be a rate such as 5/hour or 20/6h, got {raw!r}")
    return int(found.group(1)), int(found.group(2) or 1) * _RATE_UNITS[found.group(3)]


# At most this many accounts are made from one address per window (gallery/signups.py counts
# them in a database table, so every web process shares the count whatever the cache is).
SIGNUP_RATE_PER_IP = env_rate("SIGNUP_RATE_PER_IP", "5/hour")
# "required": the sign-up form asks for an e-mail address and the welcome credits
# (CREDITS_SIGNUP_GRANT) are granted when the link mailed to it is opened, once per account and
# per address; the account can log in before that. "none": granted at sign-up.
SIGNUP_EMAIL_VERIFICATION = env_str("SIGNUP_EMAIL_VERIFICATION", "none")
if SIGNUP_EMAIL_VERIFICATION not in {"none", "required"}:
    raise ImproperlyConfigured(f"SIGNUP_EMAIL_VERIFICATION must be none or required, got {SIGNUP_EMAIL_VERIFICATION!r}")
SIGNUP_VERIFICATION_DAYS = env_int("SIGNUP_VERIFICATION_DAYS", 3)

# --- e-mail: Django's SMTP backend (the verification links) ---

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "webmaster@localhost")
# Mail from Django's placeholder sender is dropped or binned by most receivers: a production site
# that depends on its mail arriving names a real sender.
if SIGNUP_EMAIL_VERIFICATION == "required" and not DEBUG and DEFAULT_FROM_EMAIL == "webmaster@localhost":
    raise ImproperlyConfigured(
        "DEFAULT_FROM_EMAIL must be set when SIGNUP_EMAIL_VERIFICATION=required and DEBUG is off"
    )

# --- security: production values whenever DEBUG is off ---

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
_https = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
LANGUAGE_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https and not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- security: Content-Security-Policy (django-csp) ---
# Every script and stylesheet of our pages is a file under /static/ (tests/test_csp.py keeps
# templates free of inline scripts, event handlers and style attributes), so the policy names
# only this origin for them: markup injected into a page cannot run script or restyle it. The
# Django admin's own JavaScript and CSS are static files too and satisfy the same policy.
# Pictures are presigned URLs on the object store, so img-src adds the origin of the S3
# endpoint (for AWS without S3_ENDPOINT_URL, the regional endpoint boto3 signs for).
# CSP_EXTRA_IMG_SRC adds origins, e.g. a CDN in front of the bucket ("https://cdn.example.com",
# "https://*.example.com"); CSP_REPORT_URL, when set, is where browsers POST violation reports.


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _aws_s3_origin(region: str) -> str:
    if region == "us-east-1":
        return "https://s3.amazonaws.com"
    return f"https://s3.{region}.amazonaws.com" + (".cn" if region.startswith("cn-") else "")


CSP_MEDIA_ORIGIN = _origin(S3_ENDPOINT_URL) if S3_ENDPOINT_URL else _aws_s3_origin(S3_REGION)
CSP_EXTRA_IMG_SRC = env_list("CSP_EXTRA_IMG_SRC", [])
# An origin only: a quote, a space or a semicolon would add keywords or whole directives.
_CSP_ORIGIN_RE = re.compile(r"https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]+)?")
for _extra in CSP_EXTRA_IMG_SRC:
    if not _CSP_ORIGIN_RE.fullmatch(_extra):
        raise ImproperlyConfigured(
            f"CSP_EXTRA_IMG_SRC entries must be origins like https://cdn.example.com, got {_extra!r}"
        )
CSP_REPORT_URL = env_str("CSP_REPORT_URL")
if CSP_REPORT_URL and not re.fullmatch(r"(https?://|/)[^\s;,'\"]*", CSP_REPORT_URL):
    raise ImproperlyConfigured(f"CSP_REPORT_URL must be an http(s) URL or a path, got {CSP_REPORT_URL!r}")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", CSP_MEDIA_ORIGIN, *CSP_EXTRA_IMG_SRC],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        **({"report-uri": [CSP_REPORT_URL]} if CSP_REPORT_URL else {}),
    },
}

# --- operations: the production web server and its start-up checks (`make serve`) ---

# gunicorn's listening address, processes, threads per process and the seconds after which a
# silent worker is restarted (aigc_site/gunicorn_conf.py reads these). Two processes of four
# threads suit the 2-core machines we run on, where the worker cluster needs CPU too.
WEB_BIND = env_str("WEB_BIND", "127.0.0.1:8000")
WEB_WORKERS = env_int("WEB_WORKERS", 2)
WEB_THREADS = env_int("WEB_THREADS", 4)
WEB_TIMEOUT = env_int("WEB_TIMEOUT", 30)
if min(WEB_WORKERS, WEB_THREADS, WEB_TIMEOUT) < 1:
    raise ImproperlyConfigured("WEB_WORKERS, WEB_THREADS and WEB_TIMEOUT must be at least 1")
# `make serve` refuses to start on any `check --deploy` warning. A deployment that knowingly
# accepts one (plain HTTP on a private network: security.W004,security.W008,...) names it here.
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [])

# --- operations: health checks ---

# /healthz is public liveness; /healthz/ready runs the deep checks (S3 write, provider call) for
# staff, or for a monitor sending "Authorization: Bearer <HEALTH_TOKEN>". Empty: staff only.
HEALTH_TOKEN = env_str("HEALTH_TOKEN")

# --- logging: to stderr, the process manager collects it ---

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
