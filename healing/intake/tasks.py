"""Celery tasks of the intake stage: process_modification."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from ..queueing import DATABASE_DOWN, RETRY_WHILE_DATABASE_DOWN
from ..timelimits import timed_out
from .actions import do_process_modification

log = logging.getLogger(__name__)

__all__ = ["process_modification"]


@shared_task(
    name="healing.process_modification",
    autoretry_for=DATABASE_DOWN,
    **RETRY_WHILE_DATABASE_DOWN,
)
def process_modification(modification_id: int, handed_over_at: str | None = None) -> str | None:
    """received → validating → rejected | blocked | sandboxing. Returns the new status (None: the
    modification is gone or another worker has it). `handed_over_at` (ISO time): validate again
    a patch the apply sent back to validating at that time."""
    handed_over = datetime.fromisoformat(handed_over_at) if handed_over_at else None
    try:
        mod = do_process_modification(modification_id, handed_over)
    except SoftTimeLimitExceeded:
        return timed_out(modification_id, "validation", "healing.process_modification")
    return mod.status if mod is not None else None
