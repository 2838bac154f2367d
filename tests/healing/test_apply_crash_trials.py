"""100 kill -9 trials at random points during apply AND rollback (the crash-safety figure).

One Django process forks a child per trial (tests/apply_crash_forker.py), which SIGKILLs itself
at a random checkpoint of the landing (and a random few milliseconds after it, so kills also fall
between checkpoints). After recovery every workspace is byte-identical to before or to after the
operation, no journal stays in flight, and every backup of an applied patch still reads back
with a good checksum. Prints: trials, killed, survived."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from healing.apply import backups as backup_store
from healing.apply import do_apply
from healing.apply.recovery import recover_in_flight
from healing.models import ApplyJournal, Backup, Modification
from tests import factories
from tests.apply_helpers import WIDE_FIX, approved_modification, make_repo, snapshot
from tests.conftest import _database_url_for_tests

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
APPLY_TRIALS = 50
ROLLBACK_TRIALS = 50


@pytest.fixture(autouse=True)
def _no_rate_limit(transactional_db: Any) -> None:
    from healing.actions import do_change_setting

    do_change_setting(None, "rate_limit.applications_per_window", 10000)
    do_change_setting(None, "health.min_outcomes", 10000)


def _fork(trials: list[dict[str, Any]], tmp_path: Path, name: str) -> list[dict[str, Any]]:
    spec = tmp_path / f"{name}.json"
    spec.write_text(json.dumps(trials))
    env = dict(os.environ, DATABASE_URL=_database_url_for_tests())
    proc = subprocess.run(
        [sys.executable, "-m", "tests.apply_crash_forker", str(spec), str(tmp_path / "backups")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == len(trials), proc.stdout[-2000:] + proc.stderr[-2000:]
    return lines


def _workspace(
    tmp_path: Path, name: str, applied: bool, settings: Any
) -> tuple[Any, Any, dict, dict]:
    ws = factories.make_workspace(make_repo(tmp_path / name), name=name)
    mod = approved_modification(ws, diff=WIDE_FIX)
    before = snapshot(ws.repo_path)
    if applied:
        settings.SELFHEAL_BACKUP_DIR = str(tmp_path / "backups")
        do_apply(mod)
        mod.refresh_from_db()
        assert mod.status == "applied", mod.block_reason
    return ws, mod, before, snapshot(ws.repo_path)


def test_it_survives_100_kills_at_random_points_of_apply_and_rollback(
    tmp_path: Path, settings: Any
) -> None:
    rng = random.Random(9)
    # How many checkpoints each operation passes, from one uncrashed run of each.
    _, probe_apply, *_ = _workspace(tmp_path, "probe-apply", False, settings)
    _, probe_rb, *_ = _workspace(tmp_path, "probe-rollback", True, settings)
    counts = _fork(
        [
            {"mod": probe_apply.pk, "op": "apply", "k": -1, "delay": 0},
            {"mod": probe_rb.pk, "op": "rollback", "k": -1, "delay": 0},
        ],
        tmp_path,
        "probe",
    )
    n_apply, n_rollback = counts[0]["checkpoints"], counts[1]["checkpoints"]
    assert n_apply >= 10 and n_rollback >= 3, counts

    cases = []
    trials = []
    for i in range(APPLY_TRIALS + ROLLBACK_TRIALS):
        op = "apply" if i < APPLY_TRIALS else "rollback"
        ws, mod, before, after = _workspace(tmp_path, f"{op}{i}", op == "rollback", settings)
        k = rng.randrange(n_apply if op == "apply" else n_rollback)
        delay = rng.choice([0.0, rng.uniform(0, 0.02)])
        cases.append((op, ws, mod, before, after))
        trials.append({"mod": mod.pk, "op": op, "k": k, "delay": delay})
    results = _fork(trials, tmp_path, "trials")
    recover_in_flight()

    expected_after_apply = None
    survived = 0
    ends: dict[str, int] = {}
    for (op, ws, mod, before, after), result in zip(cases, results, strict=True):
        assert "error" not in result, result
        mod = Modification.objects.get(pk=mod.pk)
        now = snapshot(ws.repo_path)
        assert now["status"] == "" and now["branch"] == before["branch"], (op, now)
        if op == "apply":
            if now["head"] == before["head"]:
                assert now["files"] == before["files"]
                assert mod.status in {"failed", "approved"}, mod.status
                end = "apply:before"
            else:
                expected_after_apply = expected_after_apply or now["files"]
                assert now["files"] == expected_after_apply
                assert factories.git(ws.repo_path, "rev-parse", "HEAD^").strip() == before["head"]
                assert mod.status == "applied" and mod.applied_commit == now["head"]
                end = "apply:after"
        else:
            if now["head"] == after["head"]:
                assert now["files"] == after["files"]
                assert mod.status == "applied", mod.status
                end = "rollback:before"
            else:
                assert now["files"] == before["files"]
                assert factories.git(ws.repo_path, "rev-parse", "HEAD^").strip() == after["head"]
                assert mod.status == "rolled_back", mod.status
                end = "rollback:after"
        if mod.applied_commit:
            # No backup lost: the backup taken at apply time reads back with good checksums.
            backup = Backup.objects.filter(modification=mod).order_by("-created_at").first()
            assert backup is not None, (op, mod.pk)
            backup_store.contents(backup)
        ends[end] = ends.get(end, 0) + 1
        survived += 1
    assert not ApplyJournal.objects.in_flight().exists()
    killed = sum(1 for r in results if r["killed"])
    print(
        f"\ncrash trials: {len(trials)} ({APPLY_TRIALS} apply, {ROLLBACK_TRIALS} rollback), "
        f"killed {killed}, survived {survived}; ends: {ends}; checkpoints apply {n_apply}, "
        f"rollback {n_rollback}"
    )
    assert survived == len(trials)
    assert killed >= 80, f"only {killed} of {len(trials)} trials were actually killed"
