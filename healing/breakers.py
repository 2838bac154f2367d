"""Circuit breakers, rate limit, cascades, pre-flight checks (issue #5). Contract placeholder:
the judgement issue replaces these bodies; other areas call only these names."""

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


@dataclass
class PreflightResult:
    ok: bool
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]


def run_preflight(modification: Any, *, stage: str) -> PreflightResult:
    """Breaker, engine breaker, health, rate limit, anomaly level and emergency stop, each stored
    on the modification. `stage` is 'intake' or 'apply'; the rate limit counts only at apply."""
    raise NotImplementedError("pre-flight checks land with issue #5")


def record_outcome(modification: Any, *, success: bool, stage: str, actor: Any = None) -> None:
    """Feed an outcome (sandbox, apply, rollback) to the breakers, learning and calibration."""
    raise NotImplementedError("breakers land with issue #5")


def note_application(modification: Any) -> None:
    """Count one application against the shared rate limit."""
    raise NotImplementedError("the rate limit lands with issue #5")
