"""Admin-tunable limits of the breakers, the rate limit and the pre-flight checks."""

from __future__ import annotations

from ..tunables import Tunable, register

# The design's dual breaker: (max consecutive failed attempts, error budget) per error type.
DEFAULT_BUDGETS: dict[str, tuple[int, float]] = {
    "syntax": (3, 0.03),
    "logic": (10, 0.10),
    "runtime": (10, 0.10),
    "performance": (5, 0.05),
    "security": (3, 0.05),
}
ANOMALY_LEVELS = ("none", "low", "medium", "high", "critical")

GROUP = "Circuit breakers"

for _error_type, (_attempts, _budget) in DEFAULT_BUDGETS.items():
    register(
        Tunable(
            f"breaker.{_error_type}.max_attempts",
            _attempts,
            GROUP,
            f"Consecutive failed {_error_type} fixes that open the {_error_type} circuit of a workspace.",
            kind=int,
            min=1,
            max=1000,
        ),
        Tunable(
            f"breaker.{_error_type}.error_budget",
            _budget,
            GROUP,
            f"Share of failed {_error_type} fixes allowed over the budget window before the circuit opens.",
            min=0.0,
            max=1.0,
        ),
    )

register(
    Tunable(
        "breaker.budget_window",
        100,
        GROUP,
        "The error budget is judged over this many latest outcomes of a workspace and error type; "
        "it allows floor(budget × window) failures.",
        kind=int,
        min=10,
        max=10000,
        unit="outcomes",
    ),
    Tunable(
        "breaker.cooldown_minutes",
        30,
        GROUP,
        "An open circuit lets one trial patch through per cool-down (PERMANENTLY_OPEN never does).",
        kind=int,
        min=1,
        max=7 * 24 * 60,
        unit="min",
    ),
    Tunable(
        "engine_breaker.failure_threshold",
        5,
        GROUP,
        "Consecutive failures that open the engine breaker.",
        kind=int,
        min=1,
        max=1000,
    ),
    Tunable(
        "engine_breaker.success_threshold",
        3,
        GROUP,
        "Consecutive trial successes that close it again.",
        kind=int,
        min=1,
        max=1000,
    ),
    Tunable(
        "engine_breaker.cooldown_seconds",
        300,
        GROUP,
        "Time OPEN before a limited trial (HALF_OPEN).",
        kind=int,
        min=1,
        max=86400,
        unit="s",
    ),
    Tunable(
        "engine_breaker.half_open_trials",
        3,
        GROUP,
        "Trial patches in flight at once while HALF_OPEN.",
        kind=int,
        min=1,
        max=100,
    ),
    Tunable(
        "rate_limit.applications_per_window",
        10,
        "Rate limit",
        "Applications allowed in the window, shared by every worker.",
        kind=int,
        min=1,
        max=10000,
    ),
    Tunable(
        "rate_limit.window_seconds",
        60,
        "Rate limit",
        "The rolling window of the rate limit.",
        kind=int,
        min=1,
        max=3600,
        unit="s",
    ),
    Tunable(
        "preflight.block_anomaly_level",
        "critical",
        "Pre-flight checks",
        "Anomaly risk at or above which pre-flight blocks a patch (lower levels go on to the safety policy).",
        kind=str,
        choices=ANOMALY_LEVELS[1:],
    ),
    Tunable(
        "preflight.health_retry_seconds",
        60,
        "Pre-flight checks",
        "When a health block may be retried, if the health report does not say.",
        kind=int,
        min=5,
        max=3600,
        unit="s",
    ),
)
