"""Celery tasks of the sandbox and apply stages (issue #4)."""
