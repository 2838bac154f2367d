"""An emergency stop reaches a sandbox running in a real Celery worker and kills its tree."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from healing.actions import do_emergency_stop
from healing.models import Modification, SandboxRun
from healing.sandbox.tasks import sandbox_modification
from tests.sandbox_helpers import (
    endless_modification,
    sandbox_processes,
    scratch_dirs,
    wait_out_of,
    wait_until_under_way,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_kills_a_running_sandbox_in_another_process(
    celery_worker_process: Any, tmp_path: Path, operator: Any
) -> None:
    mod = endless_modification(tmp_path, "stopme")
    scratch_before = scratch_dirs()

    sandbox_modification.delay(mod.pk)
    deadline = time.monotonic() + 60
    wait_until_under_way(scratch_before, deadline)
    stopped_at = time.monotonic()
    do_emergency_stop(operator, "drill")

    mod = wait_out_of(mod, "sandboxing", deadline - time.monotonic())
    assert mod.status == "blocked", mod.status
    run = SandboxRun.objects.get(modification=mod)
    assert run.limit_hit == "emergency_stop"
    # Killed long before the 30 s wall time could have struck.
    assert run.duration_ms < 20_000
    print(f"stop → blocked in {time.monotonic() - stopped_at:.2f} s")
    assert "emergency stop" in Modification.objects.get(pk=mod.pk).block_reason
    assert scratch_dirs() == scratch_before
    assert sandbox_processes() == []
