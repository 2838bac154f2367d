"""Coverage per workspace, as measured by the latest diagnostic run (coverage.py)."""

from __future__ import annotations

from typing import Any

from .models import DiagnosticRun


def latest_coverage(workspace: Any) -> float | None:
    """0..1 line coverage of the workspace's tests at its last finished run; for the confidence score."""
    percent = (
        DiagnosticRun.objects.finished()
        .filter(workspace_id=workspace.pk, coverage_percent__isnull=False)
        .order_by("-finished_at")
        .values_list("coverage_percent", flat=True)
        .first()
    )
    return None if percent is None else percent / 100.0
