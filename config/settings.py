"""Django settings for Chroma Commons, read only from the environment.

``CHROMA_ENV`` picks the defaults: ``development`` (the default: SQLite, local
files and a file-system broker under ``var/``, a generated secret key) or
``production`` (``SECRET_KEY`` and ``ALLOWED_HOSTS`` required, DEBUG off).
Every other variable is documented in the README.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from botocore.config import Config as BotoConfig
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from colorization.engine.defaults import DEFAULT_RENDER_SIZE, PRECISIONS, SWEEP_RENDER_SIZES
from colorization.eras import parse_era_buckets
from config import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.string("CHROMA_VAR_DIR", str(BASE_DIR / "var")))

CHROMA_ENV = env.choice("CHROMA_ENV", "development", {"development", "production"})
PRODUCTION = CHROMA_ENV == "production"
DEBUG = env.boolean("DEBUG", not PRODUCTION)


def _secret_key() -> str:
    key = env.string("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when CHROMA_ENV=production")
    # Local use: generate once and keep it, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.listing("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when CHROMA_ENV=production")
CSRF_TRUSTED_ORIGINS = env.listing("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env.string("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files, no CDN
    "colorization",
    "community",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # before the page cache, so cached pages carry the policy too
    "config.middleware.InputMiddleware",  # control characters refused everywhere; JSON errors under /api/
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.error_pages.BrandedNotFoundMiddleware",  # the branded 404 for views' Http404, in DEBUG too
    "config.error_pages.DatabaseUnavailableMiddleware",  # a lost database: 503 with Retry-After, not a 500
]

ROOT_URLCONF = "config.urls"
# A photo's page is the site's photo page, which the community app serves (it shows the
# community's versions, corrections and comments); colorization knows no community route names.
ABSOLUTE_URL_OVERRIDES = {"colorization.photo": lambda photo: reverse("photo-detail", args=[photo.pk])}
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "community.context_processors.roles",
            ],
        },
    },
]

# Database: DATABASE_URL, e.g. postgres://user@127.0.0.1:5432/chroma (psycopg 3).
_default_db = f"sqlite:///{VAR_DIR / 'chroma.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            env.string("DATABASE_URL", _default_db), conn_max_age=env.integer("DATABASE_CONN_MAX_AGE", 60, minimum=0)
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django understands: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A restarted server: a pooled connection is checked before reuse, and connecting is bounded.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.integer("DATABASE_CONNECT_TIMEOUT", 5, minimum=1)
    )
    # Concurrent test runs against one server each need a test database of their own.
    if test_name := env.string("CHROMA_TEST_DATABASE_NAME", ""):
        DATABASES["default"]["TEST"] = {"NAME": test_name}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests that start real worker processes need a test database those processes can open.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# ModelBackend that reads the visitor's profile in the same query as the user (one query less on
# every signed-in request; community/accounts/backends.py). The plain ModelBackend after it only
# reads sessions signed in before it (their session names that backend); it checks no password.
AUTHENTICATION_BACKENDS = [
    "community.accounts.backends.ProfileJoiningBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG  # serve from the app folders in development, no collectstatic needed
MEDIA_URL = env.string("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env.string("MEDIA_ROOT", str(VAR_DIR / "media")))

# Every call to S3 is bounded: connecting and each read wait at most CHROMA_STORAGE_TIMEOUT seconds,
# with one retry, so a frozen storage service costs a request seconds, never a hang.
CHROMA_STORAGE_TIMEOUT = env.decimal("CHROMA_STORAGE_TIMEOUT", 10.0, minimum=0.5, maximum=300)
# Media URLs (local storage and S3) are signed and expire after one to two of these windows.
CHROMA_MEDIA_URL_SECONDS = env.integer("CHROMA_MEDIA_URL_SECONDS", 3600, minimum=60, maximum=7 * 24 * 3600)
# Storage: local files under var/media, or S3 (any S3-compatible service) when
# AWS_STORAGE_BUCKET_NAME is set. Everything goes through django.core.files.storage.
AWS_STORAGE_BUCKET_NAME = env.string("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = env.string("AWS_S3_ENDPOINT_URL")
    AWS_S3_REGION_NAME = env.string("AWS_S3_REGION_NAME")
    AWS_ACCESS_KEY_ID = env.string("AWS_ACCESS_KEY_ID")
    AWS_SECRET_ACCESS_KEY = env.string("AWS_SECRET_ACCESS_KEY")
    AWS_S3_CUSTOM_DOMAIN = env.string("AWS_S3_CUSTOM_DOMAIN")
    # Signed URLs are what keeps a hidden photo's files private (colorization/media.py): keep it on.
    AWS_QUERYSTRING_AUTH = env.boolean("AWS_QUERYSTRING_AUTH", True)
    AWS_QUERYSTRING_EXPIRE = 2 * CHROMA_MEDIA_URL_SECONDS
    AWS_S3_FILE_OVERWRITE = False
    AWS_DEFAULT_ACL = None
    AWS_S3_CLIENT_CONFIG = BotoConfig(
        connect_timeout=CHROMA_STORAGE_TIMEOUT,
        read_timeout=CHROMA_STORAGE_TIMEOUT,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    # URLs signed with an expiry and served by colorization.media.media_serve (hidden photos stay hidden).
    _default_storage = {"BACKEND": "colorization.media.SignedFileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Upload limits. A request over the byte limit gets 413; an image over the
# pixel limit is refused before it is decoded (decompression bombs).
CHROMA_MAX_UPLOAD_BYTES = env.integer("CHROMA_MAX_UPLOAD_BYTES", 200_000_000, minimum=1024)
CHROMA_MAX_IMAGE_PIXELS = env.integer("CHROMA_MAX_IMAGE_PIXELS", 60_000_000, minimum=1024)
CHROMA_MIN_IMAGE_SIDE = env.integer("CHROMA_MIN_IMAGE_SIDE", 16, minimum=1)
# Film clips (issue 19): the same upload page and API; their own limits, each refused with a clear error.
CHROMA_MAX_VIDEO_BYTES = env.integer("CHROMA_MAX_VIDEO_BYTES", 2_000_000_000, minimum=1024)
CHROMA_MAX_VIDEO_SECONDS = env.integer("CHROMA_MAX_VIDEO_SECONDS", 600, minimum=1)
CHROMA_MAX_VIDEO_PIXELS = env.integer("CHROMA_MAX_VIDEO_PIXELS", 1920 * 1080, minimum=1024)
# A clip's draft is rendered this many frames at a time; a worker that dies resumes after the last chunk.
CHROMA_VIDEO_CHUNK_FRAMES = env.integer("CHROMA_VIDEO_CHUNK_FRAMES", 240, minimum=1)
CHROMA_VIDEO_PROGRESS_SECONDS = env.decimal("CHROMA_VIDEO_PROGRESS_SECONDS", 1.0, minimum=0.0)
CHROMA_MAX_FILES_PER_REQUEST = env.integer("CHROMA_MAX_FILES_PER_REQUEST", 50, minimum=1)
CHROMA_THUMBNAIL_SIZE = env.integer("CHROMA_THUMBNAIL_SIZE", 480, minimum=64, maximum=2048)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # non-file fields; files stream to disk above this
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = CHROMA_MAX_FILES_PER_REQUEST

# Genres are a configurable list; "unknown" is always present.
CHROMA_GENRES = env.listing(
    "CHROMA_GENRES",
    ["portrait", "street", "architecture", "military", "transport", "landscape", "event", "industry", "domestic"],
)
if "unknown" not in CHROMA_GENRES:
    CHROMA_GENRES.append("unknown")

# Model buckets by era (DESIGN.md): year spans, FROM-TO, open at either end.
CHROMA_ERA_BUCKETS = env.listing(
    "CHROMA_ERA_BUCKETS", ["-1899", "1900-1919", "1920-1939", "1940-1959", "1960-1979", "1980-1999", "2000-"]
)
try:
    parse_era_buckets(CHROMA_ERA_BUCKETS)
except ValueError as _exc:
    raise ImproperlyConfigured(f"CHROMA_ERA_BUCKETS: {_exc}") from None
# Training examples from accepted corrections: share of photos held out for evaluation (by photo,
# deterministic), and the long side examples are stored at.
CHROMA_HOLDOUT_PERCENT = env.integer("CHROMA_HOLDOUT_PERCENT", 20, minimum=0, maximum=100)
CHROMA_TRAINING_EXAMPLE_SIDE = env.integer("CHROMA_TRAINING_EXAMPLE_SIDE", 512, minimum=64, maximum=4096)

# Email: printed to the console unless an SMTP server is configured.
EMAIL_HOST = env.string("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
if EMAIL_HOST:
    EMAIL_PORT = env.integer("EMAIL_PORT", 587, minimum=1, maximum=65535)
    EMAIL_HOST_USER = env.string("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env.string("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Chroma Commons <noreply@localhost>")

# Celery. The default broker is kombu's file-system transport under var/broker:
# it needs no server and works across processes on one host.
_broker_dir = VAR_DIR / "broker"
CELERY_BROKER_URL = env.string("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.split("://", 1)[0] not in {"filesystem", "redis", "rediss", "amqp", "amqps", "memory"}:
    raise ImproperlyConfigured(f"CELERY_BROKER_URL={CELERY_BROKER_URL!r}: use redis://, amqp:// or filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu polls the folder once a second by default, and a worker whose one pool slot is busy
        # waits a full interval before it looks again: a backlog drained at one message a second.
        "polling_interval": 0.2,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.integer("CELERY_VISIBILITY_TIMEOUT", 3600)}
# Every call to a networked broker is bounded, so a frozen or unreachable broker costs a request
# about CELERY_BROKER_TIMEOUT seconds (connect, then each command), never a hang: one connection
# attempt per message (kombu would otherwise retry for the whole connection timeout), and the
# sweepers re-send what could not be sent. Workers reconnect on their own schedule.
CELERY_BROKER_TIMEOUT = env.decimal("CELERY_BROKER_TIMEOUT", 1.0, minimum=0.1, maximum=60)
CELERY_BROKER_CONNECTION_TIMEOUT = CELERY_BROKER_TIMEOUT
if CELERY_BROKER_URL.startswith(("redis", "amqp")):
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {"max_retries": 0, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
    )
    if CELERY_BROKER_URL.startswith("redis"):
        CELERY_BROKER_TRANSPORT_OPTIONS.update(
            {"socket_connect_timeout": CELERY_BROKER_TIMEOUT, "socket_timeout": CELERY_BROKER_TIMEOUT}
        )
    else:
        CELERY_BROKER_TRANSPORT_OPTIONS.update(
            {"read_timeout": CELERY_BROKER_TIMEOUT, "write_timeout": CELERY_BROKER_TIMEOUT}
        )
# Production refuses the parts that only work on one host unless a setting allows each on purpose
# (one-host installations); config/host_local.py logs them at every process's start.
CHROMA_ALLOW_FILESYSTEM_BROKER = env.boolean("CHROMA_ALLOW_FILESYSTEM_BROKER", False)
CHROMA_ALLOW_SQLITE = env.boolean("CHROMA_ALLOW_SQLITE", False)
if PRODUCTION and CELERY_BROKER_URL.startswith("filesystem://") and not CHROMA_ALLOW_FILESYSTEM_BROKER:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL is the file-system broker, which only reaches processes on this host; with "
        "CHROMA_ENV=production set CELERY_BROKER_URL=redis://... (or amqp://), or set "
        "CHROMA_ALLOW_FILESYSTEM_BROKER=true for a deliberate one-host installation"
    )
if PRODUCTION and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not CHROMA_ALLOW_SQLITE:
    raise ImproperlyConfigured(
        "DATABASE_URL is SQLite, a file on this host; with CHROMA_ENV=production set DATABASE_URL=postgres://..., "
        "or set CHROMA_ALLOW_SQLITE=true for a deliberate one-host installation"
    )
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A safety net for tasks without limits of their own: every task here sets its own (colorization/tasks.py,
# community/tasks.py), sized to its work, so these are not read from the environment.
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 660
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Only the beat holding the beat lock runs the schedule (config/beat.py): a Redis lease when the broker (or
# CHROMA_BEAT_LOCK_URL) is Redis, else a file lock under CHROMA_VAR_DIR; a standby takes over within the lease.
CELERY_BEAT_SCHEDULER = "config.beat:SingleBeatScheduler"
CHROMA_BEAT_LOCK_URL = env.string("CHROMA_BEAT_LOCK_URL", "")
CHROMA_BEAT_LOCK_SECONDS = env.decimal("CHROMA_BEAT_LOCK_SECONDS", 30.0, minimum=3, maximum=3600)
CELERY_BEAT_SCHEDULE: dict = {
    "sweep-drafts": {"task": "colorization.tasks.sweep_drafts", "schedule": 5.0, "options": {"queue": "default"}},
}
CELERY_TASK_ROUTES = {"colorization.tasks.sweep_drafts": {"queue": "default"}}

# Drafts. Inference goes to the "gpu" queue; drafts a GPU worker has not started
# within CHROMA_DRAFT_RESEND_SECONDS are re-sent to the "cpu" queue.
# The shipped base model; an override is for tests and experiments.
CHROMA_BASE_MODEL_PATH = env.string(
    "CHROMA_BASE_MODEL_PATH", str(BASE_DIR / "colorization" / "weights" / "colornet-base.safetensors")
)
# The network's float format (colorization/engine/precision.py): auto = bf16 where the hardware computes it natively.
COLORIZE_PRECISION = env.choice("COLORIZE_PRECISION", "auto", set(PRECISIONS))
# The inference and fine-tuning device; unset: CUDA when available, else the CPU (colorization/engine/inference.py).
COLORIZE_DEVICE = env.device("COLORIZE_DEVICE")
CHROMA_INFERENCE_QUEUE = env.choice("CHROMA_INFERENCE_QUEUE", "gpu", {"gpu", "cpu"})
CHROMA_DEFAULT_RENDER_SIZE = env.integer("CHROMA_DEFAULT_RENDER_SIZE", DEFAULT_RENDER_SIZE, minimum=64, maximum=4096)
CHROMA_MAX_RENDER_SIZE = env.integer("CHROMA_MAX_RENDER_SIZE", 2048, minimum=64, maximum=4096)
CHROMA_SWEEP_RENDER_SIZES = env.integers(
    "CHROMA_SWEEP_RENDER_SIZES", list(SWEEP_RENDER_SIZES), minimum=64, maximum=4096
)
CHROMA_DRAFT_BATCH_MAX = env.integer("CHROMA_DRAFT_BATCH_MAX", 4, minimum=1, maximum=64)
# A worker beats every CHROMA_DRAFT_HEARTBEAT_SECONDS while it renders; a running draft silent for
# CHROMA_DRAFT_STALE_SECONDS belongs to a dead worker, and the sweeper (every
# CHROMA_DRAFT_SWEEP_SECONDS) gives it to another: recovery within stale + sweep + the render.
CHROMA_DRAFT_HEARTBEAT_SECONDS = env.decimal("CHROMA_DRAFT_HEARTBEAT_SECONDS", 2.0, minimum=0.1, maximum=60)
CHROMA_DRAFT_STALE_SECONDS = env.integer("CHROMA_DRAFT_STALE_SECONDS", 10, minimum=2)
if CHROMA_DRAFT_STALE_SECONDS < 3 * CHROMA_DRAFT_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        f"CHROMA_DRAFT_STALE_SECONDS={CHROMA_DRAFT_STALE_SECONDS} must be at least three heartbeats "
        f"(CHROMA_DRAFT_HEARTBEAT_SECONDS={CHROMA_DRAFT_HEARTBEAT_SECONDS})"
    )
CHROMA_DRAFT_SWEEP_SECONDS = env.integer("CHROMA_DRAFT_SWEEP_SECONDS", 5, minimum=1)
CELERY_BEAT_SCHEDULE["sweep-drafts"]["schedule"] = float(CHROMA_DRAFT_SWEEP_SECONDS)
CHROMA_DRAFT_RESEND_SECONDS = env.integer("CHROMA_DRAFT_RESEND_SECONDS", 300, minimum=5)
CHROMA_DRAFT_MAX_ATTEMPTS = env.integer("CHROMA_DRAFT_MAX_ATTEMPTS", 4, minimum=1)

# Corrections. A manual colorization is accepted when its lightness matches the original's
# (see colorization/manual.py for how these limits were chosen).
CHROMA_MANUAL_MAX_MEAN_DELTA_L = env.decimal("CHROMA_MANUAL_MAX_MEAN_DELTA_L", 3.0, minimum=0.1, maximum=50)
CHROMA_MANUAL_MAX_P99_DELTA_L = env.decimal("CHROMA_MANUAL_MAX_P99_DELTA_L", 20.0, minimum=1, maximum=100)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "colorization.api.pagination.Pagination",
    "PAGE_SIZE": 24,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "colorization.api.errors.exception_handler",
}
# One limit per action and person, counted by the services (colorization/ratelimit.py), so the API
# and the forms share it. Draft requests include retries, re-colorizing and sweeps (3 each).
CHROMA_UPLOAD_RATE = env.rate("CHROMA_UPLOAD_RATE", "120/hour")
CHROMA_DRAFT_RATE = env.rate("CHROMA_DRAFT_RATE", "60/hour")
# The editor re-renders on every edit (debounced): generous, but bounded. Suggestions count too.
CHROMA_PREVIEW_RATE = env.rate("CHROMA_PREVIEW_RATE", "1200/hour")
CHROMA_CORRECTION_RATE = env.rate("CHROMA_CORRECTION_RATE", "120/hour")
# Sign-in (page and API token) per username and per address; password-reset mail per address given.
CHROMA_LOGIN_RATE = env.rate("CHROMA_LOGIN_RATE", "10/hour")
CHROMA_LOGIN_ADDRESS_RATE = env.rate("CHROMA_LOGIN_ADDRESS_RATE", "100/hour")
CHROMA_PASSWORD_RESET_RATE = env.rate("CHROMA_PASSWORD_RESET_RATE", "5/hour")
# Trusted reverse proxies in front of the app: the client address is read that many hops from the
# right of X-Forwarded-For (0: REMOTE_ADDR).
CHROMA_NUM_PROXIES = env.integer("CHROMA_NUM_PROXIES", 0, minimum=0, maximum=5)
SPECTACULAR_SETTINGS = {
    "TITLE": "Chroma Commons API",
    "DESCRIPTION": "Upload historical photographs, follow their AI colorization and the community's corrections.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "colorization.api.schema.add_error_responses",  # the JSON errors each operation can answer
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status"; name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "DraftStatusEnum": "colorization.models.DraftStatus",
        "ModelStatusEnum": "colorization.models.ModelStatus",
        "TrainingRunStatusEnum": "colorization.models.RunStatus",
        "CorrectionStatusEnum": "community.models.CorrectionStatus",
    },
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# HTTPS. Production defaults are strict (a year of HSTS with subdomains, redirect to HTTPS behind a
# TLS proxy that sets X-Forwarded-Proto); preload is opt-in because leaving the browsers' preload
# list takes months. /healthz and /metrics stay reachable over plain HTTP for probes and scrapers.
SECURE_PROXY_SSL_HEADER = env.proxy_header(
    "SECURE_PROXY_SSL_HEADER", ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
)
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # probes and scrapers from inside the cluster
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env.boolean("SECURE_HSTS_PRELOAD", False)
if PRODUCTION:
    SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", True)

# Content-Security-Policy (django-csp): scripts only from this site (ES modules under static/js;
# json_script blocks are data, not scripts); style attributes allowed for progress bars and
# swatches; images and fetches also from the media host when media is elsewhere (S3).
_media_origins = []
if "://" in MEDIA_URL:
    _media_origins.append(urlsplit(MEDIA_URL)._replace(path="", query="", fragment="").geturl())
if AWS_STORAGE_BUCKET_NAME:
    if AWS_S3_CUSTOM_DOMAIN:
        _media_origins.append(f"https://{AWS_S3_CUSTOM_DOMAIN}")
    elif AWS_S3_ENDPOINT_URL:
        _media_origins.append(AWS_S3_ENDPOINT_URL.rstrip("/"))
    else:
        _media_origins.append("https://*.amazonaws.com")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:", *_media_origins],
        "connect-src": [SELF, *_media_origins],
        "font-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- review ---
# The acceptance rule, shown where people vote (community/review.py). A correction is decided once
# it has at least CHROMA_REVIEW_MIN_VOTES votes including CHROMA_REVIEW_MIN_HISTORIANS historians'
# votes: accepted when the lower bound of the 95% Wilson interval of the weighted approval is at
# least CHROMA_REVIEW_ACCEPT_LOWER, rejected when its upper bound is at most CHROMA_REVIEW_REJECT_UPPER.
# Weights count as votes: a historian's vote counts as CHROMA_VOTE_WEIGHT_HISTORIAN votes; an account
# with less than CHROMA_VOTE_TRUSTED_REPUTATION reputation votes with CHROMA_VOTE_WEIGHT_NEW.
CHROMA_REVIEW_MIN_VOTES = env.integer("CHROMA_REVIEW_MIN_VOTES", 3, minimum=1, maximum=1000)
CHROMA_REVIEW_MIN_HISTORIANS = env.integer("CHROMA_REVIEW_MIN_HISTORIANS", 1, minimum=0, maximum=100)
CHROMA_REVIEW_ACCEPT_LOWER = env.decimal("CHROMA_REVIEW_ACCEPT_LOWER", 0.55, minimum=0.0, maximum=1.0)
CHROMA_REVIEW_REJECT_UPPER = env.decimal("CHROMA_REVIEW_REJECT_UPPER", 0.45, minimum=0.0, maximum=1.0)
if CHROMA_REVIEW_REJECT_UPPER >= CHROMA_REVIEW_ACCEPT_LOWER:
    raise ImproperlyConfigured("CHROMA_REVIEW_REJECT_UPPER must be below CHROMA_REVIEW_ACCEPT_LOWER")
CHROMA_VOTE_WEIGHT_VOLUNTEER = env.decimal("CHROMA_VOTE_WEIGHT_VOLUNTEER", 1.0, minimum=0.0, maximum=100)
CHROMA_VOTE_WEIGHT_HISTORIAN = env.decimal("CHROMA_VOTE_WEIGHT_HISTORIAN", 3.0, minimum=0.0, maximum=100)
CHROMA_VOTE_WEIGHT_NEW = env.decimal("CHROMA_VOTE_WEIGHT_NEW", 0.25, minimum=0.0, maximum=100)
CHROMA_VOTE_TRUSTED_REPUTATION = env.integer("CHROMA_VOTE_TRUSTED_REPUTATION", 10, minimum=0)
CHROMA_VOTE_RATE = env.rate("CHROMA_VOTE_RATE", "60/hour")  # votes and vote changes per person
CHROMA_COMMENT_RATE = env.rate("CHROMA_COMMENT_RATE", "30/hour")  # comments and reports per person
# Reputation points (community/reputation.py).
CHROMA_REPUTATION_ACCEPTED = env.integer("CHROMA_REPUTATION_ACCEPTED", 10, minimum=0)
CHROMA_REPUTATION_VOTE_AGREED = env.integer("CHROMA_REPUTATION_VOTE_AGREED", 2, minimum=0)
CHROMA_REPUTATION_GOLD_MAX = env.integer("CHROMA_REPUTATION_GOLD_MAX", 10, minimum=0)
# Share of the "needs correction" queue given to gold-standard photos (0 turns them off).
CHROMA_GOLD_RATE = env.decimal("CHROMA_GOLD_RATE", 0.1, minimum=0.0, maximum=1.0)
CHROMA_NOTIFY_BY_EMAIL = env.boolean("CHROMA_NOTIFY_BY_EMAIL", True)
CELERY_BEAT_SCHEDULE["retry-training-examples"] = {
    "task": "community.tasks.retry_training_examples",
    "schedule": 300.0,
    "options": {"queue": "default"},
}
CELERY_TASK_ROUTES["community.tasks.retry_training_examples"] = {"queue": "default"}
CELERY_BEAT_SCHEDULE["score-missed-gold-corrections"] = {
    "task": "community.tasks.score_missed_gold_corrections",
    "schedule": 300.0,
    "options": {"queue": "default"},
}
CELERY_TASK_ROUTES["community.tasks.score_missed_gold_corrections"] = {"queue": "default"}
CELERY_TASK_ROUTES["community.tasks.score_gold_correction"] = {"queue": "cpu"}
CELERY_BEAT_SCHEDULE["sweep-community-renders"] = {
    "task": "community.tasks.sweep_community_renders",
    "schedule": 300.0,
    "options": {"queue": "default"},
}
CELERY_TASK_ROUTES["community.tasks.sweep_community_renders"] = {"queue": "default"}
# Links in notification e-mails point here.
CHROMA_SITE_URL = env.string("CHROMA_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# --- gallery ---
# Anonymous gallery, photo, collection, manifest and feed pages are cached whole for this long
# (and dropped at once in this process when a decision or hide touches them). With several web
# processes, point them at one shared cache so invalidation reaches all of them.
CHROMA_PAGE_CACHE_SECONDS = env.integer("CHROMA_PAGE_CACHE_SECONDS", 60, minimum=0)
CHROMA_CACHE_URL = env.string("CHROMA_CACHE_URL", "")
# Parts of pages that are the same for every signed-in visitor (gallery cards, a photo's history, a
# correction's votes) are cached as template fragments for this long, keyed by the same version
# stamps as the page cache (0: every part renders from the database). On by default only with a
# shared cache: signed-in people must see their own vote at once in whichever process serves them,
# and a local-memory cache only hears of changes made in its own process (not those of the other
# web processes, nor of the Celery workers that finish drafts and refresh gallery entries).
CHROMA_FRAGMENT_CACHE_SECONDS = env.integer("CHROMA_FRAGMENT_CACHE_SECONDS", 300 if CHROMA_CACHE_URL else 0, minimum=0)
# The statements pages run on every view (colorization/compiled_queries.py) are prepared on PostgreSQL,
# planned once per connection instead of on every request. Turn off behind a transaction-pooling
# proxy that does not keep prepared statements (PgBouncer before 1.21, or without max_prepared_statements).
CHROMA_PREPARED_STATEMENTS = env.boolean("CHROMA_PREPARED_STATEMENTS", True)
# Benchmarks: every response says the CPU milliseconds it took (Server-Timing), outermost so it counts all.
CHROMA_SERVER_TIMING = env.boolean("CHROMA_SERVER_TIMING", False)
if CHROMA_SERVER_TIMING:
    MIDDLEWARE.insert(0, "config.middleware.RenderTimingMiddleware")
# Cached anonymous pages are answered right after WhiteNoise, before sessions, CSRF and auth.
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
    "community.gallery.page_cache.PageCacheMiddleware",
)
if CHROMA_CACHE_URL:
    if not CHROMA_CACHE_URL.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured("CHROMA_CACHE_URL must be a redis:// or rediss:// URL")
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CHROMA_CACHE_URL,
            # Every page reads the cache: a stalled server must cost a bounded wait, not a hung worker.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # Signed-in requests read their session from the shared cache (the database row stays the record).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# --- community models (registry, fine-tuning) ---
# Fine-tuned weights live in storage (S3 or MEDIA_ROOT) under models/sha256/<sha256>.safetensors.
# Each process uses them from a local cache on its own host: verified by sha256, at most
# CHROMA_MODEL_CACHE_MB megabytes (least recently used out first), fetched on first use. No
# shared filesystem is needed. Training runs keep their working files under <cache>/staging/.
CHROMA_MODEL_CACHE_DIR = env.string("CHROMA_MODEL_CACHE_DIR", str(VAR_DIR / "model-cache"))
CHROMA_MODEL_CACHE_MB = env.integer("CHROMA_MODEL_CACHE_MB", 2048, minimum=1)
# Where models registered before storage held them were written; read only until
# `manage.py models_to_storage` has moved them (and by that command).
CHROMA_MODEL_DIR = env.string("CHROMA_MODEL_DIR", str(VAR_DIR / "models"))

# Content credentials (C2PA) on colour downloads (colorization/credentials.py): the signer's PEM
# certificate chain (signer first) and private key, from the environment (or NAME_FILE); optional
# PEM trust anchors for reading back. In development, without them, a CA and a signer are
# generated once into var/c2pa/ (CHROMA_C2PA_DEV_KEYS=false turns that off: downloads go unsigned).
CHROMA_C2PA_CERT = env.string("CHROMA_C2PA_CERT", "")
CHROMA_C2PA_KEY = env.string("CHROMA_C2PA_KEY", "")
CHROMA_C2PA_TRUST_ANCHORS = env.string("CHROMA_C2PA_TRUST_ANCHORS", "")
CHROMA_C2PA_ALG = env.choice(
    "CHROMA_C2PA_ALG", "es256", {"es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"}
)
if bool(CHROMA_C2PA_CERT) != bool(CHROMA_C2PA_KEY):
    raise ImproperlyConfigured("Set both CHROMA_C2PA_CERT and CHROMA_C2PA_KEY (or neither).")
if CHROMA_C2PA_CERT:  # a malformed or mismatched pair stops the start, not the first download
    from colorization.credentials import check_pem_pair

    check_pem_pair(CHROMA_C2PA_CERT, CHROMA_C2PA_KEY)
CHROMA_C2PA_DEV_DIR = str(VAR_DIR / "c2pa") if env.boolean("CHROMA_C2PA_DEV_KEYS", not PRODUCTION) else ""
# The beat task looks at the admin-editable FinetuneSchedule row this often (seconds).
CHROMA_FINETUNE_TICK_SECONDS = env.integer("CHROMA_FINETUNE_TICK_SECONDS", 300, minimum=10)
# A running training run without a heartbeat this long belongs to a dead worker (it is failed and can be retried).
CHROMA_TRAINING_STALE_SECONDS = env.integer("CHROMA_TRAINING_STALE_SECONDS", 900, minimum=30)
CELERY_BEAT_SCHEDULE["finetune-tick"] = {
    "task": "colorization.tasks.finetune_tick",
    "schedule": float(CHROMA_FINETUNE_TICK_SECONDS),
    "options": {"queue": "default"},
}
CELERY_TASK_ROUTES.update(
    {
        "colorization.tasks.finetune_tick": {"queue": "default"},
        "colorization.tasks.run_training": {"queue": "training"},
    }
)

# Prometheus (config/metrics.py). /metrics needs "Authorization: Bearer <CHROMA_METRICS_TOKEN>"; without a
# token it is open in development and off (404) in production. Its database queries and broker calls
# are bounded by CHROMA_METRICS_QUERY_SECONDS (PostgreSQL statement_timeout) and CELERY_BROKER_TIMEOUT.
CHROMA_METRICS_TOKEN = env.string("CHROMA_METRICS_TOKEN", "")
CHROMA_METRICS_QUERY_SECONDS = env.decimal("CHROMA_METRICS_QUERY_SECONDS", 1.0, minimum=0.05, maximum=30)
MIDDLEWARE.insert(0, "config.metrics.RequestMetricsMiddleware")  # first in, last out: the whole request
