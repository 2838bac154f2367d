"""The "anomaly" stage: anomaly detection with the design's defaults (all admin-tunable) and the
patch's risk level. Error classification is the next stage, in classification.py."""

from __future__ import annotations

from datetime import timedelta

from .. import tunables
from .base import Finding, Stage, ValidationContext, register, severity_rank

RISK_LEVELS = ("none", "low", "medium", "high", "critical")
DANGER_PREFIXES = ("danger.", "secret.", "path.", "unicode.")


@register
class AnomalyStage(Stage):
    name = "anomaly"
    order = 70
    title = "Anomaly detection"
    needs_all_findings = True  # the risk level is assessed over every finding

    def run(self, ctx: ValidationContext) -> list[Finding]:
        limits = tunables.get_many(
            [
                "anomaly.max_changed_chars",
                "anomaly.max_files",
                "anomaly.max_submissions",
                "anomaly.window_seconds",
            ],
            ctx.workspace,
        )
        chars = sum(c.changed_chars for c in ctx.files)
        files = len(ctx.files)
        recent, more = self._recent_submissions(
            ctx, limits["anomaly.window_seconds"], limits["anomaly.max_submissions"]
        )
        ctx.stats = {
            "changed_chars": chars,
            "files": files,
            "recent_submissions": recent,
            "lines_added": sum(len(c.added) for c in ctx.files),
            "lines_removed": sum(len(c.removed) for c in ctx.files),
        }
        findings: list[Finding] = []
        if chars > limits["anomaly.max_changed_chars"]:
            findings.append(
                Finding(
                    "medium",
                    f"large change: {chars} characters (limit {limits['anomaly.max_changed_chars']})",
                    "anomaly.large",
                )
            )
        if files > limits["anomaly.max_files"]:
            findings.append(
                Finding(
                    "medium",
                    f"touches {files} files (limit {limits['anomaly.max_files']})",
                    "anomaly.many_files",
                )
            )
        if recent > limits["anomaly.max_submissions"]:
            findings.append(
                Finding(
                    "medium",
                    f"{'at least ' if more else ''}{recent} submissions from {ctx.source} in "
                    f"{limits['anomaly.window_seconds']} s (limit {limits['anomaly.max_submissions']})",
                    "anomaly.frequency",
                )
            )
        ctx.risk_level = risk_level(ctx.findings + findings, len(findings))
        return findings

    def data(self, ctx: ValidationContext) -> dict[str, object]:
        return {**ctx.stats, "risk_level": ctx.risk_level}

    def _recent_submissions(
        self, ctx: ValidationContext, window: int, limit: int
    ) -> tuple[int, bool]:
        """(submissions from this source in the window, this one included; whether there are
        more). Counted no further than one past the limit: a flood from one agent must not make
        every validation slower (100,000 recent rows cost 28 ms a patch on PostgreSQL)."""
        if not ctx.source:
            return 0, False
        from ..models import Modification

        qs = Modification.objects.recent_from_source(ctx.source, timedelta(seconds=window))
        if ctx.submitted_at is not None:
            qs = qs.filter(created_at__lte=ctx.submitted_at)
        bound = limit + 1
        counted = qs[:bound].count()
        return counted + (0 if ctx.modification_id is not None else 1), counted >= bound


def risk_level(findings: list[Finding], anomalies: int) -> str:
    """none/low/medium/high/critical from dangerous-pattern hits and threshold anomalies."""
    danger = [f for f in findings if f.rule.startswith(DANGER_PREFIXES)]
    worst = max((severity_rank(f.severity) for f in danger), default=-1)
    if worst >= severity_rank("critical"):
        return "critical"
    if worst >= severity_rank("high") or anomalies >= 2:
        return "high"
    if worst >= severity_rank("medium") or anomalies == 1:
        return "medium"
    if worst >= 0 or any(f.severity != "info" for f in findings):
        return "low"
    return "none"


# --- classification -------------------------------------------------------------------------
