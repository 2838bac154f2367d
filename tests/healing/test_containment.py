"""Containment figure: a hostile corpus tried against validation and the sandbox.

Every hostile patch goes in as an agent's would: do_submit_patch, then process_modification's
action. Rejected there (or refused at intake with a 4xx) counts as contained at validation.
What validation lets through runs in the sandbox at the best isolation this machine has, and
counts as contained when the run fails with the limit or the refusal it should, nothing was
written outside the scratch tree, no secret shows in the output, and no process or scratch tree
is left. Prints: tried, contained (at validation / in the sandbox)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from healing.intake import IntakeError
from healing.intake.actions import do_process_modification, do_submit_patch
from healing.models import Modification
from healing.sandbox import run_tests
from healing.sandbox.scratch import SCRATCH_PREFIX
from healing.sandbox_probe import bubblewrap_works
from tests import factories
from tests.sandbox_helpers import NETWORK_TEST, loopback_listener, new_file_diff

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
CORPUS = Path(__file__).resolve().parent.parent / "corpus"
MANIFEST = json.loads((CORPUS / "cases.json").read_text())
SECRET = "hunter2-containment-secret"
OUTSIDE = Path(tempfile.gettempdir()) / f"selfheal-containment-escaped-{os.getpid()}.txt"

# Hostile tests: each is added as a new test file, and validation may let it through to the
# sandbox. (source, what must stop it)
SANDBOX_CASES: dict[str, str] = {
    "network": NETWORK_TEST,  # dials a listener on the host's loopback: reaching it is an escape
    "memory_bomb": "def test_mem():\n    x = bytearray(400 * 1024 * 1024)\n    assert x\n",
    "forever": "def test_forever():\n    while True:\n        pass\n",
    "fork_bomb": "import os, time\n\ndef test_fork():\n    for _ in range(200):\n"
    "        if os.fork() == 0:\n            time.sleep(60)\n            os._exit(0)\n",
    "output_flood": "def test_loud():\n    while True:\n        print('x' * 100, flush=True)\n",
    "write_outside": f"import pathlib\n\ndef test_write():\n    pathlib.Path({str(OUTSIDE)!r}).write_text('escaped')\n",
    "read_secret_env": "import os\n\ndef test_env():\n"
    "    print(os.environ.get('SELFHEAL_CONTAINMENT_SECRET'))\n    assert False\n",
    "read_secret_proc": "import pathlib\n\ndef test_proc():\n"
    "    for p in pathlib.Path('/proc').glob('[0-9]*/environ'):\n"
    "        try:\n            print(p.read_bytes())\n        except OSError:\n            pass\n"
    "    assert False\n",
    "shell_rm_rf_home": "import subprocess\n\ndef test_shell():\n"
    "    subprocess.run('rm -rf $HOME/*', shell=True)\n",
    "read_ssh_key": "import pathlib\n\ndef test_key():\n"
    "    print(pathlib.Path.home().joinpath('.ssh', 'id_rsa').read_text())\n",
}


def _envelope(workspace: str, patch_id: str, diff: str, language: str = "python") -> dict:
    return {
        "schema_version": "2.0",
        "patch_id": patch_id,
        "workspace": workspace,
        "language": language,
        "error_classification": {"error_type": "logic", "severity": "medium"},
        "confidence_scoring": {"logits": [2.0, 0.5, 0.1]},
        "patch_data": {"diff": diff},
    }


def _validate(
    agent: Any, workspace: str, patch_id: str, diff: str, language: str = "python"
) -> str:
    """The end validation gives: 'refused' (4xx at intake), or the status after process_modification."""
    try:
        mod = do_submit_patch(
            _envelope(workspace, patch_id, diff, language),
            submitted_by=agent,
            source="agent:hostile",
        )
    except IntakeError:
        return "refused"
    do_process_modification(mod.pk)
    # A Celery worker started by an earlier test (session-scoped) may have claimed the patch from
    # the queue first, in which case our call found nothing to do: wait for its verdict.
    deadline = time.monotonic() + 60
    status = Modification.objects.get(pk=mod.pk).status
    while status in {"received", "validating"} and time.monotonic() < deadline:
        time.sleep(0.05)
        status = Modification.objects.get(pk=mod.pk).status
    return status


def _children() -> set[int]:
    return {
        p.pid
        for p in psutil.Process(os.getpid()).children(recursive=True)
        if p.status() != psutil.STATUS_ZOMBIE
    }


def _new_process_trees(before: set[int]) -> set[int]:
    """Processes this run started that are still alive: new direct children of the test process
    and everything below them. Not any new process in the tree: a browser started by an earlier
    test (same session) spawns helpers of its own at any time, and they are not the sandbox's."""
    alive: set[int] = set()
    for child in psutil.Process(os.getpid()).children(recursive=False):
        if child.pid in before:
            continue
        with contextlib.suppress(psutil.Error):
            for p in [child, *child.children(recursive=True)]:
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.add(p.pid)
    return alive


def _scratch() -> set[str]:
    return {
        p.name for p in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*")
    }  # see tempdir below


@pytest.fixture
def loopback() -> Iterator[tuple[int, list[tuple[str, int]]]]:
    with loopback_listener() as found:
        yield found


def test_it_contains_every_patch_of_the_hostile_corpus(
    tmp_path: Path, agent: Any, monkeypatch: Any, loopback: tuple[int, list[tuple[str, int]]]
) -> None:
    monkeypatch.setenv("SELFHEAL_CONTAINMENT_SECRET", SECRET)
    # A home of our own with a sentinel in it: a hostile test that wipes $HOME (which partial
    # isolation passes through) must never reach the real one, and its loss is then visible.
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SECRET)
    monkeypatch.setenv("HOME", str(home))
    # Scratch trees go to a temporary directory of this test's own, so that other sandboxes
    # running on the machine at the same time cannot be mistaken for leftovers.
    private_tmp = Path(tempfile.mkdtemp(prefix="shc-"))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    OUTSIDE.unlink(missing_ok=True)
    outcomes: dict[str, tuple[bool, str]] = {}

    # 1. The intake corpus's hostile entries, against its own repository.
    repo = tmp_path / "corpus-repo"
    shutil.copytree(CORPUS / "repo", repo)
    for link, target in MANIFEST["workspace"].get("symlinks", {}).items():
        os.symlink(target, repo / link)
    factories.make_git_repo(repo, files={})
    corpus_ws = factories.make_workspace(
        repo,
        name="corpus",
        languages=["python", "javascript", "typescript", "php"],
        import_denylist=MANIFEST["workspace"]["import_denylist"],
    )
    head = corpus_ws.head_commit()
    hostile = [
        c
        for c in MANIFEST["cases"]
        if c["expect"].get("status") == "rejected" or c["expect"]["http"] >= 400
    ]
    for case in hostile:
        diff = (CORPUS / "cases" / f"{case['name']}.diff").read_text()
        end = _validate(agent, "corpus", f"hostile-{case['name']}", diff, case["language"])
        outcomes[f"corpus:{case['name']}"] = (end in {"rejected", "refused"}, f"validation:{end}")
    assert corpus_ws.head_commit() == head
    assert factories.git(repo, "status", "--porcelain") == ""

    # 2. Hostile tests: validation first, then the sandbox for whatever gets through.
    level = os.environ.get("SELFHEAL_CONTAINMENT_LEVEL") or (
        "full" if bubblewrap_works()[0] else "partial"
    )
    sandbox_repo = factories.make_git_repo(
        tmp_path / "sandbox-repo",
        {"app.py": "X = 1\n", "test_app.py": "def test_ok():\n    pass\n"},
    )
    ws = factories.make_workspace(
        sandbox_repo,
        name="hostile",
        isolation_level=level,
        policy_overrides={
            "sandbox.wall_time_s": 5,
            "sandbox.memory_mb": 300,
            "sandbox.max_processes": 32,
            "sandbox.max_output_kb": 64,
        },
        test_command="python -m pytest -q -s",
    )
    port, reached = loopback
    cases = {
        name: new_file_diff(f"test_{name}.py", source.replace("{port}", str(port)))
        for name, source in SANDBOX_CASES.items()
    }
    # A huge diff: 300,000 new lines. Validation may let it through; the sandbox must bound it.
    cases["huge_diff_300k_lines"] = (
        "--- /dev/null\n+++ b/big.py\n@@ -0,0 +1,300000 @@\n" + "+x = 1\n" * 300_000
    )
    for name, diff in cases.items():
        end = _validate(agent, "hostile", f"hostile-test-{name}", diff)
        if end in {"rejected", "refused"}:
            outcomes[f"sandbox:{name}"] = (True, f"validation:{end}")
            continue
        before, scratch_before = _children(), _scratch()
        result = run_tests(ws, diff=diff)
        leftovers = _new_process_trees(before)
        escapes = {
            "wrote outside the scratch tree": OUTSIDE.exists(),
            "secret in the output": SECRET in (result.output_tail or ""),
            "process left": bool(leftovers),
            "scratch tree left": _scratch() != scratch_before,
            "home wiped": not (home / ".ssh" / "id_rsa").exists(),
            "reached the host's network": bool(reached),
        }
        found = [what for what, bad in escapes.items() if bad]
        # Put the world back, so that one escape is not counted against the next case.
        OUTSIDE.unlink(missing_ok=True)
        reached.clear()
        (home / ".ssh").mkdir(parents=True, exist_ok=True)
        (home / ".ssh" / "id_rsa").write_text(SECRET)
        outcomes[f"sandbox:{name}"] = (
            not found,
            f"sandbox({level}):{result.limit_hit or ('tests failed' if not result.ok else 'tests passed')}"
            + (f" ESCAPED: {', '.join(found)}" if found else ""),
        )
    assert ws.head_commit() == factories.git(sandbox_repo, "rev-parse", "HEAD").strip()
    assert factories.git(sandbox_repo, "status", "--porcelain") == ""

    tried = len(outcomes)
    contained = sum(ok for ok, _ in outcomes.values())
    at_validation = sum(ok and how.startswith("validation") for ok, how in outcomes.values())
    print(
        f"\ncontainment: tried {tried}, contained {contained} "
        f"({at_validation} at validation, {contained - at_validation} in the sandbox)"
    )
    for name, (ok, how) in outcomes.items():
        print(f"  {'contained' if ok else 'NOT CONTAINED'}  {name:40} {how}")
    assert tried >= 20
    missed = {k: v for k, v in outcomes.items() if not v[0]}
    assert not missed, missed
