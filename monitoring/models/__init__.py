"""The monitoring app's models. Import from here."""

from .loop import AttemptStatus, HealingActionKind, HealingAttempt, HealingLoopState
from .system import HealthStatus, ScheduleClock, SystemSnapshot, Trend
from .telemetry import Baseline, SnapshotContext, TelemetryRollup, TelemetrySnapshot

__all__ = [
    "AttemptStatus",
    "Baseline",
    "HealingActionKind",
    "HealingAttempt",
    "HealingLoopState",
    "HealthStatus",
    "ScheduleClock",
    "SnapshotContext",
    "SystemSnapshot",
    "TelemetryRollup",
    "TelemetrySnapshot",
    "Trend",
]
