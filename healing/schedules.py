"""Celery beat entries of the healing app (collected by selfheal_site.celery)."""

BEAT_SCHEDULE: dict = {}
