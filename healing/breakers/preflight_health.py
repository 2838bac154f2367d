"""The health pre-flight check, over the health source that monitoring registers
(`healing.contrib.current_health()`).

The source judges health over a window and leaves out the load of the engine's own sandboxes.
No source registered is a configuration error (`MissingContributor`, raised, never a pass). A source that
raises while it measures says "health unknown" and does not block: a monitor that breaks at run
time must not stop all healing, and the result says so plainly.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured

from ..contrib import HealthReport, current_health
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


def check_health(now: datetime, retry_seconds: int) -> CheckResult:
    try:
        report: HealthReport = current_health()
    except ImproperlyConfigured:
        raise  # no source, or two: a configuration error, never a pass
    except Exception as exc:  # noqa: BLE001 - a broken monitor reports "unknown", it does not stop healing
        log.warning("the health source raised", exc_info=True)
        return _unknown(f"the health source raised {type(exc).__name__}: {exc}")
    status = report.status.lower()
    retry_at = now + timedelta(
        seconds=report.window_seconds if report.window_seconds > 0 else retry_seconds
    )
    failing = [
        (name, m) for name, m in report.metrics.items() if not m.ok and name in PREFLIGHT_METRICS
    ]
    if not failing and report.score < report.min_score:
        return CheckResult(
            "health",
            False,
            f"system health score {report.score:.0%} below {report.min_score:.0%}: {report.reason}",
            metric="health_score",
            value=report.score,
            threshold=report.min_score,
            retry_at=retry_at,
        )
    if failing:
        name, m = failing[0]
        others = f" (and {', '.join(n for n, _ in failing[1:])})" if len(failing) > 1 else ""
        return CheckResult(
            "health",
            False,
            f"{name} out of bounds over the health window{others}",
            metric=name,
            value=m.value,
            threshold=m.threshold,
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
    return CheckResult("health", True, metric="status", value=status, threshold="healthy")
