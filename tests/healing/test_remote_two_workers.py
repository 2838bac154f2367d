"""Two real Celery workers, each with its own var dir (its own mirror), sharing only PostgreSQL
and Redis: worker A is SIGKILLed in the middle of its push to a `git daemon` remote, and worker B,
which never fetched that remote, finishes the apply from what the remote says.

The kill point is deterministic: the served repository's post-receive hook blocks after the ref
moved and before `git push` returns to worker A, so A dies with the remote updated and its landing
still `pushing` — a lost acknowledgement, the case only the remote can settle."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from healing.models import AuditEvent, Modification, RemoteLanding, Workspace
from selfheal_site.celery import app
from tests import factories
from tests.apply_helpers import approved_modification, make_repo
from tests.conftest import _database_url_for_tests
from tests.remote_helpers import bare_remote, git_daemon, remote_head
from tests.services_helpers import start_worker, stop

pytestmark = [pytest.mark.django_db(transaction=True)]

HOOK = """#!/bin/sh
# Runs in receive-pack after the refs moved; `git push` waits for it to finish.
cat > /dev/null
touch '{arrived}'
i=0
while [ ! -e '{release}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
"""


@pytest.fixture(autouse=True)
def _postgresql_only(transactional_db: Any) -> None:
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip(
            "workers on several hosts share only PostgreSQL and Redis: run with DATABASE_URL "
            "(PostgreSQL) and REDIS_URL (SQLite cannot be written by two worker processes)"
        )
    from healing.actions import do_change_setting

    do_change_setting(None, "rate_limit.applications_per_window", 10000)
    do_change_setting(None, "health.min_outcomes", 10000)


@contextmanager
def _worker(name: str, var_dir: Path, queue: str) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker process with its own var dir. It consumes a queue of this test only, so a
    session-wide test worker on the same broker never takes these tasks."""
    env = dict(os.environ, DATABASE_URL=_database_url_for_tests(), SELFHEAL_VAR_DIR=str(var_dir))
    log = tempfile.TemporaryFile()  # noqa: SIM115 - read on failure, closed below
    # In a process group of its own: its git children die with it, the whole host at once.
    process = start_worker(env, f"{name}@%h", queues=(queue,), stdout=log)
    try:
        yield process
    finally:
        stop(process)
        log.close()


def _wait_ping(*names: str) -> None:
    deadline = time.monotonic() + 60
    answered: set[str] = set()
    while time.monotonic() < deadline and len(answered) < len(names):
        for reply in app.control.ping(destination=list(names), timeout=0.5) or []:
            answered.update(reply)
    assert len(answered) == len(names), f"workers did not answer: {set(names) - answered}"


def _wait(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_it_lands_once_when_a_worker_dies_mid_push_and_another_recovers(
    tmp_path: Path, settings: Any
) -> None:
    settings.SELFHEAL_MIRRORS = tmp_path / "test-process" / "mirrors"
    served = tmp_path / "served"
    bare = bare_remote(served, make_repo(tmp_path / "seed"))
    arrived, release = tmp_path / "push-arrived", tmp_path / "push-release"
    hook = bare / "hooks" / "post-receive"
    hook.write_text(HOOK.format(arrived=arrived, release=release))
    hook.chmod(0o755)
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    var_a, var_b = tmp_path / "host-a" / "var", tmp_path / "host-b" / "var"
    with (
        git_daemon(served) as url,
        _worker(f"host-a-{tag}", var_a, f"host-a-{tag}") as worker_a,
        _worker(f"host-b-{tag}", var_b, f"host-b-{tag}"),
    ):
        ws = Workspace.objects.create(
            name="two-hosts", remote_url=f"{url}repo.git", isolation_level="partial"
        )
        base = remote_head(bare)
        mod = approved_modification(ws)
        _wait_ping(f"host-a-{tag}@{os.uname().nodename}", f"host-b-{tag}@{os.uname().nodename}")

        app.send_task("healing.apply_modification", (mod.pk,), queue=f"host-a-{tag}")
        _wait(arrived.exists, 45, "worker A's push to reach the remote")
        os.killpg(worker_a.pid, signal.SIGKILL)
        worker_a.wait(timeout=10)  # reaped: its pid no longer exists, its lock is a dead one's
        release.touch()

        # The remote moved; the database still says worker A is pushing.
        landing = RemoteLanding.objects.get(modification=mod)
        assert landing.state == "pushing"
        assert remote_head(bare) == landing.new_commit
        assert Modification.objects.get(pk=mod.pk).status == "applying"

        # Beat's recovery task, taken by worker B (its own var dir: no mirror of this remote).
        app.send_task("healing.recover_applies", queue=f"host-b-{tag}")
        _wait(
            lambda: Modification.objects.get(pk=mod.pk).status != "applying",
            30,
            "worker B to settle the patch",
        )

    mod.refresh_from_db()
    head = remote_head(bare)
    ours = factories.git(
        bare, "log", "--format=%H", f"--grep=Selfheal-Modification: {mod.pk}$", "main"
    ).split()
    assert mod.status == "applied", mod.status
    assert ours == [head] == [mod.applied_commit]  # on the remote once
    assert factories.git(bare, "rev-parse", f"{head}^").strip() == base
    landing.refresh_from_db()
    assert landing.state == "pushed"
    assert not (var_b / "mirrors" / str(ws.pk) / "HEAD").exists()  # B asked the remote itself
    assert (var_a / "mirrors" / str(ws.pk) / "HEAD").is_file()  # A built the commit in its own
    events = list(AuditEvent.objects.filter(modification=mod).order_by("id"))
    steps = [(e.from_state, e.to_state) for e in events if e.to_state]
    assert steps[-2:] == [("approved", "applying"), ("applying", "applied")], steps
    applied = events[-1]
    assert applied.actor_label == "system" and f"parent {base[:10]}" in applied.reason
