"""Run the diagnostics over a directory of small buggy programs and count honestly.

Each program directory becomes a fresh git repository; the engine runs its tests in the sandbox
(FULL where this machine has it, else PARTIAL), diagnoses the failures with the shipped patterns,
proposes template fixes and re-runs the tests with each fix. Needs the database (tunables, the
emergency stop). Used by bench/diagnostics_corpus.py and tests/selfdebug/test_diagnostics_corpus.py.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healing.models import Workspace
from healing.sandbox import capabilities

from .diagnostic_pass import Options, diagnose_workspace
from .logger import DiagnosticLogger
from .patterns import PatternSpec, seed_patterns
from .runners import SandboxRunner


@dataclass
class ProgramResult:
    name: str
    failures: int = 0
    diagnosed: int = 0  # failures with at least one matched pattern (catch-alls excluded)
    proposed: int = 0  # failures with at least one validated fix
    fixed: int = 0  # failures whose proposed fix makes that test pass without breaking another
    patterns: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    isolation: list[str] = field(default_factory=list)
    error: str = ""


CATCH_ALL = {"py-assertion", "js-assertion", "py-syntax-other"}


def make_repo(program: Path, parent: Path) -> Path:
    repo = parent / program.name
    shutil.copytree(program, repo, ignore=shutil.ignore_patterns("__pycache__"))
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [
            "-c",
            "user.name=corpus",
            "-c",
            "user.email=corpus@example.invalid",
            "commit",
            "-qm",
            "buggy program",
        ],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    return repo


def evaluate(
    program: Path,
    patterns: list[PatternSpec] | None = None,
    *,
    isolate: bool = True,
    search_budget: int = 20,
    isolation_level: str = "",
) -> ProgramResult:
    result = ProgramResult(program.name)
    with tempfile.TemporaryDirectory(prefix="selfheal-corpus-") as tmp:
        repo = make_repo(program, Path(tmp))
        logger = DiagnosticLogger(program.name)
        # Never stored: a workspace only as the sandbox reads one.
        workspace = Workspace(
            name=program.name, path=str(repo), isolation_level=isolation_level or best_level()
        )
        outcome = diagnose_workspace(
            workspace,
            SandboxRunner(timeout=30),
            patterns or seed_patterns(),
            logger,
            Options(
                isolate=isolate, isolation_budget=10, verify_fixes=True, search_budget=search_budget
            ),
        )
    result.error = outcome.result.error
    for diagnosis in outcome.diagnoses:
        result.failures += 1
        specific = [p.slug for p, _ in diagnosis.matches if p.slug not in CATCH_ALL]
        result.patterns.extend(p.slug for p, _ in diagnosis.matches)
        result.isolation.append(diagnosis.isolation)
        if specific:
            result.diagnosed += 1
        if diagnosis.fixes:
            result.proposed += 1
            result.templates.extend(f.template for f in diagnosis.fixes)
            verdicts = [outcome.verifications.get(f.diff) or {} for f in diagnosis.fixes]
            # Passes: the failing test passes with the fix and no other test starts failing.
            if any(v.get("passed") for v in verdicts):
                result.fixed += 1
    return result


def best_level() -> str:
    levels = capabilities()["levels"]
    return "full" if levels["full"]["available"] else "partial"


def evaluate_all(root: Path, **options: Any) -> list[ProgramResult]:
    return [
        evaluate(p, **options)
        for p in sorted(root.iterdir())
        if p.is_dir() and not p.name.startswith(("_", "."))
    ]
