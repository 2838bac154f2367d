"""Celery tasks of the sandbox and apply stages (issue #4).

CONTRACT PLACEHOLDER: the sandbox issue replaces these bodies and keeps the task names.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="healing.sandbox_modification")
def sandbox_modification(modification_id: int) -> None:
    """sandboxing → rejected | awaiting_approval | approved (and then apply)."""
    raise NotImplementedError("the sandbox lands with issue #4")


@shared_task(name="healing.apply_modification")
def apply_modification(modification_id: int) -> None:
    """approved → applying → applied | failed, then the post-apply watch."""
    raise NotImplementedError("apply lands with issue #4")
