"""Chains of follow-up errors: a patch's sandbox run or post-apply check revealed a new
error, and a patch proposed for it. The chain hangs off its root modification."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class CascadeStatus(models.TextChoices):
    OPEN = "open"
    STOPPED = "stopped"


class Cascade(models.Model):
    root = models.OneToOneField(
        "healing.Modification", on_delete=models.CASCADE, related_name="cascade_root"
    )
    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="cascades"
    )
    status = models.CharField(
        max_length=16, choices=CascadeStatus.choices, default=CascadeStatus.OPEN
    )
    stop_reasons = models.JSONField(default=list, blank=True)
    recommendations = models.JSONField(default=list, blank=True)
    last_good_commit = models.CharField(
        max_length=64, blank=True, help_text="HEAD before the root patch."
    )
    created_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"cascade {self.pk} from {self.root_id} ({self.status})"

    @property
    def is_stopped(self) -> bool:
        return self.status == CascadeStatus.STOPPED

    def get_api_url(self) -> str:
        return f"/api/v1/cascades/{self.pk}/"


class CascadeLink(models.Model):
    """One error of the chain, with the patch proposed for it (when there is one)."""

    cascade = models.ForeignKey(Cascade, on_delete=models.CASCADE, related_name="links")
    depth = models.PositiveSmallIntegerField(help_text="1 for the root.")
    modification = models.OneToOneField(
        "healing.Modification",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cascade_link",
    )
    error_type = models.CharField(max_length=16, blank=True)
    severity = models.CharField(max_length=16, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["depth", "id"]

    def __str__(self) -> str:
        return f"{self.cascade_id}#{self.depth} {self.error_type}"
