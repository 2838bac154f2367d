"""Shared by the services-failing tests: a real daphne and Celery worker as subprocesses, and
/healthz polled until it says what a test waits for."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from selfheal_site.celery_queues import worker_queues_arg

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=15) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for(port: int, want: int | None, seconds: float) -> tuple[int, dict[str, Any], float]:
    """Poll /healthz until it answers `want` (any answer at all when None); status 0 if none."""
    started = time.monotonic()
    status, body = 0, {}
    while time.monotonic() < started + seconds:
        try:
            status, body = healthz(port)
        except OSError:
            status, body = 0, {}
        if status == want or (want is None and status):
            break
        time.sleep(0.25)
    return status, body, time.monotonic() - started


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "selfheal_site.asgi:application"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def start_server_and_worker(env: dict[str, str], port: int, name: str) -> list[Any]:
    return [
        start_server(env, port),
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "selfheal_site", "worker", "-l", "warning",
             "--pool", "solo", "-n", f"{name}-{os.getpid()}@%h", "--without-mingle",
             "--without-gossip", *worker_queues_arg()],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
    ]  # fmt: skip
