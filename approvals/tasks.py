from __future__ import annotations

from typing import Any

from celery import shared_task

from .notifications import send_notices


@shared_task(name="approvals.send_notifications", acks_late=True)
def send_notifications(event_id: int) -> list[str]:
    """Send the notices of one audit event (deduplicated per event and channel)."""
    return send_notices(event_id)


@shared_task(name="approvals.post_chat_response", acks_late=True)
def post_chat_response(url: str, body: dict[str, Any]) -> bool:
    """Update a chat message with a decision's outcome (the callback's response_url)."""
    from . import chat

    if not chat.response_url_allowed(url):
        return False
    chat.post_json(url, body)
    return True
