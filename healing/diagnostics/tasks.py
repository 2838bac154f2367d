"""Celery tasks of self-debugging (issue #8)."""
