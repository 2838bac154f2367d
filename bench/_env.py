"""A throwaway world for a benchmark: a temporary directory, a SQLite file (unless DATABASE_URL
is set), a private embedded Redis on a unix socket (unless REDIS_URL is set), Django set up and
migrated. Call `setup()` before importing anything from the project; `teardown()` at the end."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_state: dict[str, object] = {}


def setup(name: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f"selfheal-bench-{name}-"))
    _state["tmp"] = tmp
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    if not os.environ.get("REDIS_URL"):
        from selfheal_site import embedded_redis

        socket = tmp / "redis.sock"
        os.environ["SELFHEAL_REDIS_SOCKET"] = str(socket)
        os.environ["REDIS_URL"] = f"unix://{socket}"
        _state["redis"] = embedded_redis.start(socket)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfheal_site.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    atexit.register(teardown)
    return tmp


def teardown() -> None:
    process = _state.pop("redis", None)
    if process is not None:
        from selfheal_site import embedded_redis

        embedded_redis.stop(process)  # type: ignore[arg-type]
    tmp = _state.pop("tmp", None)
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)  # type: ignore[arg-type]
