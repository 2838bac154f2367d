"""Notices for people: one per audit event that needs someone, by e-mail and webhook.

An audit event is notifiable when a rule below says so. After the event commits, a Celery task
sends it; a NotificationSent row per (event, channel) is claimed first, so a retried task, a
second worker or a repeated signal never sends the same notice twice.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from healing import tunables
from healing.models import AuditEvent
from healing.roles import Role


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str
    path: str  # where a person can act
    audience: Role

    @property
    def url(self) -> str:
        return settings.SITE_URL.rstrip("/") + self.path


def _patch_label(event: AuditEvent) -> str:
    return (event.data or {}).get("patch_id") or f"#{event.modification_id}"


def notice_for(event: AuditEvent) -> Notice | None:
    """The rules: which events need a person, and where that person acts."""
    kind, to_state = event.kind, event.to_state
    if (
        event.modification_id
        and kind == "modification.transition"
        and to_state == "awaiting_approval"
    ):
        return Notice(
            f"[Selfheal] Patch {_patch_label(event)} awaits approval",
            f"Patch {_patch_label(event)} awaits a reviewer's decision. {event.reason}".strip(),
            f"/patches/{event.modification_id}/",
            Role.REVIEWER,
        )
    if kind == "engine.emergency_stop":
        return Notice(
            "[Selfheal] Emergency stop",
            f"The engine was emergency-stopped by {event.actor_label}: {event.reason}",
            "/",
            Role.OPERATOR,
        )
    # breaker.circuit closed→open, breaker.engine CLOSED→OPEN (issue #5); the workspace summary
    # state that follows a circuit (SYNTAX_OPEN...) is the same opening, so it is not notified again.
    if kind.startswith("breaker.") and to_state.lower() == "open":
        data = event.data or {}
        subject = (
            data.get("breaker")
            or data.get("error_type")
            or ("engine-wide" if kind == "breaker.engine" else kind)
        )
        return Notice(
            f"[Selfheal] Circuit breaker opened: {subject}",
            f"A circuit breaker opened ({subject}). {event.reason}".strip(),
            "/",
            Role.OPERATOR,
        )
    automatic = not event.actor_label.startswith("user:")
    if (
        event.modification_id
        and automatic
        and (
            to_state == "rolled_back"
            or kind in {"modification.rollback", "apply.rollback", "rollback.automatic"}
        )
    ):
        return Notice(
            f"[Selfheal] Automatic rollback of {_patch_label(event)}",
            f"Patch {_patch_label(event)} was rolled back automatically: {event.reason}",
            f"/patches/{event.modification_id}/",
            Role.OPERATOR,
        )
    return None


def queue_notice(event: AuditEvent) -> None:
    """Called for every new audit event (post_save); notifiable ones go to Celery after commit."""
    if notice_for(event) is None:
        return
    event_id = event.pk

    def _send() -> None:
        from healing.queueing import send_later

        from .tasks import send_notifications

        # A down broker must not fail (nor, via the result backend's retries, stall) the change.
        send_later(send_notifications, event_id)

    transaction.on_commit(_send)


def _recipients(audience: Role) -> list[str]:
    names = {
        Role.REVIEWER: ["reviewer", "operator", "admin"],
        Role.OPERATOR: ["operator", "admin"],
    }[audience]
    users = (
        get_user_model().objects.filter(is_active=True, groups__name__in=names).exclude(email="")
    )
    return sorted(set(users.values_list("email", flat=True)))


def _claim(event: AuditEvent, channel: str) -> Any:
    from .models import NotificationSent

    try:
        with transaction.atomic():
            return NotificationSent.objects.create(event=event, channel=channel)
    except IntegrityError:
        return None  # already sent (or being sent) by someone else


def _finish(row: Any, ok: bool, detail: str) -> None:
    row.ok = ok
    row.detail = detail[:2000]
    row.save(update_fields=["ok", "detail"])


def post_webhook(url: str, body: dict[str, Any], timeout: float = 5.0) -> int:
    request = urllib.request.Request(  # noqa: S310 - the URL is validated as http(s) by its tunable
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return response.status


def send_notices(event_id: int) -> list[str]:
    """Send the event's notice on every configured channel once; returns the channels used now."""
    event = AuditEvent.objects.filter(pk=event_id).first()
    notice = notice_for(event) if event is not None else None
    if event is None or notice is None:
        return []
    sent: list[str] = []
    values = tunables.get_many(["notifications.webhook_url", "notifications.email_enabled"])
    recipients = _recipients(notice.audience) if values["notifications.email_enabled"] else []
    if recipients and (row := _claim(event, "email")) is not None:
        try:
            send_mail(
                notice.subject, f"{notice.text}\n\nAct here: {notice.url}\n", None, recipients
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the row; mail is not ours
            _finish(row, False, f"{type(exc).__name__}: {exc}")
        else:
            _finish(row, True, f"to {len(recipients)} recipient(s)")
            sent.append("email")
    url = values["notifications.webhook_url"]
    if url and (row := _claim(event, "webhook")) is not None:
        body = {
            "event_id": event.pk,
            "kind": event.kind,
            "subject": notice.subject,
            "text": notice.text,
            "url": notice.url,
            "created_at": event.created_at.isoformat(),
            "workspace_id": event.workspace_id,
            "modification_id": event.modification_id,
        }
        try:
            status = post_webhook(url, body)
        except Exception as exc:  # noqa: BLE001 - the receiver is not ours; recorded on the row
            _finish(row, False, f"{type(exc).__name__}: {exc}")
        else:
            _finish(row, 200 <= status < 300, f"HTTP {status}")
            sent.append("webhook")
    return sent
