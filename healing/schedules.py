"""Celery beat entries of the healing app (collected by selfheal_site.celery)."""

BEAT_SCHEDULE: dict = {
    "healing.prune_backups": {"task": "healing.prune_backups", "schedule": 3600.0},
}
