from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_modification(self, modification_id: int) -> AuditEventQuerySet:
        return self.filter(modification_id=modification_id).order_by("created_at", "id")

    def recent(self, limit: int = 50) -> AuditEventQuerySet:
        return self.order_by("-created_at", "-id")[:limit]  # type: ignore[return-value]

    def of_kind(self, prefix: str) -> AuditEventQuerySet:
        return self.filter(kind__startswith=prefix)


class AuditEvent(models.Model):
    """One row per transition or human action. Never updated, never deleted by the app."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(
        max_length=64,
        db_index=True,
        help_text="e.g. modification.transition, engine.emergency_stop",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=128, help_text="user:<name>, agent:<name>, system, worker:<host>"
    )
    workspace = models.ForeignKey(
        "healing.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    modification = models.ForeignKey(
        "healing.Modification",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
    )
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["modification", "created_at"]),
            models.Index(fields=["kind", "-created_at"]),
        ]

    def __str__(self) -> str:
        arrow = f" {self.from_state}→{self.to_state}" if self.to_state else ""
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind}{arrow} by {self.actor_label}"

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "created_at": self.created_at.isoformat(),
            "kind": self.kind,
            "actor": self.actor_label,
            "workspace_id": self.workspace_id,
            "modification_id": self.modification_id,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "reason": self.reason,
            "data": self.data,
        }
