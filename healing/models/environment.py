"""A workspace's environment: a virtualenv with its dependencies, built once per key."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class EnvironmentStatus(models.TextChoices):
    PENDING = "pending"  # requested, the build task is queued
    BUILDING = "building"  # a worker claimed it
    READY = "ready"
    FAILED = "failed"


class EnvironmentBuildQuerySet(models.QuerySet["EnvironmentBuild"]):
    def for_workspace(self, workspace_id: int) -> EnvironmentBuildQuerySet:
        return self.filter(workspace_id=workspace_id).order_by("-created_at")


class EnvironmentBuild(models.Model):
    """One build of an environment. The key (setup command, interpreter and the content of the
    setup inputs) is unique: every commit, patch and workspace with that key shares it."""

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="environment_builds"
    )
    key = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=16, choices=EnvironmentStatus.choices, default=EnvironmentStatus.PENDING
    )
    commit = models.CharField(max_length=64)
    # The tree is the commit with this diff applied (a patch that changes a setup input).
    diff = models.TextField(blank=True)
    setup_command = models.CharField(max_length=1024)
    interpreter = models.CharField(max_length=1024)
    inputs = models.JSONField(default=dict, blank=True, help_text="{path: sha256 of content}")
    path = models.CharField(max_length=1024)
    duration_ms = models.FloatField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    log_tail = models.TextField(blank=True)
    packages = models.JSONField(default=dict, blank=True, help_text="{name: version} (pip freeze)")
    tools_added = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(default=timezone.now)

    objects = EnvironmentBuildQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"environment {self.key[:12]} ({self.status})"
