from __future__ import annotations

from django.db import models
from django.utils import timezone


class RemoteLandingState(models.TextChoices):
    PUSHING = "pushing"  # written before the push: a crash leaves this, recovery asks the remote
    PUSHED = "pushed"
    OPEN = "open"  # a pull request waits for the forge
    MERGED = "merged"
    CLOSED = "closed"
    REJECTED = "rejected"  # the remote refused (it moved)
    FAILED = "failed"


class RemoteLanding(models.Model):
    """One push of a patch (or its revert) to a remote: the refs and commit ids involved — the
    backup of a remote workspace is its pushed parent, kept on the remote itself."""

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="remote_landings"
    )
    modification = models.ForeignKey(
        "healing.Modification", on_delete=models.CASCADE, related_name="remote_landings"
    )
    operation = models.CharField(max_length=16, default="apply")  # apply | rollback
    mode = models.CharField(max_length=16)
    target_ref = models.CharField(max_length=255)
    base_ref = models.CharField(max_length=255)
    base_commit = models.CharField(max_length=64)
    new_commit = models.CharField(max_length=64)
    state = models.CharField(
        max_length=16, choices=RemoteLandingState.choices, default=RemoteLandingState.PUSHING
    )
    pr_number = models.CharField(max_length=32, blank=True)
    pr_url = models.CharField(max_length=1024, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.mode} {self.new_commit[:10]} → {self.target_ref} ({self.state})"
