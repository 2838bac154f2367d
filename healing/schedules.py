"""Celery beat entries of the healing app (collected by selfheal_site.celery)."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    # Cheap: one query and a few scipy fits over at most thousands of outcomes.
    "refit-calibration": {"task": "healing.refit_calibration", "schedule": crontab(minute="*/15")},
    # Cheap: it only queues the workspaces whose diagnostics.schedule_interval_minutes has passed.
    "diagnostics-schedule": {"task": "healing.schedule_diagnostics", "schedule": 300.0},
}
