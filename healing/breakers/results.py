from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CheckResult:
    name: str  # emergency_stop | engine_breaker | breaker | cascade | health | anomaly | rate_limit
    ok: bool
    reason: str = ""
    metric: str = ""
    value: Any = None
    threshold: Any = None
    retry_at: datetime | None = None  # None on a block: no set time, it lifts on an event
    # On a block: what lifts it, "kind" or "kind:key" (healing.actions.unblock.KINDS).
    blocked_by: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "reason": self.reason,
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
            "blocked_by": self.blocked_by or None,
        }


@dataclass
class PreflightResult:
    ok: bool
    checks: list[CheckResult] = field(default_factory=list)
    stage: str = ""

    @property
    def blocking(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]

    @property
    def blocked_by(self) -> list[tuple[str, datetime | None]]:
        """(what lifts it, when at the earliest) of every block."""
        return [(c.blocked_by or c.name, c.retry_at) for c in self.blocking]

    @property
    def retry_at(self) -> datetime | None:
        """When every block may have lifted; None if any block waits for a person."""
        blocks = self.blocking
        if not blocks or any(c.retry_at is None for c in blocks):
            return None
        return max(c.retry_at for c in blocks if c.retry_at is not None)

    @property
    def reason(self) -> str:
        """One line for block_reason: what blocked, its value and threshold, and when it may go."""
        parts = []
        for check in self.blocking:
            when = (
                f"retry at {check.retry_at:%Y-%m-%d %H:%M:%S} UTC"
                if check.retry_at
                else f"lifts on {check.blocked_by or check.name}"
            )
            parts.append(
                f"{check.name}: {check.reason} ({check.metric}={check.value}, threshold {check.threshold}; {when})"
            )
        return "; ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stage": self.stage,
            "checks": [c.as_json() for c in self.checks],
            "reason": self.reason,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
        }
