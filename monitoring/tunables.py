"""Admin-tunable thresholds of the monitoring area: `monitoring.` (telemetry and fitness),
`health.` (system health and pre-flight) and `loop.` (the healing loop)."""

from __future__ import annotations

from healing.tunables import Tunable, register

GROUP_TELEMETRY = "Monitoring: telemetry"
GROUP_HEALTH = "Monitoring: system health"
GROUP_LOOP = "Monitoring: healing loop"

STRATEGY_NAMES = ("basin_drift", "phi_degradation", "performance_regression", "memory_leak", "error_spike")

register(
    # Telemetry from the monitored application (design 001).
    Tunable("monitoring.basin_dim", 64, GROUP_TELEMETRY, "Length of basin_coords a snapshot must carry.", kind=int, min=2, max=4096),
    Tunable("monitoring.window_size", 1000, GROUP_TELEMETRY, "Snapshots per source in the rolling detection window.", kind=int, min=10, max=20000),
    Tunable("monitoring.recent_count", 20, GROUP_TELEMETRY, "Latest snapshots averaged for the current value of each metric.", kind=int, min=1, max=1000),
    Tunable("monitoring.phi_min", 0.651, GROUP_TELEMETRY, "Φ below this is degradation (≈ 0.93 × the Φ threshold 0.70).", min=0.0, max=1.0),
    Tunable("monitoring.phi_max", 0.85, GROUP_TELEMETRY, "Φ above this is degradation (breakdown regime begins).", min=0.0, max=1.0),
    Tunable("monitoring.basin_drift_max", 2.0, GROUP_TELEMETRY, "Largest Fisher-Rao distance of the basin from the baseline (0..π).", min=0.0, max=3.1416, unit="rad"),
    Tunable("monitoring.error_rate_max", 0.05, GROUP_TELEMETRY, "Largest error rate the monitored application may report.", min=0.0, max=1.0),
    Tunable("monitoring.latency_max_ms", 2000.0, GROUP_TELEMETRY, "Largest mean latency the monitored application may report.", min=0.0, unit="ms"),
    Tunable("monitoring.kappa_target", 64.21, GROUP_TELEMETRY, "κ target (the fixed point κ*).", min=0.0),
    Tunable("monitoring.kappa_tolerance", 6.4, GROUP_TELEMETRY, "Largest |κ − target| before κ counts as degraded (default 10 % of the target).", min=0.0),
    Tunable("monitoring.retention_days", 7, GROUP_TELEMETRY, "Raw snapshots older than this are rolled up into buckets and deleted.", kind=int, min=1, max=3650, unit="days"),
    Tunable("monitoring.rollup_seconds", 300, GROUP_TELEMETRY, "Bucket width of rolled-up telemetry and thinned system snapshots.", kind=int, min=60, max=86400, unit="s"),
    Tunable("monitoring.history_max_points", 1000, GROUP_TELEMETRY, "Most points GET history/ returns; longer ranges are downsampled.", kind=int, min=50, max=20000),
    Tunable("monitoring.max_batch", 5000, GROUP_TELEMETRY, "Most snapshots in one POST snapshots/.", kind=int, min=1, max=50000),
    Tunable("monitoring.fitness_apply_threshold", 0.7, GROUP_TELEMETRY, "Code fitness at or above this recommends apply.", min=0.0, max=1.0),
    Tunable("monitoring.fitness_reject_below", 0.4, GROUP_TELEMETRY, "Code fitness below this recommends reject (between: test_more).", min=0.0, max=1.0),
    Tunable("monitoring.fitness_window_minutes", 30, GROUP_TELEMETRY, "Minutes of telemetry before and after an application compared for fitness.", kind=int, min=1, max=1440, unit="min"),
    Tunable("monitoring.fitness_min_samples", 5, GROUP_TELEMETRY, "Fewest snapshots on each side before fitness is computed (else test_more).", kind=int, min=1, max=10000),
    # System health (design 003).
    Tunable("health.snapshot_interval_seconds", 15, GROUP_HEALTH, "How often the psutil snapshot is taken.", kind=int, min=5, max=3600, unit="s"),
    Tunable("health.cpu_max_percent", 90.0, GROUP_HEALTH, "CPU use (excluding sandbox children) above this fails the check.", min=1.0, max=100.0, unit="%"),
    Tunable("health.memory_min_available_percent", 20.0, GROUP_HEALTH, "Available memory below this fails the check.", min=0.0, max=100.0, unit="%"),
    Tunable("health.disk_max_percent", 90.0, GROUP_HEALTH, "Disk use above this fails the check.", min=1.0, max=100.0, unit="%"),
    Tunable("health.error_rate_max", 0.05, GROUP_HEALTH, "Error rate above this fails the check.", min=0.0, max=1.0),
    Tunable("health.success_rate_min", 0.90, GROUP_HEALTH, "Apply success rate below this fails the check.", min=0.0, max=1.0),
    Tunable("health.response_time_max_ms", 5000.0, GROUP_HEALTH, "Response time above this fails the check.", min=0.0, unit="ms"),
    Tunable("health.critical_cpu_percent", 98.0, GROUP_HEALTH, "CPU above this makes the status CRITICAL.", min=1.0, max=100.0, unit="%"),
    Tunable("health.critical_memory_available_percent", 5.0, GROUP_HEALTH, "Available memory below this makes the status CRITICAL.", min=0.0, max=100.0, unit="%"),
    Tunable("health.critical_disk_percent", 97.0, GROUP_HEALTH, "Disk use above this makes the status CRITICAL.", min=1.0, max=100.0, unit="%"),
    Tunable("health.min_health_score", 0.8, GROUP_HEALTH, "Pre-flight passes only with at least this share of checks passing.", min=0.0, max=1.0),
    Tunable("health.outcome_window_minutes", 60, GROUP_HEALTH, "Window of engine outcomes and app reports behind error/success rate and response time.", kind=int, min=1, max=10080, unit="min"),
    Tunable("health.min_outcomes", 5, GROUP_HEALTH, "Fewest outcomes before a rate is judged (else it passes as 'no data').", kind=int, min=1, max=10000),
    Tunable("health.preflight_window_seconds", 120, GROUP_HEALTH, "Pre-flight judges the median of the system snapshots of this window.", kind=int, min=15, max=3600, unit="s"),
    Tunable("health.trend_window", 20, GROUP_HEALTH, "System snapshots in the trend regression.", kind=int, min=3, max=1000),
    Tunable("health.trend_tolerance", 0.5, GROUP_HEALTH, "Slope of the load index (percentage points per minute) below which the trend is stable.", min=0.0, unit="pp/min"),
    Tunable("health.disk_path", "/", GROUP_HEALTH, "Mount point whose use is checked.", kind=str),
    # The healing loop (design 001).
    Tunable("loop.interval_seconds", 300, GROUP_LOOP, "Time between two cycles of the healing loop.", kind=int, min=30, max=86400, unit="s"),
    Tunable("loop.lookback_minutes", 120, GROUP_LOOP, "How long before a signal turned an application may be blamed for it.", kind=int, min=1, max=10080, unit="min"),
    Tunable("loop.memory_leak_mb_per_min", 2.0, GROUP_LOOP, "Worker memory growth (MB/min, significant at p<0.05) taken for a leak.", min=0.0, unit="MB/min"),
    Tunable("loop.memory_leak_window", 40, GROUP_LOOP, "System snapshots in the memory-leak regression.", kind=int, min=5, max=5000),
    Tunable("loop.latency_regression_ratio", 1.5, GROUP_LOOP, "Latency after the turn over latency before that counts as a regression.", min=1.0),
    *(
        Tunable(
            f"loop.auto.{name}", False, GROUP_LOOP,
            f"The {name.replace('_', ' ')} strategy acts alone instead of proposing (conservative: off).", kind=bool,
        )
        for name in STRATEGY_NAMES
    ),
)
