"""Real Celery workers for a benchmark, started as `make run` starts them (by queue)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import _env  # noqa: F401 - puts the project on sys.path

from tests import services_helpers


def start_worker(name: str, *queues: str) -> subprocess.Popen[bytes]:
    return services_helpers.start_worker(None, f"{name}-{os.getpid()}@%h", queues=queues)


def wait_for_workers(count: int, seconds: float = 90) -> int:
    from selfheal_site.celery import app

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(app.control.ping(timeout=1) or []) < count:
        time.sleep(0.2)
    return len(app.control.ping(timeout=2) or [])


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """Killed, not drained: what they had queued is of no interest to the next measurement."""
    for w in workers:
        if w.poll() is None:
            os.killpg(w.pid, signal.SIGKILL)
    for w in workers:
        w.wait()
