"""Environment helpers: every knob that comes from the environment is read here, once.

Bad values fail loudly at start-up (ImproperlyConfigured), never later at request time.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def var_dir() -> Path:
    """Where the embedded defaults keep their state (SQLite, Redis socket, secret key, logs)."""
    path = Path(env.str("SELFHEAL_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def embedded_redis_socket() -> Path:
    """The embedded Redis's socket; the test plugin points it elsewhere so that a test run never
    shares a broker with a running `make run`."""
    override = env.str("SELFHEAL_REDIS_SOCKET", default="")
    return Path(override).resolve() if override else var_dir() / "redis.sock"


def redis_url() -> str:
    """The one Redis that Celery (broker and results) and Channels share.

    Unset means the embedded Redis on a unix socket under var/, which `make run` and the
    test suite start themselves.
    """
    url = env.str("REDIS_URL", default="")
    if not url:
        return f"unix://{embedded_redis_socket()}"
    scheme = urlparse(url).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"REDIS_URL must be redis://, rediss:// or unix://, got {scheme!r}"
        )
    return url


def uses_embedded_redis() -> bool:
    return not env.str("REDIS_URL", default="")


def celery_url(url: str) -> str:
    """Kombu and Celery spell a unix-socket Redis as redis+socket://."""
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://") :]
    return url


def secret_key() -> str:
    """SECRET_KEY from the environment, or one generated once into var/ and reused."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    path = var_dir() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def database_config() -> dict:
    default = f"sqlite:///{var_dir() / 'selfheal.sqlite3'}"
    try:
        config = env.db_url("DATABASE_URL", default=default)
    except (environ.ImproperlyConfigured, ValueError) as exc:  # pragma: no cover - loud on purpose
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from exc
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        # WAL lets the web server and the Celery worker read while one of them writes;
        # the busy timeout makes a writer wait for the lock instead of failing at once.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        }
        # Test runs need a file, not :memory:, so that real worker processes see the data.
        config["TEST"] = {"NAME": str(var_dir() / "test.sqlite3")}
    elif engine in {"django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"}:
        config["ENGINE"] = "django.db.backends.postgresql"
        config.setdefault("CONN_MAX_AGE", 60)
        config["CONN_HEALTH_CHECKS"] = True
    return config
