"""The healing loop's on/off state and the history of what it found and proposed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class HealingLoopStateManager(models.Manager["HealingLoopState"]):
    def current(self) -> HealingLoopState:
        state, _ = self.get_or_create(pk=1)
        return state


class HealingLoopState(models.Model):
    running = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    last_cycle_at = models.DateTimeField(null=True, blank=True)
    cycles = models.PositiveIntegerField(default=0)

    objects = HealingLoopStateManager()

    def __str__(self) -> str:
        return "running" if self.running else "stopped"

    def as_json(self) -> dict:
        return {
            "running": self.running,
            "changed_at": self.changed_at.isoformat(),
            "changed_by": self.changed_by.get_username() if self.changed_by else None,
            "reason": self.reason,
            "last_cycle_at": self.last_cycle_at.isoformat() if self.last_cycle_at else None,
            "cycles": self.cycles,
        }


class HealingActionKind(models.TextChoices):
    ROLLBACK = "rollback"
    OPEN_BREAKER = "open_breaker"
    RESET_BASELINE = "reset_baseline"
    RESTART_WORKERS = "restart_workers"


class AttemptStatus(models.TextChoices):
    PROPOSED = "proposed"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


OPEN_ATTEMPT_STATUSES = (AttemptStatus.PROPOSED, AttemptStatus.EXECUTING)


class HealingAttemptQuerySet(models.QuerySet["HealingAttempt"]):
    def proposed(self) -> HealingAttemptQuerySet:
        return self.filter(status=AttemptStatus.PROPOSED)

    def open(self) -> HealingAttemptQuerySet:
        return self.filter(status__in=OPEN_ATTEMPT_STATUSES)

    def recent(self, limit: int = 100) -> HealingAttemptQuerySet:
        return self.select_related("modification").order_by("-created_at", "-id")[:limit]  # type: ignore[return-value]


class HealingAttempt(models.Model):
    """One finding of one strategy turned into one proposed action, and what became of it."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    strategy = models.CharField(max_length=64, db_index=True)
    source = models.CharField(
        max_length=128, blank=True, help_text="Telemetry source of the signal ('' for the host)."
    )
    finding = models.JSONField(
        default=dict, help_text="metric, value, threshold, turned_at, detail."
    )
    action = models.CharField(max_length=32, choices=HealingActionKind.choices)
    action_args = models.JSONField(default=dict, blank=True)
    modification = models.ForeignKey(
        "healing.Modification",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="healing_attempts",
        help_text="The modification to roll back, when the action is a rollback.",
    )
    status = models.CharField(
        max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.PROPOSED, db_index=True
    )
    auto = models.BooleanField(
        default=False, help_text="Executed by the loop alone (its strategy was allowed to act)."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    objects = HealingAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["strategy", "action", "status"])]

    def __str__(self) -> str:
        return f"{self.strategy} → {self.action} ({self.status})"

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "created_at": self.created_at.isoformat(),
            "strategy": self.strategy,
            "source": self.source,
            "finding": self.finding,
            "action": self.action,
            "action_args": self.action_args,
            "modification_id": self.modification_id,
            "status": self.status,
            "auto": self.auto,
            "decided_by": self.decided_by.get_username() if self.decided_by else None,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "executed_at": self.executed_at.isoformat() if self.executed_at else None,
            "outcome": self.outcome,
        }
