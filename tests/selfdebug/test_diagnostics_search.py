"""Repair by search: single-token mutants of the functions a failing assertion calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfdebug.logger import DiagnosticLogger
from selfdebug.runners import SandboxRunner, head_tree
from selfdebug.search import search_fix
from tests.diag_helpers import workspace_with

pytestmark = pytest.mark.django_db

FILES = {
    "grades.py": """
        def passed(score, bar=50):
            return score > bar


        def label(score):
            return "pass" if passed(score) else "fail"
    """,
    "test_grades.py": """
        from grades import label, passed


        def test_at_the_bar():
            assert passed(50)


        def test_labels():
            assert label(70) == "pass"
            assert label(10) == "fail"
    """,
}


def _search(tmp_path: Path, budget: int):  # type: ignore[no-untyped-def]
    workspace = workspace_with(tmp_path / "r", FILES)
    runner = SandboxRunner(timeout=60)
    baseline = runner.run(workspace)
    [case] = baseline.failures
    logger = DiagnosticLogger("t")
    tree = head_tree(workspace)
    return search_fix(
        runner, workspace, tree, case, {case.nodeid}, logger, budget=budget, pattern="p"
    ), logger


def test_it_finds_the_comparison_that_makes_the_test_pass_without_breaking_another(
    tmp_path: Path,
) -> None:
    found, logger = _search(tmp_path, budget=10)
    assert found is not None
    fix, verdict = found
    assert fix.template == "search.python_mutation"
    assert "-    return score > bar\n+    return score >= bar\n" in fix.diff
    assert verdict["passed"] and verdict["all_pass"]
    assert any(e.get("name") == "search_fix" for e in logger.entries)


def test_it_gives_up_within_its_budget(tmp_path: Path) -> None:
    found, logger = _search(tmp_path, budget=0)
    assert found is None
    exit_entry = next(
        e for e in logger.entries if e["kind"] == "exit" and e["name"] == "search_fix"
    )
    assert exit_entry["result"] == {"tried": 0, "found": False}
