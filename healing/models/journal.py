from __future__ import annotations

from django.db import models
from django.utils import timezone


class JournalState(models.TextChoices):
    IN_FLIGHT = "in_flight"
    DONE = "done"  # the change landed: branch, index and files all at the new commit
    UNDONE = "undone"  # the change was taken back: everything as at the base commit
    STUCK = "stuck"  # recovery found the branch somewhere it did not put it; a person must look


class ApplyJournalQuerySet(models.QuerySet["ApplyJournal"]):
    def in_flight(self) -> ApplyJournalQuerySet:
        return self.filter(state=JournalState.IN_FLIGHT)


class ApplyJournal(models.Model):
    """One attempt to land a change (apply, rollback or restore) on a workspace.

    A step row is written and committed BEFORE each step runs, so after a crash the last step
    says what may have been half-done; recovery then finishes or undoes it."""

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="journals"
    )
    modification = models.ForeignKey(
        "healing.Modification",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="journals",
    )
    operation = models.CharField(max_length=16, help_text="apply | rollback | restore")
    state = models.CharField(
        max_length=16, choices=JournalState.choices, default=JournalState.IN_FLIGHT
    )
    step = models.CharField(max_length=32, blank=True)
    branch = models.CharField(max_length=255)
    base_commit = models.CharField(max_length=64)
    new_commit = models.CharField(max_length=64, blank=True)
    files = models.JSONField(default=list, blank=True)
    backup = models.ForeignKey(
        "healing.Backup", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    holder = models.CharField(max_length=128, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ApplyJournalQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.operation} on {self.workspace_id} at {self.step} ({self.state})"


class ApplyJournalStep(models.Model):
    journal = models.ForeignKey(ApplyJournal, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.step} at {self.created_at:%H:%M:%S.%f}"


class WorkspaceLock(models.Model):
    """At most one apply/rollback/restore per workspace at a time (a row per held lock)."""

    workspace = models.OneToOneField(
        "healing.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    holder = models.CharField(max_length=128, help_text="host:pid:token")
    acquired_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"lock on {self.workspace_id} by {self.holder}"
