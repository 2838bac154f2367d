"""The run_diagnostics task end to end: real git, real pytest subprocesses, real database."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from healing.models import AuditEvent, Modification
from healing.sandbox_probe import bubblewrap_works
from selfdebug.actions import do_request_run
from selfdebug.models import DetectedBug, DiagnosticRun, FixProposal
from selfdebug.tasks import run_diagnostics
from tests import factories
from tests.diag_helpers import corpus_repo


def _run(workspace: Any, user: Any, django_capture_on_commit_callbacks: Any) -> DiagnosticRun:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = do_request_run(workspace, user)
    # run_diagnostics.delay (and the broadcast) are sent only after commit.
    assert any("do_request_run" in getattr(c, "__qualname__", "") for c in callbacks)
    run_diagnostics(run.pk)
    run.refresh_from_db()
    return run


def test_it_diagnoses_a_failure_and_proposes_a_verified_builtin_fix(
    tmp_path: Path, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    workspace = factories.make_workspace(corpus_repo(tmp_path, "py_name_typo"), name="typo")
    run = _run(workspace, operator, django_capture_on_commit_callbacks)

    assert run.status == "done", run.error
    assert (run.total, run.passed, run.failed) == (1, 0, 1)
    assert run.coverage_percent is not None and 0 < run.coverage_percent <= 100
    report = run.report
    assert report["test_run_id"] == run.pk
    assert {"timestamp", "total_tests", "failures", "diagnostics"} <= report.keys()
    [diagnosis] = report["diagnostics"]
    assert diagnosis["test_id"] == "test_stats.py::test_total"
    assert diagnosis["error_message"] == "NameError: name 'reslt' is not defined"
    assert [p["slug"] for p in diagnosis["matched_patterns"]] == ["py-name-close-match"]
    assert diagnosis["suggested_actions"] and diagnosis["isolation"] == "real"
    [fix] = diagnosis["potential_fixes"]
    assert "+    return result\n" in fix["diff"]
    assert fix["verification"]["passed"] is True

    proposal = FixProposal.objects.get(run=run)
    assert proposal.source == "builtin:py-name-close-match"
    modification = proposal.modification
    assert modification is not None
    assert modification.source == "builtin:py-name-close-match"
    assert modification.status == "received"
    assert modification.files == ["stats.py"]
    assert modification.envelope["patch_data"]["diff"] == fix["diff"]
    assert Modification.objects.filter(source__startswith="builtin:").count() == 1

    # pyflakes saw the undefined name too, with severity, file and line.
    bug = DetectedBug.objects.get(run=run, code="undefined-name")
    assert (bug.severity, bug.path, bug.line) == ("high", "stats.py", 5)

    kinds = [e["kind"] for e in run.log["entries"]]
    assert {"enter", "exit", "state"} <= set(kinds)
    assert AuditEvent.objects.filter(kind="diagnostics.finished", workspace=workspace).exists()


def test_it_does_not_submit_a_fix_that_failed_verification(
    tmp_path: Path, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # The division guard returns 0, but this program's test wants a ValueError: the fix is
    # proposed in the report, verified as failing, and not submitted.
    repo = factories.make_git_repo(
        tmp_path / "r",
        {
            "mean.py": "def average(xs):\n    return sum(xs) / len(xs)\n",
            "test_mean.py": "import pytest\nfrom mean import average\n\n\ndef test_empty():\n    assert average([]) == -1\n",
        },
    )
    workspace = factories.make_workspace(repo, name="mean")
    run = _run(workspace, operator, django_capture_on_commit_callbacks)
    [fix] = run.report["diagnostics"][0]["potential_fixes"]
    assert fix["verification"]["passed"] is False
    proposal = FixProposal.objects.get(run=run)
    assert proposal.modification is None
    assert not Modification.objects.exists()


def test_it_runs_diagnostics_through_the_isolated_sandbox(
    tmp_path: Path, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    workspace = factories.make_workspace(
        corpus_repo(tmp_path, "py_name_typo"),
        name="sandboxed",
        isolation_level="full",
        policy_overrides={
            "diagnostics.static_analysis": False,
            "diagnostics.coverage": False,
        },
    )
    run = _run(workspace, operator, django_capture_on_commit_callbacks)
    assert run.status == "done", run.error
    assert run.backend == "sandbox"
    assert run.failed >= 1
    assert any(d["matched_patterns"] for d in run.report["diagnostics"])


def test_it_runs_a_claimed_run_only_once(
    tmp_path: Path, operator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    workspace = factories.make_workspace(
        corpus_repo(tmp_path, "py_name_typo"),
        name="once",
        policy_overrides={"diagnostics.static_analysis": False, "diagnostics.coverage": False},
    )
    run = _run(workspace, operator, django_capture_on_commit_callbacks)
    assert run.status == "done"
    assert run_diagnostics(run.pk) is None  # not queued any more: nobody runs it twice
    assert FixProposal.objects.filter(run=run).count() == 1


def test_it_blocks_a_run_whose_isolation_level_cannot_be_had(
    tmp_path: Path, operator: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    workspace = factories.make_workspace(
        corpus_repo(tmp_path, "py_name_typo"), name="nobwrap", isolation_level="full"
    )
    # The edge we do not own: the bwrap binary. Hide it from PATH (git stays) and from the
    # probe's cache.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "git")
    bubblewrap_works.cache_clear()
    monkeypatch.setenv("PATH", str(bin_dir))
    try:
        run = _run(workspace, operator, django_capture_on_commit_callbacks)
    finally:
        bubblewrap_works.cache_clear()
    assert run.status == "failed"
    assert run.error.startswith("blocked:") and "bubblewrap is not installed" in run.error
    assert run.total == 0 and not FixProposal.objects.filter(run=run).exists()
