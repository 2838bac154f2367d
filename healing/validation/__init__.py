"""The validation pipeline: a registry of small stages run in order on one patch.

    ctx = context_for(modification)          # or ValidationContext(workspace=..., diff=...)
    report = run_pipeline(ctx)
    report.rejected, report.findings, report.as_json()

The diff is applied once by git (diff.prepare) before any stage runs; every stage reads the
files git wrote (ctx.files). Stages, in order: paths, diff, unicode, syntax, danger, imports,
dependencies, tests, anomaly, classification. The whole run has a time limit
(validation.time_limit_seconds).
Add one by subclassing `Stage` and decorating it with `@register` in a module imported here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import tunables
from . import (  # noqa: F401 - registers the stages
    anomaly,
    changed_tests,
    classification,
    danger,
    dependencies,
    diff,
    imports,
    paths,
    syntax,
    unicode,
)
from .base import (
    REGISTRY,
    FileChange,
    Finding,
    Stage,
    StageResult,
    ValidationContext,
    register,
    stages,
)
from .deadline import Deadline, TooComplex
from .diff import DiffParseError, parse_diff, prepare

if TYPE_CHECKING:
    from ..models import Modification

__all__ = [
    "REGISTRY",
    "FileChange",
    "Finding",
    "Report",
    "Stage",
    "StageResult",
    "ValidationContext",
    "context_for",
    "register",
    "run_pipeline",
]


@dataclass
class Report:
    ctx: ValidationContext
    results: list[StageResult] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def rejected(self) -> bool:
        return bool(self.blocking)

    def reject_reason(self) -> str:
        return "; ".join(f"{f.location()}: {f.message}" for f in self.blocking[:5])

    def as_json(self) -> dict[str, Any]:
        """Stage name → {position, ok, duration_ms, findings, data}. `position` keeps the order the
        stages ran in, which a JSON column (PostgreSQL's jsonb) does not."""
        return {r.name: {"position": i, **r.as_json()} for i, r in enumerate(self.results)}


def context_for(modification: Modification) -> ValidationContext:
    return ValidationContext(
        workspace=modification.workspace,
        diff=modification.diff,
        language=modification.language,
        source=modification.source,
        claimed_error_type=modification.claimed_error_type,
        claimed_severity=modification.claimed_severity,
        modification_id=modification.pk,
        submitted_at=modification.created_at,
    )


def run_pipeline(ctx: ValidationContext) -> Report:
    started = time.perf_counter()
    report = Report(ctx)
    seconds = tunables.get("validation.time_limit_seconds", ctx.workspace)
    ctx.deadline = Deadline(seconds)
    try:
        ctx.patchset = parse_diff(ctx.diff)
    except DiffParseError as exc:
        return _refused(report, Finding("high", str(exc), "diff.unparseable", blocking=True))
    pending: list[tuple[Stage, StageResult]] = []
    try:
        prepare(ctx)
        for stage in stages():
            ctx.deadline.check()
            if stage.needs_all_findings:
                _settle(pending, ctx)
            result = stage(ctx)
            report.results.append(result)
            pending.append((stage, result))
        _settle(pending, ctx)
    except TooComplex as exc:
        ctx.background.clear()
        return _refused(
            report,
            Finding("high", f"rejected: {exc}", "validation.too_complex", blocking=True),
        )
    report.duration_ms = (time.perf_counter() - started) * 1000
    return report


def _refused(report: Report, finding: Finding) -> Report:
    ctx = report.ctx
    ctx.findings.append(finding)
    report.results.append(
        StageResult("diff" if finding.rule.startswith("diff.") else "validation", [finding], 0.0)
    )
    report.duration_ms = sum(r.duration_ms for r in report.results)
    ctx.risk_level = ctx.risk_level or "none"
    return report


def _settle(pending: list[tuple[Stage, StageResult]], ctx: ValidationContext) -> None:
    """Collect what earlier stages left running (the diff stage's `git apply --check` overlaps
    the syntax and danger stages) into their own results."""
    for stage, result in pending:
        waited = time.perf_counter()
        late = stage.settle(ctx)
        result.duration_ms += (time.perf_counter() - waited) * 1000
        result.findings.extend(late)
        ctx.findings.extend(late)
    pending.clear()
