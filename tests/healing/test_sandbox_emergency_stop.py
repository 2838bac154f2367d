"""An emergency stop reaches a sandbox running in a real Celery worker and kills its tree."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from healing.actions import do_emergency_stop
from healing.models import Modification, SandboxRun
from healing.sandbox.scratch import SCRATCH_PREFIX
from healing.sandbox.tasks import sandbox_modification
from tests import factories
from tests.sandbox_helpers import ENDLESS_TEST

pytestmark = pytest.mark.django_db(transaction=True)


def _sandbox_processes() -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            cwd = proc.cwd()
            # Only this run's (the pytest plugin gives each run its own TMPDIR).
            if cwd.startswith(tempfile.gettempdir()) and SCRATCH_PREFIX in cwd:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_it_kills_a_running_sandbox_in_another_process(
    celery_worker_process: Any, tmp_path: Path, operator: Any
) -> None:
    repo = factories.make_git_repo(
        tmp_path / "repo", {"app.py": "X = 1\n", "test_app.py": "def test_ok():\n    pass\n"}
    )
    ws = factories.make_workspace(repo, name="stopme", isolation_level="partial")
    mod = factories.make_modification(
        ws,
        diff=ENDLESS_TEST,
        status="sandboxing",
        base_commit=ws.head_commit(),
        safety_level="SAFE",
    )
    scratch_before = set(Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"))

    sandbox_modification.delay(mod.pk)
    deadline = time.monotonic() + 60
    # Wait for the patched run to be under way in the worker: its scratch tree appears.
    while (
        time.monotonic() < deadline
        and not set(Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*")) - scratch_before
    ):
        time.sleep(0.05)
    time.sleep(1.0)
    stopped_at = time.monotonic()
    do_emergency_stop(operator, "drill")

    while time.monotonic() < deadline:
        mod.refresh_from_db()
        if mod.status != "sandboxing":
            break
        time.sleep(0.1)
    assert mod.status == "blocked", mod.status
    run = SandboxRun.objects.get(modification=mod)
    assert run.limit_hit == "emergency_stop"
    # Killed long before the 30 s wall time could have struck.
    assert run.duration_ms < 20_000
    print(f"stop → blocked in {time.monotonic() - stopped_at:.2f} s")
    assert "emergency stop" in Modification.objects.get(pk=mod.pk).block_reason
    assert set(Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*")) == scratch_before
    assert _sandbox_processes() == []
