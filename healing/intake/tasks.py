"""Celery tasks of the intake stage (issue #3): process_modification."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task

from ..queueing import DATABASE_DOWN, RETRY_WHILE_DATABASE_DOWN
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
    mod = do_process_modification(modification_id, handed_over)
    return mod.status if mod is not None else None
