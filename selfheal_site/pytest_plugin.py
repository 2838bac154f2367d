"""Loaded with `-p selfheal_site.pytest_plugin` before pytest-django reads the settings.

Unless REDIS_URL names a real Redis, the suite starts its own embedded Redis on a socket of its
own, so a test run never shares a broker with a running `make run` (or another test run).

Each run also gets a temporary directory of its own (TMPDIR, inherited by the workers and
servers the tests start): the tests that check a sandbox left no scratch directory behind then
see only their own run's, not those of another run on the same machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

_process: subprocess.Popen[bytes] | None = None

_tmp = tempfile.mkdtemp(prefix="selfheal-test-")
# Traversable by the other users a test runs programs as (a private PostgreSQL runs as postgres).
os.chmod(_tmp, 0o755)  # noqa: S103
os.environ["TMPDIR"] = tempfile.tempdir = _tmp

if not os.environ.get("REDIS_URL"):
    _var = Path(
        os.environ.get("SELFHEAL_VAR_DIR") or Path(__file__).resolve().parent.parent / "var"
    )
    _var.mkdir(parents=True, exist_ok=True)
    os.environ["SELFHEAL_REDIS_SOCKET"] = str(_var / f"test-redis-{os.getpid()}.sock")


def pytest_configure(config: pytest.Config) -> None:
    global _process
    if os.environ.get("REDIS_URL") or _process is not None:
        return
    from . import embedded_redis

    socket = Path(os.environ["SELFHEAL_REDIS_SOCKET"])
    _process = embedded_redis.start(socket, log_path=socket.with_suffix(".log"))


def pytest_unconfigure(config: pytest.Config) -> None:
    global _process
    shutil.rmtree(_tmp, ignore_errors=True)
    if _process is not None:
        from . import embedded_redis

        embedded_redis.stop(_process)
        _process = None
        socket = Path(os.environ["SELFHEAL_REDIS_SOCKET"])
        for leftover in (socket, socket.with_suffix(".log")):
            leftover.unlink(missing_ok=True)
