"""`make run`'s launcher, for real: it sets up, serves, reports healthy, and Ctrl-C leaves no
process behind (embedded Redis included)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.services_helpers import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_it_starts_everything_reports_healthy_and_stops_without_orphans(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "SELFHEAL_REDIS_SOCKET"}}
    env.update(
        SELFHEAL_VAR_DIR=str(tmp_path / "var"),
        SELFHEAL_PORT=str(port),
        DATABASE_URL=f"sqlite:///{tmp_path / 'var' / 'db.sqlite3'}",
        SELFHEAL_ADMIN_PASSWORD="launcher-test-pw-1",
    )
    launcher = subprocess.Popen(
        [sys.executable, "-m", "selfheal_site.launcher"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    descendants: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        status, body = 0, {}
        while time.monotonic() < deadline:
            assert launcher.poll() is None, launcher.stdout.read() if launcher.stdout else ""
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert status == 200, body
        assert body["down"] == []
        descendants = psutil.Process(launcher.pid).children(recursive=True)
        assert any("redis-server" in " ".join(p.cmdline()) for p in descendants)
    finally:
        launcher.send_signal(signal.SIGINT)
        output, _ = launcher.communicate(timeout=60)
    assert "Selfheal stopped" in output
    time.sleep(0.5)
    alive = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], [p.cmdline() for p in alive]
