"""The local test runner: real git worktrees, real pytest and node subprocesses, JUnit XML."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from healing.diagnostics.fixes import make_diff
from healing.diagnostics.runners import RUNNERS, LocalRunner, RunnerError, get_runner
from tests.diag_helpers import repo_with

FILES = {
    "src/pkg/__init__.py": "",
    "src/pkg/calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_bad():\n    assert add(1, 1) == 3\n",
    "sum.js": "module.exports = (xs) => xs.reduce((a, b) => a + b, 0);\n",
    "test/sum.js": "const test = require('node:test');\nconst assert = require('node:assert');\nconst sum = require('../sum');\n"
    "test('sums', () => assert.strictEqual(sum([1, 2]), 3));\n",
}


def _ws(repo: Path) -> SimpleNamespace:
    return SimpleNamespace(path=str(repo))


def test_it_runs_python_and_node_tests_on_a_scratch_tree_and_cleans_up(tmp_path: Path) -> None:
    repo = repo_with(tmp_path / "r", FILES)
    result = LocalRunner(timeout=120).run(_ws(repo), coverage=True)
    outcomes = {c.nodeid: c.outcome for c in result.cases}
    assert outcomes == {
        "tests/test_calc.py::test_add": "passed",
        "tests/test_calc.py::test_bad": "failed",
        "test/sum.js::sums": "passed",
    }
    assert result.totals()["failed"] == 1 and not result.error
    assert 0 < result.coverage["percent"] <= 100
    worktrees = subprocess.run(
        ["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True
    ).stdout
    assert len(worktrees.strip().splitlines()) == 1  # only the repository itself


def test_it_runs_selected_tests_with_a_diff_applied(tmp_path: Path) -> None:
    repo = repo_with(tmp_path / "r", FILES)
    fixed = FILES["tests/test_calc.py"].replace("add(1, 1) == 3", "add(1, 1) == 2")
    diff = make_diff("tests/test_calc.py", FILES["tests/test_calc.py"], fixed)
    result = LocalRunner(timeout=120).run(
        _ws(repo), diff=diff, test_ids=["tests/test_calc.py::test_bad"]
    )
    assert [(c.nodeid, c.outcome) for c in result.cases] == [
        ("tests/test_calc.py::test_bad", "passed")
    ]
    assert (repo / "tests/test_calc.py").read_text() == FILES[
        "tests/test_calc.py"
    ]  # HEAD untouched


def test_it_refuses_a_diff_that_does_not_apply(tmp_path: Path) -> None:
    repo = repo_with(tmp_path / "r", FILES)
    with pytest.raises(RunnerError, match="does not apply"):
        LocalRunner().run(_ws(repo), diff=make_diff("sum.js", "something else\n", "x\n"))


def test_it_fails_a_test_that_hangs_instead_of_the_run(tmp_path: Path) -> None:
    repo = repo_with(
        tmp_path / "r", {"test_hang.py": "def test_hang():\n    while True:\n        pass\n"}
    )
    result = LocalRunner(timeout=15).run(_ws(repo))
    [case] = result.cases
    assert case.outcome == "failed" and "Timeout" in case.message


def test_it_names_its_backends() -> None:
    assert {"local", "sandbox"} <= set(RUNNERS)
    with pytest.raises(RunnerError, match="No test runner"):
        get_runner("nope")


def test_it_runs_the_tests_without_network(tmp_path: Path) -> None:
    import socket

    from healing.sandbox.backends import network_isolation

    if not network_isolation():
        pytest.skip("the kernel refuses unshare here")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        test = (
            "import socket\n\n\n"
            "def test_reaches_the_listener():\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        )
        repo = repo_with(tmp_path / "r", {"test_net.py": test})
        result = LocalRunner(timeout=60).run(_ws(repo))
    [case] = result.cases
    # Outside the namespace the connection would succeed; inside there is no such listener.
    assert case.outcome == "failed", result.output_tail
    assert "refused" in case.details.lower() or "unreachable" in case.details.lower(), case.details
