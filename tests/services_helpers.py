"""The one way tests (and benchmarks) start real processes: daphne, a Celery worker, headless
Chromium; and /healthz polled until it says what a test waits for."""

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

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


Output = int | IO[Any]  # subprocess.DEVNULL or an open file


def start_server(
    env: dict[str, str], port: int, stdout: Output = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """daphne serving selfheal_site.asgi on 127.0.0.1:`port` (its output to `stdout`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "selfheal_site.asgi:application"],
        cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def wait_listening(process: subprocess.Popen[bytes], port: int, seconds: float, what: str) -> None:
    """Until something listens on `port`; RuntimeError if `process` exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{what} did not listen within {seconds:.0f} s")


def worker_argv(
    node: str, *options: str, queues: tuple[str, ...] = (), pool: str = "solo"
) -> list[str]:
    """`celery worker` named `node` (e.g. "name@%h") on `queues` (-Q, all of the project's by
    default: a worker must always name them)."""
    return [
        sys.executable, "-m", "celery", "-A", "selfheal_site", "worker", "-l", "warning",
        "--pool", pool, *options, "-n", node, "--without-mingle", "--without-gossip",
        *worker_queues_arg(*queues),
    ]  # fmt: skip


def start_worker(
    env: dict[str, str] | None,
    node: str,
    *options: str,
    queues: tuple[str, ...] = (),
    pool: str = "solo",
    stdout: Output = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """A Celery worker in a process group of its own (its sandbox children die with it); `env`
    None inherits this process's environment."""
    return subprocess.Popen(
        worker_argv(node, *options, queues=queues, pool=pool),
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def start_server_and_worker(env: dict[str, str], port: int, name: str) -> list[Any]:
    return [start_server(env, port), start_worker(env, f"{name}-{os.getpid()}@%h")]


CHROMIUM = "/usr/bin/chromium"  # Debian's, launched by path
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def chromium(*, allow_orm: bool = False) -> Iterator[Any]:
    """Headless Debian Chromium under Playwright's sync API. That API runs an event loop in this
    thread, so Django refuses ORM calls until told they are fine: `allow_orm` tells it, for
    tests that call the ORM between browser steps."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    if allow_orm:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if not allow_orm:
            pass
        elif previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
