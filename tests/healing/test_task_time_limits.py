"""No patch holds a worker: a sandbox stage that outlives its Celery time limit is rejected with
the reason, its processes die, and the same worker takes the next task."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from healing.models import AuditEvent
from healing.sandbox.tasks import sandbox_modification
from selfheal_site.celery import app
from tests import factories
from tests.conftest import _database_url_for_tests
from tests.sandbox_helpers import (
    endless_modification,
    new_file_diff,
    sandbox_processes,
    scratch_dirs,
    wait_out_of,
)
from tests.services_helpers import start_worker, stop

pytestmark = pytest.mark.django_db(transaction=True)
SOFT_S = 4


@pytest.fixture
def limited_worker() -> Any:
    """A prefork worker (the launcher's pool: time limits need it) with a 4 s sandbox limit, on
    a queue of its own so that no other test worker takes these tasks."""
    queue = f"limits-{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ,
        DATABASE_URL=_database_url_for_tests(),
        SELFHEAL_SANDBOX_TIME_LIMIT_S=str(SOFT_S),
    )
    name = f"{queue}@%h"
    process = start_worker(env, name, "--concurrency", "1", queues=(queue,), pool="prefork")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the worker exited early"
        replies = app.control.ping(timeout=0.5) or []
        if any(queue in host for reply in replies for host in reply):
            break
    else:
        stop(process)
        raise RuntimeError("the worker did not answer")
    yield queue
    stop(process)


def test_it_rejects_a_sandbox_that_outlives_the_time_limit_and_frees_the_worker(
    limited_worker: str, tmp_path: Path
) -> None:
    # The sandbox's own wall time would let the endless test run two minutes.
    hung = endless_modification(tmp_path, "slow", policy_overrides={"sandbox.wall_time_s": 120})
    ws = hung.workspace
    scratch_before = scratch_dirs()
    started = time.monotonic()
    # The sender puts the limits in the message (from the annotations of its own settings, which
    # this process loaded long ago; the worker was started with the same 4 s).
    sandbox_modification.apply_async(
        (hung.pk,), queue=limited_worker, soft_time_limit=SOFT_S, time_limit=SOFT_S + 30
    )
    hung = wait_out_of(hung, "sandboxing", 60)
    took = time.monotonic() - started
    assert hung.status == "rejected", hung.status
    event = AuditEvent.objects.get(modification=hung, to_state="rejected")
    assert event.reason == f"timed out after {SOFT_S} s in sandbox"
    assert took < 30, took
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sandbox_processes():
        time.sleep(0.1)
    assert sandbox_processes() == []
    assert scratch_dirs() == scratch_before

    # The same single-process worker is free: the next patch's sandbox runs to its end.
    quick = factories.make_modification(
        ws,
        diff=new_file_diff("test_more.py", "def test_more():\n    assert True"),
        status="sandboxing",
        base_commit=ws.head_commit(),
        safety_level="SAFE",
    )
    sandbox_modification.apply_async((quick.pk,), queue=limited_worker)
    quick = wait_out_of(quick, "sandboxing", 60)
    assert quick.status in {"awaiting_approval", "approved", "applied", "applying"}, quick.status
    print(f"hung sandbox rejected after {took:.1f} s (limit {SOFT_S} s)")


def test_it_gives_every_patch_task_a_soft_and_a_hard_limit() -> None:
    from django.conf import settings

    app.loader.import_default_modules()
    for name in (
        "healing.process_modification",
        "healing.sandbox_modification",
        "healing.apply_modification",
        "healing.verify_application",
        "healing.watch_application",
    ):
        task = app.tasks[name]
        assert task.soft_time_limit == settings.SELFHEAL_TASK_TIME_LIMITS[name], name
        assert task.time_limit == task.soft_time_limit + 30, name
    # The sandbox stage outlasts two runs at the sandbox's wall-time ceiling.
    assert app.tasks["healing.sandbox_modification"].soft_time_limit > 2 * (
        settings.SANDBOX_WALL_TIME_CEILING_S
    )
    assert app.conf.task_soft_time_limit and app.conf.task_time_limit  # every other task too
