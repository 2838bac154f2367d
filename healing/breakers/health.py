"""The health pre-flight check, over `monitoring.health.preflight_health()`.

That function belongs to the monitoring area (issue #6): it judges health over a window and
leaves out the load of the engine's own sandboxes. It is called defensively: when the module or
function is missing, or it raises, the check says "health unknown" and does not block — a missing
monitor must not stop all healing, and the result says so plainly.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from .results import CheckResult

log = logging.getLogger(__name__)

BAD_STATUSES = {"unhealthy", "critical"}
# The design's pre-flight names these metrics one by one; CPU and disk count only through the
# overall health score (at least 80 %), so a busy CPU alone does not hold every patch.
PREFLIGHT_METRICS = {"error_rate", "success_rate", "response_time", "memory_available"}


def _unknown(why: str) -> CheckResult:
    return CheckResult(
        "health",
        True,
        f"health unknown: {why}; not blocking",
        metric="health",
        value="unknown",
        threshold="healthy",
    )


def _metrics(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Accept {name: {value, threshold, ok}} or [{name, value, threshold, ok}]."""
    raw = report.get("metrics") or {}
    if isinstance(raw, dict):
        return [
            {"name": name, **(m if isinstance(m, dict) else {"value": m})}
            for name, m in raw.items()
        ]
    if isinstance(raw, list):
        return [m for m in raw if isinstance(m, dict)]
    return []


def _failed(metric: dict[str, Any]) -> bool:
    for key in ("ok", "healthy", "passed"):
        if key in metric:
            return metric[key] is False
    return False


def check_health(now: datetime, retry_seconds: int) -> CheckResult:
    try:
        from monitoring.health import preflight_health  # type: ignore[import-not-found,attr-defined]
    except ImportError as exc:
        return _unknown(f"monitoring.health.preflight_health is not available ({exc})")
    try:
        report = preflight_health()
    except Exception as exc:  # noqa: BLE001 - a broken monitor reports "unknown", it does not stop healing
        log.warning("preflight_health() raised", exc_info=True)
        return _unknown(f"preflight_health() raised {type(exc).__name__}: {exc}")
    if not isinstance(report, dict):
        return _unknown(f"preflight_health() returned {type(report).__name__}, not a dict")
    status = str(report.get("status", "")).lower()
    window = report.get("window_seconds")
    retry_at = report.get("retry_at")
    if not isinstance(retry_at, datetime):
        retry_at = now + timedelta(
            seconds=int(window) if isinstance(window, int | float) and window > 0 else retry_seconds
        )
    failing = [m for m in _metrics(report) if _failed(m) and m.get("name") in PREFLIGHT_METRICS]
    score, min_score = report.get("score"), report.get("min_score")
    if (
        not failing
        and isinstance(score, int | float)
        and isinstance(min_score, int | float)
        and score < min_score
    ):
        return CheckResult(
            "health",
            False,
            f"system health score {score:.0%} below {min_score:.0%}: {report.get('reason', '')}",
            metric="health_score",
            value=score,
            threshold=min_score,
            retry_at=retry_at,
        )
    if failing:
        m = failing[0]
        others = f" (and {', '.join(f['name'] for f in failing[1:])})" if len(failing) > 1 else ""
        return CheckResult(
            "health",
            False,
            f"{m.get('name')} out of bounds over the health window{others}",
            metric=str(m.get("name", "")),
            value=m.get("value"),
            threshold=m.get("threshold"),
            retry_at=retry_at,
        )
    if status in BAD_STATUSES:
        return CheckResult(
            "health",
            False,
            f"system health is {status}",
            metric="status",
            value=status,
            threshold="healthy",
            retry_at=retry_at,
        )
    if not status:
        return _unknown("preflight_health() gave no status")
    return CheckResult("health", True, metric="status", value=status, threshold="healthy")
