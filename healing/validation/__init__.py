"""The validation pipeline (issue #3): a registry of small stages run in order on one patch.

    ctx = context_for(modification)          # or ValidationContext(workspace=..., diff=...)
    report = run_pipeline(ctx)
    report.rejected, report.findings, report.as_json()

Stages, in order: paths, diff, syntax, danger, imports, tests, anomaly, classification.
Add one by subclassing `Stage` and decorating it with `@register` in a module imported here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import anomaly, danger, dependencies, diff, imports, judge, syntax  # noqa: F401 - registers the stages
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
from .diff import DiffParseError, file_changes, parse_diff

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
    try:
        ctx.patchset = parse_diff(ctx.diff)
        ctx.files = file_changes(ctx.patchset)
    except DiffParseError as exc:
        finding = Finding("high", str(exc), "diff.unparseable", blocking=True)
        ctx.findings.append(finding)
        report.results.append(
            StageResult("diff", [finding], (time.perf_counter() - started) * 1000)
        )
        ctx.risk_level = "none"
        return report
    pending: list[tuple[Stage, StageResult]] = []
    try:
        for stage in stages():
            if stage.needs_all_findings:
                _settle(pending, ctx)
            result = stage(ctx)
            report.results.append(result)
            pending.append((stage, result))
    finally:
        _settle(pending, ctx)
    report.duration_ms = (time.perf_counter() - started) * 1000
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
