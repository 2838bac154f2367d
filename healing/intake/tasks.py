"""Celery tasks of the intake stage (issue #3): process_modification."""
