"""kill -9 of a worker in the middle of a remote apply (its git push too), then recovery by a
worker with another var dir: the remote has the commit once or not at all, and the patch says
which."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from healing.apply.recovery import recover_in_flight
from healing.models import Modification, Workspace
from tests import factories
from tests.apply_helpers import approved_modification, make_repo
from tests.conftest import _database_url_for_tests
from tests.remote_helpers import bare_remote, git_daemon, remote_head

pytestmark = [pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
TRIALS = 6


@pytest.fixture(autouse=True)
def _no_rate_limit(transactional_db: Any) -> None:
    from healing.actions import do_change_setting

    do_change_setting(None, "rate_limit.applications_per_window", 10000)
    do_change_setting(None, "health.min_outcomes", 10000)


def _kill_during_apply(mod: Modification, mirrors: Path, delay: float) -> bool:
    env = dict(os.environ, DATABASE_URL=_database_url_for_tests())
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.remote_crash_harness", str(mod.pk), str(mirrors)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its git push is in its group: the whole host dies
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        mod.refresh_from_db()
        if mod.status != "approved":
            break
        time.sleep(0.01)
    time.sleep(delay)
    killed = process.poll() is None
    if killed:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return killed


def test_it_lands_once_or_not_at_all_when_a_worker_dies_mid_push(
    tmp_path: Path, settings: Any
) -> None:
    settings.SELFHEAL_MIRRORS = tmp_path / "worker-b" / "mirrors"  # the survivor's own disk
    outcomes = []
    rng = random.Random(18)  # noqa: S311 - instants, not secrets
    for trial in range(TRIALS):
        served = tmp_path / f"served{trial}"
        bare = bare_remote(served, make_repo(tmp_path / f"seed{trial}"))
        with git_daemon(served) as url:
            ws = Workspace.objects.create(
                name=f"crash{trial}", remote_url=f"{url}repo.git", isolation_level="partial"
            )
            base = remote_head(bare)
            mod = approved_modification(ws)
            killed = _kill_during_apply(mod, tmp_path / "worker-a" / "mirrors", rng.uniform(0, 0.5))

            recover_in_flight()

            mod.refresh_from_db()
            head = remote_head(bare)
            ours = factories.git(
                bare, "log", "--format=%H", f"--grep=Selfheal-Modification: {mod.pk}$", "main"
            ).split()
            if mod.status == "applied":
                assert head == mod.applied_commit and ours == [head]
                assert factories.git(bare, "rev-parse", f"{head}^").strip() == base
            else:
                assert mod.status == "failed", mod.status
                assert head == base and ours == []
            outcomes.append((killed, mod.status))
    assert any(killed for killed, _ in outcomes), outcomes
