"""Celery tasks of scoring and calibration (issue #5)."""
