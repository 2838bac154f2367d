"""Celery beat entries of the healing app (collected by selfheal_site.celery)."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    # Cheap: one query and a few scipy fits over at most thousands of outcomes.
    "refit-calibration": {"task": "healing.refit_calibration", "schedule": crontab(minute="*/15")},
    "healing.prune_backups": {"task": "healing.prune_backups", "schedule": 3600.0},
    "healing.prune_environments": {"task": "healing.prune_environments", "schedule": 3600.0},
    # Cheap: one query over the open modifications; it re-sends work a broker or database outage left waiting.
    "healing.requeue_stalled": {"task": "healing.requeue_stalled", "schedule": 60.0},
    # Cheap: one grouped query over the holds of blocked patches, then one check per distinct
    # block. Time-based lifts (rate-limit window, breaker cool-down, health retry), an isolation
    # level that became available, and any lift whose event was lost, resume within seconds.
    "healing.sweep_holds": {"task": "healing.sweep_holds", "schedule": 5.0},
    # The fallback for forge webhooks that never arrive (remote workspaces, pull_request landing).
    "healing.poll_pull_requests": {"task": "healing.poll_pull_requests", "schedule": 120.0},
}
