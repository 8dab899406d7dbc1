"""The one settings module. Every knob is an environment variable, documented in README.md.

A bad value stops the process at start with a message naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ImproperlyConfigured(f"{name}={raw!r} must be between {low} and {high}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(choices)}")
    return value


DEBUG = env_bool("MASSLINE_DEBUG", False)
DATA_DIR = Path(env_str("MASSLINE_DATA_DIR", str(BASE_DIR / "var"))).resolve()
SECRET_KEY = os.environ.get("MASSLINE_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("MASSLINE_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("MASSLINE_SECRET_KEY must be set in production")
    SECRET_KEY = "massline-insecure-development-key-change-me-in-production"

ALLOWED_HOSTS = [h.strip() for h in env_str("MASSLINE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env_str("MASSLINE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves its Swagger UI from our own static files, not a CDN
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "massline.core",
    "massline.directory",
    "massline.demands",
    "massline.routing",
    "massline.insight",
    "massline.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "massline.core.middleware.ApiErrorBodyMiddleware",
]

ROOT_URLCONF = "massline.urls"
WSGI_APPLICATION = "massline.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "massline" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "massline.nav.nav",
            ]
        },
    }
]

# --- database -------------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    import dj_database_url

    if not DATABASE_URL.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ImproperlyConfigured(
            f"DATABASE_URL={DATABASE_URL!r} must start with postgresql:// (or sqlite:///path for a file)"
        )
    try:
        _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("MASSLINE_DB_CONN_MAX_AGE", 60, 0))
    except Exception as exc:  # dj-database-url raises several types
        raise ImproperlyConfigured(f"DATABASE_URL could not be parsed: {exc}") from None
    if _db["ENGINE"].endswith("postgresql"):
        _db["CONN_HEALTH_CHECKS"] = True
        _db.setdefault("TEST", {})["NAME"] = os.environ.get("MASSLINE_TEST_DB_NAME") or None
    DATABASES = {"default": _db}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "massline.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache (rate limits) --------------------------------------------------------------------------
_cache = env_choice("MASSLINE_CACHE", "local", ("local", "db"))
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        if _cache == "local"
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "massline_cache"}
    )
}

# --- background tasks -----------------------------------------------------------------------------
_tasks = env_choice("MASSLINE_TASKS", "immediate", ("immediate", "db"))
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend" if _tasks == "immediate" else "django_tasks_db.DatabaseBackend"
        )
    }
}

# --- auth, i18n, time -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/work/"
LOGOUT_REDIRECT_URL = "/login/"
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "massline" / "locale"]
USE_I18N = True
TIME_ZONE = env_str("MASSLINE_TIME_ZONE", "Asia/Shanghai")
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except Exception:
    raise ImproperlyConfigured(f"MASSLINE_TIME_ZONE={TIME_ZONE!r} is not a known time zone") from None
USE_TZ = True

# --- static and uploads ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
try:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(f"MASSLINE_DATA_DIR={DATA_DIR} is not writable: {exc}") from None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# attachments live outside any web root and are served only through a permission-checked view
ATTACHMENT_DIR = Path(env_str("MASSLINE_ATTACHMENT_DIR", str(DATA_DIR / "attachments"))).resolve()
MAX_UPLOAD_MB = env_int("MASSLINE_MAX_UPLOAD_MB", 10, 1)
DATA_UPLOAD_MAX_MEMORY_SIZE = (MAX_UPLOAD_MB + 1) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# --- security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("MASSLINE_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- the domain -----------------------------------------------------------------------------------
MASSLINE = {
    # working periods of a working day, for deadlines counted in working hours or days
    "WORKING_HOURS": env_str("MASSLINE_WORKING_HOURS", "09:00-12:00,13:30-17:30"),
    # how many handling rounds a demand gets before a dissatisfied callback goes to supervision
    "MAX_ROUNDS": env_int("MASSLINE_MAX_ROUNDS", 2, 1),
    # working days the person has to rate a reply before the demand closes without a rating
    "CALLBACK_WINDOW_DAYS": env_int("MASSLINE_CALLBACK_WINDOW_DAYS", 5, 1),
    # public (no login) submit and track: requests per minute per client address
    "PUBLIC_RATE_PER_MINUTE": env_int("MASSLINE_PUBLIC_RATE_PER_MINUTE", 30, 1),
    # notification channels: dotted paths of backends; empty disables the channel
    "SMS_BACKEND": env_str("MASSLINE_SMS_BACKEND", "massline.core.notify.LoggingBackend"),
    "WECOM_BACKEND": env_str("MASSLINE_WECOM_BACKEND", "massline.core.notify.LoggingBackend"),
    "NOTIFY_MAX_ATTEMPTS": env_int("MASSLINE_NOTIFY_MAX_ATTEMPTS", 5, 1),
    # the shared data folder with the real messages (classifier and analytics)
    "SHARED_DATA_DIR": env_str(
        "MASSLINE_SHARED_DATA_DIR",
        str(BASE_DIR.parent / "shared" / "data") if (BASE_DIR.parent / "shared" / "data").is_dir() else "",
    ),
    # how many rows the deadline sweep handles in one locked batch
    "SWEEP_BATCH": env_int("MASSLINE_SWEEP_BATCH", 500, 1),
    # the classifier's calibrated score at or above which a demand is dispatched without a person
    # (per first-level category it can be changed in the admin; 1 turns automatic dispatch off)
    "AUTODISPATCH_THRESHOLD": env_float("MASSLINE_AUTODISPATCH_THRESHOLD", 0.9, 0.0, 1.0),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_choice("MASSLINE_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))},
    "loggers": {"jieba": {"level": "WARNING"}, "django_tasks": {"level": "WARNING"},
                "massline.notify": {"level": "WARNING"}},
}
