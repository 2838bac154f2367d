"""What a pull request says about a patch: Selfheal's verdict, for the people on the forge."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse


def review_url(mod: Any) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{reverse('review', args=[mod.pk])}"


def _findings(mod: Any) -> list[str]:
    lines = []
    stages = (mod.validation or {}).get("stages") or []
    for stage in stages if isinstance(stages, list) else []:
        for finding in stage.get("findings", []) if isinstance(stage, dict) else []:
            if isinstance(finding, dict):
                where = f" ({finding['file']})" if finding.get("file") else ""
                lines.append(
                    f"- {finding.get('severity', '?')}: {finding.get('message', '')}{where}"
                )
    return lines[:20] or ["- none"]


def _score(mod: Any) -> list[str]:
    if mod.confidence is None:
        return ["- not scored"]
    lines = [f"- confidence {mod.confidence:.2f}"]
    reasons = (mod.confidence_detail or {}).get("reasons") or []
    lines += [f"- {r}" for r in reasons[:10] if isinstance(r, str)]
    return lines


def _sandbox(mod: Any) -> list[str]:
    runs = list(mod.sandbox_runs.order_by("-id")[:3])
    if not runs:
        return ["- no sandbox run"]
    return [
        f"- {run.kind}: {'passed' if run.ok else 'failed'} ({len(run.tests)} tests,"
        f" {len(run.new_failures)} new failures, {run.duration_ms / 1000:.1f} s,"
        f" isolation {run.isolation_level})"
        for run in runs
    ]


def title(mod: Any) -> str:
    summary = mod.envelope.get("description") or mod.envelope.get("summary") or ""
    first = str(summary).strip().splitlines()[0][:60] if str(summary).strip() else ""
    return f"Selfheal: {first or 'patch ' + mod.patch_id}"


def body(mod: Any) -> str:
    parts = [
        f"Patch **{mod.patch_id}** from `{mod.source}`, validated, sandboxed and scored by Selfheal.",
        f"Review page: {review_url(mod)}",
        "",
        f"**Safety level:** {mod.safety_level or 'unrated'} (rule: {mod.safety_rule or 'n/a'})",
        f"**Classification:** {mod.error_type or 'unclassified'} / {mod.severity or 'n/a'}",
        "",
        "**Findings**",
        *_findings(mod),
        "",
        "**Score**",
        *_score(mod),
        "",
        "**Sandbox**",
        *_sandbox(mod),
    ]
    return "\n".join(parts)


def verdict(mod: Any) -> str:
    score = f", confidence {mod.confidence:.2f}" if mod.confidence is not None else ""
    return f"Selfheal: {mod.safety_level or 'unrated'}{score}, approved"
