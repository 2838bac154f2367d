"""Every tunable of the healing app, declared in one place.

The keys, defaults and groups are stored in the `Setting` table and shown to admins: renaming one
loses every override of it. The registry itself (`Tunable`, `register`, `get`) is the package.
"""

from __future__ import annotations

from .registry import Tunable, register

SAFETY_LEVELS = ("SAFE", "LOW_RISK", "MEDIUM_RISK", "HIGH_RISK", "CRITICAL")

# The design's dual breaker: (max consecutive failed attempts, error budget) per error type.
DEFAULT_BUDGETS: dict[str, tuple[int, float]] = {
    "syntax": (3, 0.03),
    "logic": (10, 0.10),
    "runtime": (10, 0.10),
    "performance": (5, 0.05),
    "security": (3, 0.05),
}
ANOMALY_LEVELS = ("none", "low", "medium", "high", "critical")

# should_attempt_fix: below its error type's threshold a patch is never applied automatically.
DEFAULT_THRESHOLDS = {
    "syntax": 0.95,
    "logic": 0.80,
    "runtime": 0.80,
    "performance": 0.85,
    "security": 0.90,
}
METHODS = ("temperature_scaling", "beta_calibration")

GROUP_SANDBOX = "Sandbox"
GROUP_ENVIRONMENTS = "Environments"
GROUP_CONFIDENCE = "Confidence"
GROUP_BREAKERS = "Circuit breakers"
GROUP_CASCADES = "Cascades"
GROUP_APPLY = "Apply and rollback"

# Safety switch, intake and queue

register(
    Tunable(
        "safety.safety_enabled",
        True,
        "Safety switch",
        "Validation, sandbox and pre-flight checks run.",
        kind=bool,
    ),
    Tunable(
        "safety.require_approval",
        False,
        "Safety switch",
        "Every patch waits for a human click.",
        kind=bool,
    ),
    Tunable(
        "safety.auto_apply_threshold",
        "LOW_RISK",
        "Safety switch",
        "Highest safety level applied without a human once the sandbox passes. "
        "HIGH_RISK and CRITICAL always wait for a click, whatever this says.",
        kind=str,
        choices=SAFETY_LEVELS[:3],
    ),
    Tunable(
        "safety.critical_two_approvals",
        True,
        "Safety switch",
        "CRITICAL patches need two approvals from two different people.",
        kind=bool,
    ),
    Tunable(
        "intake.max_body_bytes",
        1024 * 1024,
        "Intake",
        "Largest accepted request body.",
        kind=int,
        min=1024,
        max=16 * 1024 * 1024,
        unit="bytes",
    ),
    Tunable(
        "queue.requeue_after_seconds",
        60,
        "Queue",
        "A patch waiting this long in received, validating, sandboxing or approved with no worker "
        "on it is sent to the workers again (after a broker or database outage). Duplicates are "
        "harmless: each stage claims its work once.",
        kind=int,
        min=1,
        max=24 * 3600,
        unit="s",
    ),
)


# Validation time limit

register(
    Tunable(
        "validation.time_limit_seconds",
        20,
        "Validation",
        "A patch whose validation takes longer than this is rejected as too complex to validate.",
        kind=int,
        min=1,
        max=600,
        unit="seconds",
    )
)


# Validation: anomaly classification

register(
    Tunable(
        "anomaly.max_changed_chars",
        10_000,
        "Anomaly detection",
        "A patch changing more characters than this is an anomaly.",
        kind=int,
        min=100,
        max=10_000_000,
        unit="characters",
    ),
    Tunable(
        "anomaly.max_files",
        5,
        "Anomaly detection",
        "A patch touching more files than this is an anomaly.",
        kind=int,
        min=1,
        max=10_000,
        unit="files",
    ),
    Tunable(
        "anomaly.max_submissions",
        5,
        "Anomaly detection",
        "More submissions than this from one source within the window is an anomaly.",
        kind=int,
        min=1,
        max=100_000,
    ),
    Tunable(
        "anomaly.window_seconds",
        300,
        "Anomaly detection",
        "The window for counting submissions per source.",
        kind=int,
        min=10,
        max=86_400,
        unit="seconds",
    ),
)


# Sandbox resource limits

register(
    Tunable(
        "sandbox.wall_time_s",
        30.0,
        GROUP_SANDBOX,
        "Wall-clock time a test run may take.",
        kind=float,
        min=0.5,
        max=3600,
        unit="s",
    ),
    Tunable(
        "sandbox.memory_mb",
        500,
        GROUP_SANDBOX,
        "Writable memory of each sandboxed process (RLIMIT_DATA); the tree's RSS is watched too.",
        kind=int,
        min=32,
        max=65536,
        unit="MB",
    ),
    Tunable(
        "sandbox.cpu_s",
        60,
        GROUP_SANDBOX,
        "CPU seconds of each sandboxed process.",
        kind=int,
        min=1,
        max=36000,
        unit="s",
    ),
    Tunable(
        "sandbox.max_processes",
        64,
        GROUP_SANDBOX,
        "Processes alive at once in one sandbox.",
        kind=int,
        min=2,
        max=4096,
    ),
    Tunable(
        "sandbox.max_file_mb",
        50,
        GROUP_SANDBOX,
        "Largest file a test may write.",
        kind=int,
        min=1,
        max=65536,
        unit="MB",
    ),
    Tunable(
        "sandbox.max_output_kb",
        1024,
        GROUP_SANDBOX,
        "Output (stdout+stderr) a run may print.",
        kind=int,
        min=16,
        max=1024 * 1024,
        unit="KB",
    ),
    Tunable(
        "sandbox.measure_coverage",
        True,
        GROUP_SANDBOX,
        "Measure coverage of the touched lines (Python, coverage.py).",
        kind=bool,
    ),
    Tunable(
        "sandbox.pytest_plugin_autoload",
        False,
        GROUP_SANDBOX,
        "Let pytest load every plugin installed beside Selfheal. Off: only the plugins the test "
        "command names with -p, so the workspace's run is not slowed or changed by Selfheal's own.",
        kind=bool,
    ),
)


# Environment builds

register(
    Tunable("environment.wall_time_s", 900.0, GROUP_ENVIRONMENTS, "Wall-clock time a build may take.",
            kind=float, min=5, max=7200, unit="s"),
    Tunable("environment.memory_mb", 2000, GROUP_ENVIRONMENTS, "Writable memory of each build process.",
            kind=int, min=64, max=65536, unit="MB"),
    Tunable("environment.cpu_s", 1800, GROUP_ENVIRONMENTS, "CPU seconds of each build process.",
            kind=int, min=5, max=36000, unit="s"),
    Tunable("environment.max_processes", 256, GROUP_ENVIRONMENTS, "Processes alive at once in one build.",
            kind=int, min=4, max=4096),
    Tunable("environment.max_file_mb", 500, GROUP_ENVIRONMENTS, "Largest file a build may write.",
            kind=int, min=1, max=65536, unit="MB"),
    Tunable("environment.max_output_kb", 4096, GROUP_ENVIRONMENTS, "Output a build may print.",
            kind=int, min=16, max=1024 * 1024, unit="KB"),
    Tunable("environment.max_size_mb", 4096, GROUP_ENVIRONMENTS, "Size of a built environment on disk.",
            kind=int, min=1, max=1024 * 1024, unit="MB"),
    Tunable("environment.keep", 10, GROUP_ENVIRONMENTS, "Environments kept on disk (least recently used go).",
            kind=int, min=1, max=1000),
    Tunable("environment.max_age_days", 14, GROUP_ENVIRONMENTS, "Environments unused this long are removed.",
            kind=int, min=1, max=3650, unit="days"),
)  # fmt: skip


# Confidence scoring

for _error_type, _threshold in DEFAULT_THRESHOLDS.items():
    register(
        Tunable(
            f"scoring.threshold.{_error_type}",
            _threshold,
            GROUP_CONFIDENCE,
            f"Confidence at or above which a {_error_type} fix may be applied without a person.",
            min=0.0,
            max=1.0,
        )
    )

register(
    Tunable(
        "scoring.floor",
        0.2,
        GROUP_CONFIDENCE,
        "Below this a patch with no test evidence at all (the sandbox ran no test) is rejected on "
        "its score; a patch with test evidence is never rejected on its score alone.",
        min=0.0,
        max=1.0,
    ),
    Tunable(
        "scoring.temperature",
        1.0,
        GROUP_CONFIDENCE,
        "T in softmax(logits / T) while no temperature has been fitted (we divide by T).",
        min=0.05,
        max=20.0,
    ),
    Tunable(
        "scoring.calibration_method",
        "temperature_scaling",
        GROUP_CONFIDENCE,
        "How scores are calibrated from outcomes.",
        kind=str,
        choices=METHODS,
    ),
    Tunable(
        "scoring.calibration_min_outcomes",
        50,
        GROUP_CONFIDENCE,
        "Outcomes needed before a calibration is fitted; until then scores are labelled uncalibrated.",
        kind=int,
        min=10,
        max=100000,
    ),
    Tunable(
        "scoring.history_prior_mean",
        0.9,
        GROUP_CONFIDENCE,
        "The share of kept patches a source is credited with before its own outcomes here (the "
        "Beta prior's mean; the history factor is the posterior mean relative to it).",
        min=0.05,
        max=0.99,
    ),
    Tunable(
        "scoring.history_prior_strength",
        10.0,
        GROUP_CONFIDENCE,
        "How many outcomes the prior weighs: a handful of a source's outcomes cannot swamp it.",
        min=1.0,
        max=1000.0,
        unit="outcomes",
    ),
    Tunable(
        "scoring.model_min_outcomes",
        50,
        GROUP_CONFIDENCE,
        "Labelled outcomes (with both kept and failed patches, at least 5 of each) needed before "
        "the evidence model is fitted and decides scores; until then the formula decides.",
        kind=int,
        min=20,
        max=100000,
    ),
    Tunable(
        "scoring.pattern_weight",
        0.2,
        GROUP_CONFIDENCE,
        "How much pattern similarity can lower a score: factor = 1 − w + w × similarity.",
        min=0.0,
        max=1.0,
    ),
    Tunable(
        "learning.max_threshold_shift",
        0.05,
        "Learning",
        "Bound set by an admin: learnt thresholds stay within ± this of the admin's threshold (0 turns adaptation off).",
        min=0.0,
        max=0.3,
    ),
    Tunable(
        "learning.target_precision",
        0.9,
        "Learning",
        "Learnt thresholds aim at this share of right patches among those scoring at or above them.",
        min=0.5,
        max=1.0,
    ),
    Tunable(
        "learning.min_outcomes",
        30,
        "Learning",
        "Outcomes of an error type needed before its threshold adapts.",
        kind=int,
        min=5,
        max=100000,
    ),
)


# Circuit breakers, rate limit and pre-flight

for _error_type, (_attempts, _budget) in DEFAULT_BUDGETS.items():
    register(
        Tunable(
            f"breaker.{_error_type}.max_attempts",
            _attempts,
            GROUP_BREAKERS,
            f"Consecutive failed {_error_type} fixes that open the {_error_type} circuit of a workspace.",
            kind=int,
            min=1,
            max=1000,
        ),
        Tunable(
            f"breaker.{_error_type}.error_budget",
            _budget,
            GROUP_BREAKERS,
            f"Share of failed {_error_type} fixes allowed over the budget window before the circuit opens.",
            min=0.0,
            max=1.0,
        ),
    )

register(
    Tunable(
        "breaker.budget_window",
        100,
        GROUP_BREAKERS,
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
        GROUP_BREAKERS,
        "An open circuit lets one trial patch through per cool-down (PERMANENTLY_OPEN never does).",
        kind=int,
        min=1,
        max=7 * 24 * 60,
        unit="min",
    ),
    Tunable(
        "engine_breaker.failure_threshold",
        5,
        GROUP_BREAKERS,
        "Consecutive failures that open the engine breaker.",
        kind=int,
        min=1,
        max=1000,
    ),
    Tunable(
        "engine_breaker.success_threshold",
        3,
        GROUP_BREAKERS,
        "Consecutive trial successes that close it again.",
        kind=int,
        min=1,
        max=1000,
    ),
    Tunable(
        "engine_breaker.cooldown_seconds",
        300,
        GROUP_BREAKERS,
        "Time OPEN before a limited trial (HALF_OPEN).",
        kind=int,
        min=1,
        max=86400,
        unit="s",
    ),
    Tunable(
        "engine_breaker.half_open_trials",
        3,
        GROUP_BREAKERS,
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


# Cascades

register(
    Tunable(
        "cascade.max_depth",
        5,
        GROUP_CASCADES,
        "Most links (patches) a chain may attempt; the next one stops it.",
        kind=int,
        min=1,
        max=50,
    ),
    Tunable(
        "cascade.repeat_limit",
        3,
        GROUP_CASCADES,
        "The same error type this many times in a row stops the chain.",
        kind=int,
        min=2,
        max=50,
    ),
    Tunable(
        "cascade.falling_confidence_run",
        3,
        GROUP_CASCADES,
        "Confidence strictly falling over this many consecutive links stops the chain.",
        kind=int,
        min=2,
        max=50,
    ),
)


# Apply, backups and the post-apply watch

register(
    Tunable(
        "apply.backup_retention_days",
        7,
        GROUP_APPLY,
        "Backups older than this are pruned.",
        kind=int,
        min=1,
        max=3650,
        unit="days",
    ),
    Tunable(
        "apply.backup_max_count",
        50,
        GROUP_APPLY,
        "At most this many backups are kept (newest first).",
        kind=int,
        min=1,
        max=10000,
    ),
    Tunable(
        "apply.health_window_s",
        60,
        GROUP_APPLY,
        "How long health is watched after an apply.",
        kind=int,
        min=0,
        max=3600,
        unit="s",
    ),
    Tunable(
        "apply.max_auto_rollbacks",
        1,
        GROUP_APPLY,
        "Automatic rollbacks of one patch, at most.",
        kind=int,
        min=0,
        max=1,
    ),
    Tunable(
        "apply.verify_tests", True, GROUP_APPLY, "Run the tests again after an apply.", kind=bool
    ),
    Tunable(
        "apply.lock_ttl_s",
        600,
        GROUP_APPLY,
        "A workspace lock older than this is considered abandoned.",
        kind=int,
        min=30,
        max=86400,
        unit="s",
    ),
)
