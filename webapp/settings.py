"""Settings, read from the environment. Nothing configured: SQLite under var/ and an embedded
Celery broker (kombu's filesystem transport under var/broker/) with a real worker process.
Configured: ``DATABASE_URL=postgres://...`` and ``CELERY_BROKER_URL=redis://...``."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SHOPFOCUS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str) -> list[str]:
    return [x.strip() for x in os.environ.get(name, default).split(",") if x.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or "insecure-dev-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from static/, so /api/docs/ works offline
    "csp",
    "webapp.accounts",
    "webapp.catalog",
    "webapp.videos",
    "webapp.review",
    "webapp.segments",
    "webapp.embeds",
    "webapp.live",
    "webapp.search",
    "webapp.learning",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the locked page (429)
]

# HTTPS deployments (SHOPFOCUS_HTTPS=1; see "Deploying" in the README): redirect to HTTPS, secure
# cookies, HSTS. Behind a TLS-terminating proxy (SHOPFOCUS_NUM_PROXIES >= 1) X-Forwarded-Proto
# from that proxy says the request was HTTPS. `make run` serves plain HTTP on loopback: off there.
SHOPFOCUS_HTTPS = env_bool("SHOPFOCUS_HTTPS", False)
SHOPFOCUS_NUM_PROXIES = int(os.environ.get("SHOPFOCUS_NUM_PROXIES", 0))
if SHOPFOCUS_HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 365 * 24 * 3600))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if SHOPFOCUS_NUM_PROXIES:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp) on every response: scripts from this site only (inline
# ones need the request's nonce), nothing may frame a page (frame-ancestors 'none', with
# X-Frame-Options DENY for old browsers) except the viewer, which shop sites may embed
# (webapp.embeds: the shop's own sites plus SHOPFOCUS_VIEWER_FRAME_ANCESTORS). Inline style
# attributes stay allowed (the templates position filmstrip tiles with them); no script can run
# through them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
# Sites every shop's viewer may be framed by (origins, comma-separated; each shop adds its own).
SHOPFOCUS_VIEWER_FRAME_ANCESTORS = env_list("SHOPFOCUS_VIEWER_FRAME_ANCESTORS", "")
SHOPFOCUS_VIEWER_KEY_DAYS = float(os.environ.get("SHOPFOCUS_VIEWER_KEY_DAYS", 180))  # viewer links expire

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A worker process and the web server share the file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The test database is a file, not memory, so a worker process in the integration tests sees it.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(
        "SHOPFOCUS_SQLITE_TEST_NAME", str(VAR_DIR / f"test_db.{os.getpid()}.sqlite3"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    if os.environ.get("SHOPFOCUS_DB_APPLICATION_NAME"):  # who holds a connection, in pg_stat_activity
        DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = os.environ["SHOPFOCUS_DB_APPLICATION_NAME"]
    if int(os.environ.get("SHOPFOCUS_DB_POOL_MAX") or 0) > 0:
        # The web server (webapp/gunicorn.conf.py): a bounded psycopg pool per process, checked
        # on checkout (a connection the server dropped is replaced). Workers keep plain connections.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1, "max_size": int(os.environ["SHOPFOCUS_DB_POOL_MAX"]), "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds the API's rate-limit counters: per process by default, shared through Redis
# when SHOPFOCUS_CACHE_URL=redis://... (several gunicorn workers or hosts).
_CACHE_URL = os.environ.get("SHOPFOCUS_CACHE_URL", "")
CACHES = {"default": (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
    if _CACHE_URL.startswith(("redis://", "rediss://", "unix://"))
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shopfocus"})}

# Login lockout (django-axes): a username tried from one client address fails
# AXES_FAILURE_LIMIT times -> that pair is locked for AXES_COOLOFF_MINUTES (429, the locked page),
# the right password included. The pair, not the address alone, so one office behind one address
# is not locked out by a colleague's typos; a success resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AXES_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_CLIENT_IP_CALLABLE = "webapp.throttles.client_ip"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [  # Django's four: used wherever a password is set through a form (admin, reset)
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
SERVE_MEDIA = env_bool("SHOPFOCUS_SERVE_MEDIA", True)  # behind a real web server: set to 0
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploads: every file goes straight to a temporary file on disk in chunks, hashed and counted
# as it streams (webapp/videos/uploads.py); nothing is held whole in memory.
FILE_UPLOAD_HANDLERS = ["webapp.videos.uploads.StreamingHashUploadHandler"]
FILE_UPLOAD_TEMP_DIR = os.environ.get("FILE_UPLOAD_TEMP_DIR") or None
DATA_UPLOAD_MAX_NUMBER_FILES = 2000
SHOPFOCUS_MAX_UPLOAD_BYTES = int(os.environ.get("SHOPFOCUS_MAX_UPLOAD_BYTES", 4 * 1024**3))
# The browser sends a resumable upload in PATCH requests of this size (a lost one is resent whole
# only when the server kept none of it; the server keeps what arrived).
SHOPFOCUS_UPLOAD_CHUNK_BYTES = int(os.environ.get("SHOPFOCUS_UPLOAD_CHUNK_BYTES", 64 * 1024**2))
# An unfinished resumable upload nobody touched for this long is removed (the reaper does it).
SHOPFOCUS_UPLOAD_EXPIRES_S = float(os.environ.get("SHOPFOCUS_UPLOAD_EXPIRES_S", 2 * 86400))
SHOPFOCUS_VIDEO_EXTENSIONS = env_list("SHOPFOCUS_VIDEO_EXTENSIONS", ".mp4,.mov,.m4v,.mkv,.webm,.avi")
SHOPFOCUS_VIDEO_MIME_TYPES = env_list(
    "SHOPFOCUS_VIDEO_MIME_TYPES",
    "video/mp4,video/quicktime,video/x-m4v,video/x-matroska,video/webm,video/x-msvideo,"
    "application/octet-stream",
)
SHOPFOCUS_CATALOG_MAX_FILES = int(os.environ.get("SHOPFOCUS_CATALOG_MAX_FILES", 5000))
SHOPFOCUS_CATALOG_MAX_BYTES = int(os.environ.get("SHOPFOCUS_CATALOG_MAX_BYTES", 2 * 1024**3))
SHOPFOCUS_CATALOG_MAX_RATIO = int(os.environ.get("SHOPFOCUS_CATALOG_MAX_RATIO", 100))

# Jobs
SHOPFOCUS_LOCALIZE = os.environ.get("SHOPFOCUS_LOCALIZE", "ml.pipeline.localize")
SHOPFOCUS_GPU_QUEUE = env_bool("SHOPFOCUS_GPU_QUEUE", False)  # True: jobs go to the "gpu" queue
# Pipeline defaults of this worker (a GPU worker sets SHOPFOCUS_ASR_BACKEND=openai-whisper,
# SHOPFOCUS_ASR_CHECKPOINT=/models/tiny.en.pt and SHOPFOCUS_DEVICE=cuda).
SHOPFOCUS_PIPELINE_DEFAULTS = {k: v for k, v in {
    "asr_backend": os.environ.get("SHOPFOCUS_ASR_BACKEND"),
    "asr_checkpoint": os.environ.get("SHOPFOCUS_ASR_CHECKPOINT"),
    "device": os.environ.get("SHOPFOCUS_DEVICE"),
    "fps": float(os.environ["SHOPFOCUS_FPS"]) if os.environ.get("SHOPFOCUS_FPS") else None,
    # CPU threads of each network in a job: cores / workers when several workers share a host
    "threads": int(os.environ["SHOPFOCUS_THREADS"]) if os.environ.get("SHOPFOCUS_THREADS") else None,
    # tracklet (default), image, asymnet or lxmert: the visual feature (ml.fusion.VISUAL_FEATURES)
    "visual_mode": os.environ.get("SHOPFOCUS_VISUAL_MODE"),
    # fp32 (default) or int8: the crop network's graph (ml.visual.quantize; faster, see the README)
    "image_precision": os.environ.get("SHOPFOCUS_IMAGE_PRECISION"),
}.items() if v}
# Celery pool processes load the models as they start (webapp.celery.preload_models)
SHOPFOCUS_PRELOAD_MODELS = env_bool("SHOPFOCUS_PRELOAD_MODELS", True)
SHOPFOCUS_HEARTBEAT_S = float(os.environ.get("SHOPFOCUS_HEARTBEAT_S", 10))
SHOPFOCUS_HEARTBEAT_TIMEOUT_S = float(os.environ.get("SHOPFOCUS_HEARTBEAT_TIMEOUT_S", 120))
# A shop's product index (webapp.search): rebuilt after each catalog change; exact (flat) up to
# this many image vectors, an inverted file with 8-bit codes above.
SHOPFOCUS_INDEX_AUTOBUILD = env_bool("SHOPFOCUS_INDEX_AUTOBUILD", True)
SHOPFOCUS_INDEX_EXACT_BELOW = int(os.environ.get("SHOPFOCUS_INDEX_EXACT_BELOW", 50_000))
# Learning from reviews (webapp.learning): a review change queues a harvest of the video's crops
# SHOPFOCUS_LEARN_DELAY_S later (one per video however many edits come meanwhile), and a harvest
# queues the shop's refit once it has ml.adapt.MIN_EXAMPLES new examples. 0: only the admin's actions.
SHOPFOCUS_LEARN_AUTO = env_bool("SHOPFOCUS_LEARN_AUTO", True)
SHOPFOCUS_LEARN_DELAY_S = float(os.environ.get("SHOPFOCUS_LEARN_DELAY_S", 60))
SHOPFOCUS_LEARN_VIEWS_PER_INTERVAL = int(os.environ.get("SHOPFOCUS_LEARN_VIEWS_PER_INTERVAL", 3))
SHOPFOCUS_JOB_MAX_ATTEMPTS = int(os.environ.get("SHOPFOCUS_JOB_MAX_ATTEMPTS", 2))
# A job claimed this many times and still hitting database/broker errors is failed, not requeued.
SHOPFOCUS_JOB_TRANSIENT_ATTEMPTS = int(os.environ.get("SHOPFOCUS_JOB_TRANSIENT_ATTEMPTS", 4))
# A QUEUED job that no worker claimed this long after it was sent is sent again by the reaper
# (the broker lost the message: Redis restarted without persistence). Make it longer than jobs
# wait in the queue on a busy day; a duplicate message is harmless, only wasted.
SHOPFOCUS_QUEUED_TIMEOUT_S = float(os.environ.get("SHOPFOCUS_QUEUED_TIMEOUT_S", 900))
SHOPFOCUS_PROGRESS_MIN_INTERVAL_S = float(os.environ.get("SHOPFOCUS_PROGRESS_MIN_INTERVAL_S", 1.0))
SHOPFOCUS_REAP_EVERY_S = float(os.environ.get("SHOPFOCUS_REAP_EVERY_S", 60))
# A video longer than 1.5 x SHOPFOCUS_SEGMENT_S runs as parts of about that length on any number of
# workers (webapp.segments; 0: never split), each decoding SHOPFOCUS_SEGMENT_CONTEXT_S past its ends.
SHOPFOCUS_SEGMENT_S = float(os.environ.get("SHOPFOCUS_SEGMENT_S", 600))
SHOPFOCUS_SEGMENT_CONTEXT_S = float(os.environ.get("SHOPFOCUS_SEGMENT_CONTEXT_S", 30))

# Live sessions (webapp/live). The RTMP server (nginx with its RTMP module, ``manage.py
# live_rtmp``) listens on SHOPFOCUS_LIVE_RTMP_BIND:PORT, asks the web app at
# SHOPFOCUS_LIVE_CALLBACK_URL whether a publisher's key may go on, and writes the stream's
# MPEG-TS fragments under SHOPFOCUS_LIVE_DIR; sellers are shown SHOPFOCUS_LIVE_RTMP_URL.
SHOPFOCUS_LIVE_DIR = Path(os.environ.get("SHOPFOCUS_LIVE_DIR", VAR_DIR / "live"))
SHOPFOCUS_LIVE_RTMP_BIND = os.environ.get("SHOPFOCUS_LIVE_RTMP_BIND", "127.0.0.1")
SHOPFOCUS_LIVE_RTMP_PORT = int(os.environ.get("SHOPFOCUS_LIVE_RTMP_PORT", 1935))
SHOPFOCUS_LIVE_RTMP_URL = os.environ.get("SHOPFOCUS_LIVE_RTMP_URL",
                                         f"rtmp://127.0.0.1:{SHOPFOCUS_LIVE_RTMP_PORT}/live")
SHOPFOCUS_LIVE_CALLBACK_URL = os.environ.get("SHOPFOCUS_LIVE_CALLBACK_URL", "http://127.0.0.1:8000")
SHOPFOCUS_LIVE_RTMP_UPDATE_S = int(os.environ.get("SHOPFOCUS_LIVE_RTMP_UPDATE_S", 5))  # publisher checks
# Sessions live at once: one live-worker process each (``celery -Q live -c`` this many).
SHOPFOCUS_LIVE_MAX_SESSIONS = int(os.environ.get("SHOPFOCUS_LIVE_MAX_SESSIONS", 2))
SHOPFOCUS_LIVE_RECONNECT_GRACE_S = float(os.environ.get("SHOPFOCUS_LIVE_RECONNECT_GRACE_S", 60))
SHOPFOCUS_LIVE_START_TIMEOUT_S = float(os.environ.get("SHOPFOCUS_LIVE_START_TIMEOUT_S", 300))
# Seconds of stream per scoring step of the follower: the main term of the viewers' delay.
SHOPFOCUS_LIVE_SEGMENT_S = float(os.environ.get("SHOPFOCUS_LIVE_SEGMENT_S", 4))
# Load the models while the seller sets up the encoder, not during the stream's first segment.
SHOPFOCUS_LIVE_WARM_UP = env_bool("SHOPFOCUS_LIVE_WARM_UP", True)
# Viewers' "now showing": long polls of at most LONGPOLL_S, at most LONGPOLL_MAX at once per
# server process (each holds a gthread thread); past that, viewers poll every POLL_MS.
SHOPFOCUS_LIVE_LONGPOLL_S = float(os.environ.get("SHOPFOCUS_LIVE_LONGPOLL_S", 20))
SHOPFOCUS_LIVE_LONGPOLL_MAX = int(os.environ.get("SHOPFOCUS_LIVE_LONGPOLL_MAX", 2))
SHOPFOCUS_LIVE_POLL_MS = int(os.environ.get("SHOPFOCUS_LIVE_POLL_MS", 2000))

# Celery. Default broker: kombu's filesystem transport (no server); redis://... in production.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(os.environ.get("SHOPFOCUS_BROKER_DIR", VAR_DIR / "broker"))
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # else kombu writes ./control/
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "cpu"
CELERY_TASK_ROUTES = {
    "webapp.videos.tasks.process_video": {"queue": "gpu" if SHOPFOCUS_GPU_QUEUE else "cpu"},
    "webapp.videos.tasks.reap_stale_jobs": {"queue": "cpu"},
    "webapp.live.tasks.run_live_session": {"queue": "live"},
    "webapp.search.tasks.build_shop_index": {"queue": "gpu" if SHOPFOCUS_GPU_QUEUE else "cpu"},
}
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {"task": "webapp.videos.tasks.reap_stale_jobs", "schedule": SHOPFOCUS_REAP_EVERY_S},
    "resend-waiting-segments": {"task": "webapp.segments.tasks.resend_waiting_segments",
                                "schedule": SHOPFOCUS_REAP_EVERY_S},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# Request bodies: Django's limit for forms and request.body (the API's JSON too: 413 there); the
# API's JSON parser refuses NaN/Infinity and nesting deeper than SHOPFOCUS_JSON_MAX_DEPTH (400).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440))
SHOPFOCUS_JSON_MAX_DEPTH = int(os.environ.get("SHOPFOCUS_JSON_MAX_DEPTH", 32))

# API tokens (django-rest-knox): "Authorization: Token <token>", made and revoked on the
# "API tokens" page; each expires after SHOPFOCUS_API_TOKEN_DAYS (stored as a digest only).
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# knox's own AuthToken is swapped out for accounts.ApiToken, so its migrations (which would still
# create a knox_authtoken table, referencing users and blocking test database flushes) never run.
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=float(os.environ.get("SHOPFOCUS_API_TOKEN_DAYS", 90))),
    "AUTH_HEADER_PREFIX": "Token",
}
SHOPFOCUS_API_TOKENS_PER_USER = int(os.environ.get("SHOPFOCUS_API_TOKENS_PER_USER", 20))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["knox.auth.TokenAuthentication",
                                       "rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["webapp.parsers.StrictJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "webapp.parsers.exception_handler",
    # 429 with Retry-After past these rates; counted in the default cache (SHOPFOCUS_CACHE_URL:
    # use Redis when several server processes share the limits).
    "DEFAULT_THROTTLE_CLASSES": ["webapp.throttles.AnonThrottle", "webapp.throttles.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("SHOPFOCUS_API_RATE_ANON", "60/minute"),
        "user": os.environ.get("SHOPFOCUS_API_RATE_USER", "1200/minute"),
    },
    "NUM_PROXIES": SHOPFOCUS_NUM_PROXIES,  # reverse proxies in front of us
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # every list: ?limit= (default 100, at most 1000) & ?offset= -> {count, next, previous, results}
    "DEFAULT_PAGINATION_CLASS": "webapp.pagination.Pagination",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ShopFocus API",
    "DESCRIPTION": "Videos, jobs, products, product intervals (optimistic locking with `version`) and exports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "webapp.api_schema.complete_error_responses"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "webapp.videos.models.Job.Status",
        "IntervalStatusEnum": "webapp.review.models.Interval.Status",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
VAR_DIR.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve static/ without collectstatic (make run)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
