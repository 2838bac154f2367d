from __future__ import annotations

from celery import shared_task

from .notifications import send_notices


@shared_task(name="approvals.send_notifications", acks_late=True)
def send_notifications(event_id: int) -> list[str]:
    """Send the notices of one audit event (deduplicated per event and channel)."""
    return send_notices(event_id)
