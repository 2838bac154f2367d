"""Every new audit event is offered to the notification rules (after commit, via Celery)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from healing.models import AuditEvent

from .notifications import queue_notice


@receiver(post_save, sender=AuditEvent, dispatch_uid="approvals.notify_on_audit_event")
def _on_audit_event(sender: Any, instance: AuditEvent, created: bool, **kwargs: Any) -> None:
    if created:
        queue_notice(instance)
