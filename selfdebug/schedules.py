"""Celery beat entries of self-debugging (collected by selfheal_site.celery)."""

BEAT_SCHEDULE: dict = {
    # Cheap: it only queues the workspaces whose diagnostics.schedule_interval_minutes has passed.
    "diagnostics-schedule": {"task": "healing.schedule_diagnostics", "schedule": 300.0},
}
