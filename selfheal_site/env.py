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


# Roles an identity provider's groups may grant: the console's. Agents are API users, made by
# `manage.py create_api_user`, never by a sign-in.
OIDC_GRANTABLE_ROLES = ("reviewer", "operator", "admin")


def oidc_role_map(text: str) -> dict[str, str]:
    """'selfheal-admins=admin,selfheal-ops=operator' -> {'selfheal-admins': 'admin', ...}."""
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        group, sep, role = (s.strip() for s in item.rpartition("="))
        if not sep or not group or role not in OIDC_GRANTABLE_ROLES:
            raise ImproperlyConfigured(
                f"SELFHEAL_OIDC_ROLE_MAP entry {item!r} must be GROUP=ROLE with ROLE one of "
                f"{', '.join(OIDC_GRANTABLE_ROLES)}"
            )
        mapping[group] = role
    return mapping


def oidc_config() -> dict | None:
    """Sign-in with an OpenID Connect provider, or None (the default) when it is not configured.

    SELFHEAL_OIDC_ISSUER alone is enough for the endpoints (read from its discovery document on
    first use, so an unreachable provider never stops start-up or local sign-in); each endpoint
    can also be given explicitly. Client id and secret are required.
    """
    issuer = env.str("SELFHEAL_OIDC_ISSUER", default="").rstrip("/")
    client_id = env.str("SELFHEAL_OIDC_CLIENT_ID", default="")
    if not issuer and not client_id:
        return None
    secret = env.str("SELFHEAL_OIDC_CLIENT_SECRET", default="")
    if not (issuer and client_id and secret):
        raise ImproperlyConfigured(
            "OIDC sign-in needs SELFHEAL_OIDC_ISSUER, SELFHEAL_OIDC_CLIENT_ID and "
            "SELFHEAL_OIDC_CLIENT_SECRET together"
        )
    endpoints = {
        name: env.str(f"SELFHEAL_OIDC_{name.upper()}_ENDPOINT", default="")
        for name in ("authorization", "token", "userinfo", "jwks")
    }
    for url in [issuer, *filter(None, endpoints.values())]:
        if urlparse(url).scheme not in {"https", "http"}:
            raise ImproperlyConfigured(f"OIDC URL {url!r} must be http(s)://")
    return {
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": secret,
        "endpoints": endpoints,
        "provider_name": env.str("SELFHEAL_OIDC_PROVIDER_NAME", default="your company account"),
        "scopes": env.str("SELFHEAL_OIDC_SCOPES", default="openid email profile groups"),
        "roles_claim": env.str("SELFHEAL_OIDC_ROLES_CLAIM", default="groups"),
        "role_map": oidc_role_map(env.str("SELFHEAL_OIDC_ROLE_MAP", default="")),
        "timeout": env.float("SELFHEAL_OIDC_TIMEOUT", default=10.0),
    }


def login_throttle() -> dict[str, int]:
    """Failed local sign-ins allowed per username and per client address in a window."""
    return {
        "per_username": env.int("SELFHEAL_LOGIN_FAILURES_PER_USERNAME", default=5),
        "per_ip": env.int("SELFHEAL_LOGIN_FAILURES_PER_IP", default=20),
        "window_s": env.int("SELFHEAL_LOGIN_WINDOW_S", default=15 * 60),
    }
