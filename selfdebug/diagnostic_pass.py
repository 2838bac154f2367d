"""One diagnostic pass over a workspace, without the database: run, isolate, analyse, verify.

The Celery task (tasks.py) wraps this with the run's row and stores the report; the corpus bench
calls it directly on throw-away repositories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .generators import FixRequest, GeneratorBackend, GeneratorError
from .isolation import UNCHECKED, Isolator
from .logger import DiagnosticLogger
from .patterns import Diagnosis, PatternSpec, TestFailureAnalyzer
from .results import FAILED, RunResult
from .runners import RunnerError, SandboxRunner, head_tree
from .search import search_fix


@dataclass
class Options:
    isolate: bool = True
    isolation_budget: int = 30
    verify_fixes: bool = True
    coverage: bool = False
    max_failures: int = 50
    search_budget: int = 0  # mutants tried per logic failure no template fixes (0: no search)


@dataclass
class Outcome:
    result: RunResult
    diagnoses: list[Diagnosis] = field(default_factory=list)
    verifications: dict[str, dict[str, Any]] = field(default_factory=dict)  # diff → verdict

    def report(self, run_id: Any, started_at: datetime | None = None) -> dict[str, Any]:
        totals = self.result.totals()
        diagnostics = []
        for diagnosis in self.diagnoses:
            item = diagnosis.as_dict()
            for fix in item["potential_fixes"]:
                fix["verification"] = self.verifications.get(fix["diff"])
            diagnostics.append(item)
        return {
            "test_run_id": run_id,
            "timestamp": (started_at or datetime.now(UTC)).isoformat(),
            "backend": self.result.backend,
            "total_tests": totals["total"],
            "passed": totals["passed"],
            "failures": totals["failed"] + totals["error"],
            "skipped": totals["skipped"],
            "duration_ms": round(self.result.duration_ms, 1),
            "coverage": self.result.coverage,
            "runner_error": self.result.error,
            "diagnostics": diagnostics,
        }


def verify_fix(
    runner: SandboxRunner, workspace: Any, baseline: RunResult, diff: str, target: str
) -> dict[str, Any]:
    """Run the whole suite with the fix applied: does the target pass, and nothing new fail?"""
    try:
        after = runner.run(workspace, diff=diff)
    except RunnerError as exc:
        return {"passed": False, "error": str(exc)}
    failing_before = {c.nodeid for c in baseline.failures}
    failing_after = {c.nodeid for c in after.failures}
    target_fixed = target not in failing_after and (
        any(c.nodeid == target and c.outcome not in FAILED for c in after.cases)
        or "::" not in target
    )
    new_failures = sorted(failing_after - failing_before)
    return {
        "passed": target_fixed and not new_failures and not after.error,
        "target_fixed": target_fixed,
        "new_failures": new_failures,
        "still_failing": sorted(failing_after & failing_before),
        "all_pass": not failing_after and bool(after.cases),
        "totals": after.totals(),
    }


def diagnose_workspace(
    workspace: Any,
    runner: SandboxRunner,
    patterns: list[PatternSpec],
    logger: DiagnosticLogger,
    options: Options | None = None,
    generator: GeneratorBackend | None = None,
) -> Outcome:
    options = options or Options()
    analyzer = TestFailureAnalyzer(patterns)
    with logger.context("run_tests", backend=runner.name, coverage=options.coverage) as ctx:
        result = runner.run(workspace, coverage=options.coverage)
        ctx["result"] = result.totals()
    outcome = Outcome(result=result)
    failures = result.failures[: options.max_failures]
    isolator = Isolator(runner, workspace, logger, budget=options.isolation_budget)
    tree = head_tree(workspace)
    for case in failures:
        with logger.context("diagnose", test=case.nodeid, message=case.message) as ctx:
            diagnosis = analyzer.diagnose(case, tree)
            ctx["result"] = {
                "patterns": [p.slug for p, _ in diagnosis.matches],
                "fixes": [f.template for f in diagnosis.fixes],
            }
        if generator is not None and not diagnosis.fixes and case.source_frame() is not None:
            ask_generator(generator, diagnosis, tree, logger)
        if options.isolate:
            with logger.context("isolate", test=case.nodeid) as ctx:
                isolation = isolator.classify(result, case.nodeid)
                ctx["result"] = isolation.as_dict()
            diagnosis.isolation = isolation.verdict
            diagnosis.isolation_detail = isolation.as_dict()
            logger.log_state_change(case.nodeid, "verdict", UNCHECKED, isolation.verdict)
        outcome.diagnoses.append(diagnosis)
    if options.verify_fixes:
        for diagnosis in outcome.diagnoses:
            for fix in diagnosis.fixes:
                with logger.context(
                    "verify_fix", test=diagnosis.case.nodeid, template=fix.template
                ) as ctx:
                    verdict = verify_fix(runner, workspace, result, fix.diff, diagnosis.case.nodeid)
                    ctx["result"] = verdict
                outcome.verifications[fix.diff] = verdict
    if options.search_budget > 0:
        search_logic_failures(runner, workspace, outcome, logger, options.search_budget)
    return outcome


def search_logic_failures(
    runner: SandboxRunner, workspace: Any, outcome: Outcome, logger: DiagnosticLogger, budget: int
) -> None:
    """Assertion failures that no verified fix explains: try single-token mutants (search.py)."""
    failing = {c.nodeid for c in outcome.result.failures}
    tree = head_tree(workspace)
    for diagnosis in outcome.diagnoses:
        case = diagnosis.case
        if case.exception_type != "AssertionError" or diagnosis.isolation in {
            "flaky",
            "order_dependent",
        }:
            continue
        if any((outcome.verifications.get(f.diff) or {}).get("passed") for f in diagnosis.fixes):
            continue
        found = search_fix(
            runner,
            workspace,
            tree,
            case,
            failing,
            logger,
            budget=budget,
            pattern="search-mutation",
        )
        if found is not None:
            fix, verdict = found
            diagnosis.fixes.append(fix)
            outcome.verifications[fix.diff] = verdict


def ask_generator(
    generator: GeneratorBackend, diagnosis: Diagnosis, tree: Path, logger: DiagnosticLogger
) -> None:
    """No template fits: ask the model. Its answer is validated like a template's, or dropped."""
    case = diagnosis.case
    frame = case.source_frame()
    assert frame is not None
    request = FixRequest(tree, frame.path, case.language, case.message, case.details, case.nodeid)
    with logger.context("generate_fix", backend=generator.name, test=case.nodeid) as ctx:
        try:
            fix = generator.generate_fix(request)
        except GeneratorError as exc:
            diagnosis.isolation_detail["generator_error"] = str(exc)
            ctx["result"] = f"refused: {exc}"
            return
        diagnosis.fixes.append(fix)
        ctx["result"] = {"path": fix.path}
