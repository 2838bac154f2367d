"""Selfheal settings. Everything environment-specific is read through selfheal_site.env."""

from __future__ import annotations

from .env import (
    BASE_DIR,
    celery_url,
    database_config,
    env,
    login_throttle,
    oidc_config,
    redis_url,
    secret_key,
    var_dir,
)

VAR_DIR = var_dir()
SECRET_KEY = secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL: str = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "healing",
    "monitoring",
    "approvals",
    "selfdebug",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # 503, not 500, while the database is down (it loads the lazy session and user itself).
    "healing.middleware.ServiceUnavailableMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "healing.middleware.ContentSecurityPolicyMiddleware",
    "healing.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "selfheal_site.urls"
ASGI_APPLICATION = "selfheal_site.asgi.application"

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
                "healing.context_processors.console",
            ],
        },
    },
]

DATABASES = {"default": database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
# Local accounts (throttled: healing.accounts.throttle) and, when SELFHEAL_OIDC_* configure one,
# the company's OpenID Connect provider (healing.accounts.oidc).
SELFHEAL_OIDC = oidc_config()
LOGIN_THROTTLE = login_throttle()
AUTHENTICATION_BACKENDS = ["healing.accounts.throttle.ThrottledModelBackend"]
if SELFHEAL_OIDC:
    AUTHENTICATION_BACKENDS.append("healing.accounts.oidc.SelfhealOIDCBackend")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at start-up when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Redis: one server for Celery and Channels -------------------------------------------
REDIS_URL = redis_url()

CELERY_BROKER_URL = celery_url(REDIS_URL)
CELERY_RESULT_BACKEND = celery_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
# The healing loop may restart the worker pool (an engine command that goes through approval).
CELERY_WORKER_POOL_RESTARTS = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# The login throttle's counters, shared by every web process.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "selfheal:cache",
    },
    # Per process, for what must keep answering while Redis is down (/healthz's short memory).
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "selfheal"},
}

# --- Task time limits: no patch holds a worker ----------------------------------------------
# Sized from the sandbox limits. A sandbox stage runs the baseline and the patched tree, each at
# most the wall time (the tunable sandbox.wall_time_s, sized here for its ceiling below), plus
# preparing the trees and collecting the reports; the apply lands and runs the tests once more.
# The soft limit rejects the patch ("timed out after N s in <stage>"); the hard one, 30 s later,
# kills the pool process. (They need the prefork pool the launcher starts; --pool solo has none.)
SANDBOX_WALL_TIME_CEILING_S = env.int("SELFHEAL_SANDBOX_WALL_TIME_CEILING_S", default=600)
SELFHEAL_TASK_TIME_LIMITS: dict[str, int] = {
    "healing.process_modification": env.int("SELFHEAL_VALIDATION_TIME_LIMIT_S", default=120),
    "healing.sandbox_modification": env.int(
        "SELFHEAL_SANDBOX_TIME_LIMIT_S", default=2 * SANDBOX_WALL_TIME_CEILING_S + 120
    ),
    "healing.apply_modification": env.int(
        "SELFHEAL_APPLY_TIME_LIMIT_S", default=SANDBOX_WALL_TIME_CEILING_S + 180
    ),
    # The post-apply tests of a merged pull request: one run at the sandbox's ceiling, and a fetch.
    "healing.verify_application": env.int(
        "SELFHEAL_APPLY_TIME_LIMIT_S", default=SANDBOX_WALL_TIME_CEILING_S + 180
    ),
    "healing.watch_application": 60,
}
CELERY_TASK_ANNOTATIONS = {
    name: {"soft_time_limit": soft, "time_limit": soft + 30}
    for name, soft in SELFHEAL_TASK_TIME_LIMITS.items()
}
# Every other task (diagnostics, scoring, sweeps) gets one too.
CELERY_TASK_SOFT_TIME_LIMIT = env.int(
    "SELFHEAL_TASK_TIME_LIMIT_S", default=2 * SANDBOX_WALL_TIME_CEILING_S + 120
)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 30

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "selfheal:channels"},
    }
}

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "healing.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Nesting past a sane depth is a 400, not a RecursionError somewhere later (a 500).
    "DEFAULT_PARSER_CLASSES": [
        "healing.api.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "healing.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Selfheal API",
    "DESCRIPTION": "Patch intake, review, engine control and telemetry.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Login is required everywhere, the API's own description included.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "ENUM_NAME_OVERRIDES": {"DiagnosticRunStatusEnum": "selfdebug.models.RunStatus"},
}

# Hard ceiling on request bodies; the admin-tunable intake limit sits below it.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("SELFHEAL_MAX_BODY_BYTES", default=16 * 1024 * 1024)

# --- Mail and notifications ----------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="selfheal@localhost")

# --- Security ------------------------------------------------------------------------------
# Served over https (SITE_URL says so): secure cookies, redirect and HSTS by default.
HTTPS = SITE_URL.startswith("https://")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS)
# /healthz is polled over plain http by load balancers inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
)
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"daphne": {"level": "WARNING"}},
}

# --- Self-debugging: an OpenAI-compatible model asked for fixes no template has (off unless set) --
DIAGNOSTICS_GENERATOR = {
    "backend": "openai-chat",
    "base_url": env.str("SELFHEAL_GENERATOR_BASE_URL", default=""),
    "model": env.str("SELFHEAL_GENERATOR_MODEL", default=""),
    "api_key": env.str("SELFHEAL_GENERATOR_API_KEY", default=""),
    "timeout": env.float("SELFHEAL_GENERATOR_TIMEOUT", default=30.0),
}

# Chat integration (Slack-style interactive messages). Secrets come from the environment only.
# CHAT_SIGNING_SECRET verifies the platform's callbacks (empty: callbacks are refused);
# CHAT_BOT_TOKEN authorises our posts to the chat URL (tunable notifications.chat_url);
# CHAT_RESPONSE_HOSTS: the only hosts a callback's response_url may point to.
CHAT_SIGNING_SECRET: str = env.str("SELFHEAL_CHAT_SIGNING_SECRET", default="")
CHAT_BOT_TOKEN: str = env.str("SELFHEAL_CHAT_BOT_TOKEN", default="")
CHAT_RESPONSE_HOSTS: list[str] = env.list(
    "SELFHEAL_CHAT_RESPONSE_HOSTS", default=["hooks.slack.com"]
)

# Remote workspaces over SSH (healing/remote/credentials.py): a known_hosts file the workers read,
# pinning the remotes' host keys. Empty: each worker trusts a host's key on first use, into its
# own var/ssh/known_hosts, and refuses it if it ever changes.
SELFHEAL_SSH_KNOWN_HOSTS: str = env.str("SELFHEAL_SSH_KNOWN_HOSTS", default="")
