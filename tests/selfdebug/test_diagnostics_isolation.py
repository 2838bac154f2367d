"""Progressive isolation with real reruns in the sandbox: real, flaky and order-dependent
failures, and narrowing."""

from __future__ import annotations

from pathlib import Path

import pytest

from selfdebug.isolation import FLAKY, ORDER_DEPENDENT, REAL, Isolator
from selfdebug.logger import DiagnosticLogger
from selfdebug.runners import SandboxRunner
from tests.diag_helpers import repo_with

pytestmark = pytest.mark.django_db


def _isolate(repo: Path, target: str, budget: int = 30, repeats: int = 2):  # type: ignore[no-untyped-def]
    from tests import factories

    runner = SandboxRunner(timeout=120)
    workspace = factories.make_workspace(repo)
    baseline = runner.run(workspace)
    logger = DiagnosticLogger("t")
    isolator = Isolator(runner, workspace, logger, budget=budget, repeats=repeats)
    return baseline, isolator.classify(baseline, target), logger


def test_it_calls_a_failure_that_fails_alone_every_time_real(tmp_path: Path) -> None:
    repo = repo_with(
        tmp_path / "r",
        {"test_a.py": "def test_ok():\n    pass\n\n\ndef test_bad():\n    assert 1 == 2\n"},
    )
    baseline, verdict, _ = _isolate(repo, "test_a.py::test_bad")
    assert [c.nodeid for c in baseline.failures] == ["test_a.py::test_bad"]
    assert verdict.verdict == REAL and verdict.reruns == 2


def test_it_narrows_an_order_dependent_failure_to_the_test_that_breaks_it(tmp_path: Path) -> None:
    repo = repo_with(
        tmp_path / "r",
        {
            "state.py": "SEEN = []\n",
            "test_a.py": """
                import state


                def test_one():
                    pass


                def test_pollutes():
                    state.SEEN.append(1)


                def test_three():
                    pass


                def test_four():
                    pass


                def test_needs_clean_state():
                    assert state.SEEN == []
            """,
        },
    )
    _, verdict, logger = _isolate(repo, "test_a.py::test_needs_clean_state")
    assert verdict.verdict == ORDER_DEPENDENT
    assert verdict.culprits == ["test_a.py::test_pollutes"]
    assert any(e["kind"] == "enter" and e["name"] == "rerun" for e in logger.entries)


def test_it_calls_a_failure_that_only_sometimes_fails_alone_flaky(tmp_path: Path) -> None:
    # Every sandboxed run starts afresh (nothing it writes outlives it), so the flakiness is a
    # coin: with 12 reruns, all failing (called real) has odds of 1 in 4096.
    repo = repo_with(
        tmp_path / "r",
        {
            "test_a.py": """
                import os


                def test_sometimes():
                    assert os.urandom(1)[0] % 2 == 0
            """
        },
    )
    _, verdict, logger = _isolate(repo, "test_a.py::test_sometimes", repeats=12)
    assert verdict.verdict == FLAKY, verdict
    reruns = [e for e in logger.entries if e["kind"] == "enter" and e["name"] == "rerun"]
    assert len(reruns) == verdict.reruns == 12  # alone, every time


def test_it_stops_when_the_rerun_budget_is_spent(tmp_path: Path) -> None:
    repo = repo_with(tmp_path / "r", {"test_a.py": "def test_bad():\n    assert 0\n"})
    _, verdict, _ = _isolate(repo, "test_a.py::test_bad", budget=0)
    assert verdict.verdict == ""
    assert verdict.note == "out of rerun budget"
