"""The diagnostics' runner: real git, real sandboxes (bubblewrap under FULL), real pytest and node."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from healing.sandbox import IsolationUnavailable
from healing.sandbox_probe import bubblewrap_works
from selfdebug.fixes import make_diff
from selfdebug.runners import RunnerError, SandboxRunner
from tests.diag_helpers import workspace_with

pytestmark = pytest.mark.django_db

LEVELS = [
    "partial",
    pytest.param(
        "full",
        marks=pytest.mark.skipif(not bubblewrap_works()[0], reason="bubblewrap does not work here"),
    ),
]

FILES = {
    "src/pkg/__init__.py": "",
    "src/pkg/calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_bad():\n    assert add(1, 1) == 3\n",
    "sum.js": "module.exports = (xs) => xs.reduce((a, b) => a + b, 0);\n",
    "test/sum.js": "const test = require('node:test');\nconst assert = require('node:assert');\nconst sum = require('../sum');\n"
    "test('sums', () => assert.strictEqual(sum([1, 2]), 3));\n",
}


@pytest.mark.parametrize("level", LEVELS)
def test_it_runs_python_and_node_tests_in_the_sandbox_with_coverage(
    tmp_path: Path, level: str
) -> None:
    workspace = workspace_with(tmp_path / "r", FILES, level)
    result = SandboxRunner(timeout=120).run(workspace, coverage=True)
    outcomes = {c.nodeid: c.outcome for c in result.cases}
    assert outcomes == {
        "tests/test_calc.py::test_add": "passed",
        "tests/test_calc.py::test_bad": "failed",
        "test/sum.js::sums": "passed",
    }, result.output_tail
    assert result.totals()["failed"] == 1 and not result.error
    [bad] = result.failures
    assert bad.exception_type == "AssertionError"
    assert bad.source_frame() is not None and bad.source_frame().path == "tests/test_calc.py"
    assert "assert add(1, 1) == 3" in bad.details and bad.test.duration_ms >= 0
    assert 0 < result.coverage["percent"] <= 100
    assert result.coverage["files"]["src/pkg/calc.py"] == 100.0
    worktrees = subprocess.run(
        ["git", "-C", str(workspace.path), "worktree", "list"], capture_output=True, text=True
    ).stdout
    assert len(worktrees.strip().splitlines()) == 1  # only the repository itself


def test_it_runs_selected_tests_with_a_diff_applied(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path / "r", FILES)
    fixed = FILES["tests/test_calc.py"].replace("add(1, 1) == 3", "add(1, 1) == 2")
    diff = make_diff("tests/test_calc.py", FILES["tests/test_calc.py"], fixed)
    result = SandboxRunner(timeout=120).run(
        workspace, diff=diff, test_ids=["tests/test_calc.py::test_bad"]
    )
    assert [(c.nodeid, c.outcome) for c in result.cases] == [
        ("tests/test_calc.py::test_bad", "passed")
    ]
    assert (Path(workspace.path) / "tests/test_calc.py").read_text() == FILES[
        "tests/test_calc.py"
    ]  # HEAD untouched


def test_it_refuses_a_diff_that_does_not_apply(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path / "r", FILES)
    with pytest.raises(RunnerError, match="does not apply"):
        SandboxRunner().run(workspace, diff=make_diff("sum.js", "something else\n", "x\n"))


def test_it_fails_a_test_that_hangs_instead_of_the_run(tmp_path: Path) -> None:
    workspace = workspace_with(
        tmp_path / "r", {"test_hang.py": "def test_hang():\n    while True:\n        pass\n"}
    )
    result = SandboxRunner(timeout=15).run(workspace)
    [case] = result.failures
    assert case.outcome == "failed" and "Timeout" in case.message


def test_it_blocks_instead_of_running_with_less_isolation(tmp_path: Path, monkeypatch: Any) -> None:
    workspace = workspace_with(tmp_path / "r", FILES, "full")
    # The edge we do not own: the bwrap binary. Hide it from PATH (git stays) and from the
    # probe's cache.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git"))
    bubblewrap_works.cache_clear()
    monkeypatch.setenv("PATH", str(bin_dir))
    try:
        with pytest.raises(IsolationUnavailable, match="bubblewrap is not installed"):
            SandboxRunner(timeout=60).run(workspace)
    finally:
        bubblewrap_works.cache_clear()
