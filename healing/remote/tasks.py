from __future__ import annotations

from celery import shared_task

__all__ = ["poll_pull_requests"]


@shared_task(name="healing.poll_pull_requests")
def poll_pull_requests() -> int:
    """Beat's fallback for a webhook that never came: settle merged or closed requests."""
    from .actions import do_poll_pull_requests

    return do_poll_pull_requests()
