from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone


class BackupQuerySet(models.QuerySet["Backup"]):
    def live(self) -> BackupQuerySet:
        return self.filter(pruned_at__isnull=True)

    def older_than(self, age: timedelta) -> BackupQuerySet:
        return self.live().filter(created_at__lt=timezone.now() - age)


class Backup(models.Model):
    """The files a change touches, copied before it lands, with a sha256 manifest."""

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="backups"
    )
    modification = models.ForeignKey(
        "healing.Modification",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backups",
    )
    path = models.CharField(
        max_length=1024, help_text="Directory holding the copies and manifest.json."
    )
    base_commit = models.CharField(max_length=64)
    manifest = models.JSONField(
        default=dict, help_text="{files: [{path, exists, sha256, size, mode}]}"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    restored_at = models.DateTimeField(null=True, blank=True)
    pruned_at = models.DateTimeField(null=True, blank=True)

    objects = BackupQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"backup {self.pk} of {self.workspace} at {self.base_commit[:10]}"

    @property
    def files(self) -> list[dict]:
        return list(self.manifest.get("files", []))

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "workspace": self.workspace.name,
            "modification_id": self.modification_id,
            "base_commit": self.base_commit,
            "files": self.files,
            "created_at": self.created_at.isoformat(),
            "restored_at": self.restored_at.isoformat() if self.restored_at else None,
            "pruned": self.pruned_at is not None,
        }
