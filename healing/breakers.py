"""Circuit breakers, rate limit, pre-flight checks (issue #5).

CONTRACT PLACEHOLDER: the judgement issue replaces these bodies and keeps the names and
signatures. Until then only the emergency stop is checked, and outcomes are not recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CheckResult:
    name: str  # breaker | engine_breaker | health | rate_limit | anomaly | emergency_stop
    ok: bool
    reason: str = ""
    metric: str = ""
    value: Any = None
    threshold: Any = None
    retry_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "ok": self.ok, "reason": self.reason, "metric": self.metric,
            "value": self.value, "threshold": self.threshold,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
        }


@dataclass
class PreflightResult:
    ok: bool
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [c.as_json() for c in self.checks]}


def run_preflight(modification: Any, *, stage: str) -> PreflightResult:
    """Breaker, engine breaker, health, rate limit, anomaly level and emergency stop.
    `stage` is 'intake' or 'apply'; the rate limit counts only at apply. The caller stores
    `as_json()` on the modification and blocks on any failed check."""
    from .models import EngineState

    state = EngineState.objects.current()
    check = CheckResult(
        "emergency_stop", not state.is_emergency_stopped,
        reason=f"emergency stop: {state.reason}" if state.is_emergency_stopped else "",
        metric="engine_state", value=state.state, threshold="running",
    )
    return PreflightResult(ok=check.ok, checks=[check])


def record_outcome(modification: Any, *, success: bool, stage: str, actor: Any = None) -> None:
    """Feed an outcome (sandbox, apply, rollback) to the breakers, learning and calibration."""


def note_application(modification: Any) -> None:
    """Count one application against the shared rate limit."""
