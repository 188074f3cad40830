"""PointsOps settings: one module, everything that differs between machines read from the environment.

No DATABASE_URL -> a SQLite file; no REDIS_URL -> Celery runs tasks eagerly. That is the embedded
default `make run` uses; `make test` and production set both.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY, management commands (migrate, makemigrations --check …) still run on a
# placeholder; serving does not: config/wsgi.py refuses it when DEBUG is off, and
# `check --deploy` flags it (security.W009, the "django-insecure-" prefix).
PLACEHOLDER_SECRET_KEY = "django-insecure-local-development-key-only-for-make-run-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY") or PLACEHOLDER_SECRET_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_celery_beat",
    "core",
    "accounts",
    "budgets",
    "campaigns",
    "coupons",
    "orders",
    "points",
    "redemption",
    "reports",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the request: NUL characters, deep JSON, oversize bodies → 4xx.
    "core.middleware.HostileInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.ConsoleTenantMiddleware",
    # Last: turns a login that axes refused into the answer of accounts.lockout.lockout_response.
    "axes.middleware.AxesMiddleware",
]

# Request body limits (docs/operations.md). Every body over DATA_UPLOAD_MAX_MEMORY_SIZE is
# refused with 413 `request_too_large` before a view reads it (core/middleware.py); the one
# upload route, POST /coupon-batches/{id}/issue, takes up to ISSUANCE_UPLOAD_MAX_SIZE, and an
# upload over FILE_UPLOAD_MAX_MEMORY_SIZE streams to a temporary file rather than memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024))
ISSUANCE_UPLOAD_MAX_SIZE = int(os.environ.get("ISSUANCE_UPLOAD_MAX_SIZE", 20 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440))

# A campaign simulation over at most this many past orders answers inline; more run as a job.
SIMULATION_INLINE_ORDERS = int(os.environ.get("SIMULATION_INLINE_ORDERS", 20_000))
# A report download of more rows than this is written by a Celery job (with progress) instead.
EXPORT_INLINE_ROWS = int(os.environ.get("EXPORT_INLINE_ROWS", 50_000))

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "web.context_processors.console",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # IMMEDIATE + WAL: the web server and the periodic loop of `make run` write at once.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out (username, address) pair before any password is checked.
    # AxesBackend, not AxesStandaloneBackend: force_login() and session loading use the first
    # backend, and this one (a ModelBackend) can load a user.
    "axes.backends.AxesBackend",
    "accounts.backends.UsernameOrEmailBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous users hold no grants
GUARDIAN_RAISE_403 = False
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# The login brake (issue 12, accounts/lockout.py): django-axes on the console, portal, admin and
# token logins. A (username, client address) pair is refused for LOGIN_COOLOFF_MINUTES after
# LOGIN_FAILURE_LIMIT failures; the same user from another address is not, so nobody can lock a
# person out of their account. Attempts live in the database (axes' default handler).
AXES_ENABLED = True
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a successful login clears that pair's failures
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"  # the throttle's rule (TRUSTED_PROXIES)
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login; failures are still recorded
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n and time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # storage; each tenant's own zone is activated per request (Tenant.time_zone)
DEFAULT_TENANT_TIME_ZONE = "Asia/Shanghai"
DEFAULT_TENANT_CURRENCY = "CNY"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Third-party front-end files come from npm (package.json), never from a CDN.
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
WHITENOISE_USE_FINDERS = DEBUG

# --- Cache (throttling, idempotency waits) ------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "pointsops"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery (ARCHITECTURE §4) -----------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "pointsops")
# Periodic services: beat in production, `manage.py run_periodic` beside `make run`.
PERIODIC_TASKS: dict[str, dict] = {
    "idempotency-keys-purge": {"task": "core.tasks.idempotency_keys_purge", "seconds": 3600},
    "campaigns_advance": {"task": "campaigns.tasks.campaigns_advance", "seconds": 60},
    "shadow-runs-refresh": {"task": "campaigns.tasks.shadow_runs_refresh", "seconds": 300},
    "points-expire-due": {"task": "points.tasks.points_expire_due", "seconds": 3600},
    "points-activate-due": {"task": "points.tasks.points_activate_due", "seconds": 300},
    "issuance-jobs-resume": {"task": "coupons.tasks.issuance_jobs_resume", "seconds": 300},
    "coupons-expire-due": {"task": "coupons.tasks.coupons_expire_due", "seconds": 300},
}

# --- API ------------------------------------------------------------------------------------
# Per holder, portal and API alike (core/ratelimit.py): a person redeems and draws by hand.
HOLDER_RATES = {
    "prize_redeem": os.environ.get("THROTTLE_HOLDER_REDEEM", "20/min"),
    "lottery_draw": os.environ.get("THROTTLE_HOLDER_DRAW", "30/min"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "accounts.authentication.PersonalTokenAuthentication",
        "accounts.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["web.api.permissions.IsTenantMember"],
    "DEFAULT_THROTTLE_CLASSES": [
        "web.api.throttling.ApiKeyThrottle",
        "web.api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": os.environ.get("THROTTLE_API_KEY", "6000/min"),
        "user": os.environ.get("THROTTLE_USER", "1200/min"),
        "anon": os.environ.get("THROTTLE_ANON", "60/min"),
    },
    # How many proxies in front append to X-Forwarded-For (core/client_ip.py): the client's
    # address is the one the outermost of them saw. 0: none, REMOTE_ADDR is the client and the
    # header is ignored, since anyone can send it.
    "NUM_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
    "DEFAULT_PAGINATION_CLASS": "web.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "web.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PointsOps API",
    "DESCRIPTION": (
        "Integration and management API of PointsOps. Integrators authenticate with "
        "`Authorization: Api-Key <key>`; console users with a session or "
        "`Authorization: Token <token>` from POST /api/v1/auth/token. "
        "Every error is `{code, detail, fields}`, except the server's own answers to a request "
        "it cannot take (config/gunicorn.conf.py): a request line (method, path and query "
        "string, version) over 8190 bytes gets 414, more than 100 header fields or one header "
        "field over 8190 bytes get 431, each with a short HTML body. Too many wrong passwords "
        "for one username from one address lock that pair out: POST /api/v1/auth/token then "
        "answers 429 `locked_out` with `Retry-After`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # No online validator badge: the docs page calls no host but ours.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The error shape on every operation, every error code listed (web/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "web.api.schema.postprocess_error_responses",
    ],
    # Choice sets that share a field name across apps get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "CouponBatchKindEnum": "coupons.models.BatchKind",
        "CouponEventTypeEnum": "coupons.models.EventType",
        "PointsRuleKindEnum": "points.models.RuleKind",
        "PrizeKindEnum": "redemption.models.PrizeKind",
    },
}
IDEMPOTENCY_WAIT_SECONDS = float(os.environ.get("IDEMPOTENCY_WAIT_SECONDS", "5"))

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
