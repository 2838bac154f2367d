"""Celery beat entries of the monitoring app (collected by selfheal_site.celery). The ticks are
frequent on purpose: each task claims its own admin-tunable interval."""

BEAT_SCHEDULE: dict = {
    "monitoring-system-snapshot": {"task": "monitoring.system_snapshot_tick", "schedule": 5.0},
    "monitoring-healing-loop": {"task": "monitoring.healing_loop_tick", "schedule": 30.0},
    "monitoring-rollup-telemetry": {"task": "monitoring.rollup_telemetry", "schedule": 600.0},
}
