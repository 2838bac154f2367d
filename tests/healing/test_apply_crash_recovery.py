"""kill -9 of a real apply process at every checkpoint (and at random instants) leaves the
repository byte-identical to before or to after, once recovery has run."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from healing.apply import do_apply
from healing.apply.recovery import recover_in_flight
from healing.models import ApplyJournal, Modification
from tests import factories
from tests.apply_helpers import WIDE_FIX, approved_modification, make_repo, snapshot
from tests.conftest import _database_url_for_tests

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_rate_limit(transactional_db: Any) -> None:
    # Dozens of applies (and crashed, failed ones) in a minute are the point here, not a runaway
    # engine: keep the rate limit and the outcome-rate health check out of the way.
    from healing.actions import do_change_setting

    do_change_setting(None, "rate_limit.applications_per_window", 10000)
    do_change_setting(None, "health.min_outcomes", 10000)


def _harness(mod_id: int, k: int, backups: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, DATABASE_URL=_database_url_for_tests())
    return subprocess.Popen(
        [sys.executable, "-m", "tests.apply_crash_harness", str(mod_id), str(k), str(backups)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _expected_after(tmp_path: Path, settings: Any) -> dict[str, str]:
    settings.SELFHEAL_BACKUP_DIR = str(tmp_path / "ref-backups")
    ws = factories.make_workspace(make_repo(tmp_path / "reference"), name="reference")
    mod = approved_modification(ws, diff=WIDE_FIX)
    do_apply(mod)
    mod.refresh_from_db()
    assert mod.status == "applied"
    return snapshot(ws.repo_path)["files"]


def _check(ws: Any, mod: Modification, before: dict[str, Any], after_files: dict[str, str]) -> str:
    recover_in_flight()
    mod.refresh_from_db()
    now = snapshot(ws.repo_path)
    assert now["status"] == "", now["status"]
    assert now["branch"] == before["branch"]
    if now["head"] == before["head"]:
        assert now["files"] == before["files"]
        assert mod.status in {"failed", "approved"}, (mod.status, mod.block_reason)
        return "before"
    assert factories.git(ws.repo_path, "rev-parse", "HEAD^").strip() == before["head"]
    assert now["files"] == after_files
    assert mod.status == "applied" and mod.applied_commit == now["head"]
    return "after"


def test_it_survives_a_kill_at_every_checkpoint(tmp_path: Path, settings: Any) -> None:
    after_files = _expected_after(tmp_path, settings)
    outcomes: dict[int, str] = {}
    k = 0
    while True:
        ws = factories.make_workspace(make_repo(tmp_path / f"r{k}"), name=f"crash{k}")
        mod = approved_modification(ws, diff=WIDE_FIX)
        before = snapshot(ws.repo_path)
        proc = _harness(mod.pk, k, tmp_path / "backups")
        out, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            outcomes[k] = _check(ws, mod, before, after_files)
            break
        assert proc.returncode == -9, err
        outcomes[k] = _check(ws, mod, before, after_files)
        k += 1
    assert k >= 15, f"only {k} checkpoints: the harness is not reaching the steps"
    # Both ends are reached: early kills undo, late kills finish.
    assert outcomes[0] == "before" and outcomes[k - 1] == "after"
    assert not ApplyJournal.objects.in_flight().exists()


def test_it_survives_kills_at_random_instants(tmp_path: Path, settings: Any) -> None:
    after_files = _expected_after(tmp_path, settings)
    rng = random.Random(4)
    seen = set()
    for i in range(8):
        ws = factories.make_workspace(make_repo(tmp_path / f"t{i}"), name=f"timed{i}")
        mod = approved_modification(ws, diff=WIDE_FIX)
        before = snapshot(ws.repo_path)
        proc = _harness(mod.pk, -1, tmp_path / "backups")
        time.sleep(
            rng.uniform(0.3, 1.6)
        )  # Django start-up takes most of this; the apply is the rest
        proc.kill()
        proc.communicate(timeout=60)
        seen.add(_check(ws, mod, before, after_files))
    assert seen  # each run ended before or after, never in between
