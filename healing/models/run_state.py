from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class EngineRunState(models.TextChoices):
    RUNNING = "running"
    STOPPED = "stopped"
    EMERGENCY_STOPPED = "emergency_stopped"


class EngineStateManager(models.Manager["EngineState"]):
    def current(self) -> EngineState:
        state, _ = self.get_or_create(pk=1)
        return state


class EngineState(models.Model):
    """The one row that says whether the engine may start new work."""

    state = models.CharField(
        max_length=32, choices=EngineRunState.choices, default=EngineRunState.RUNNING
    )
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    objects = EngineStateManager()

    def __str__(self) -> str:
        return self.state

    @property
    def is_emergency_stopped(self) -> bool:
        return self.state == EngineRunState.EMERGENCY_STOPPED

    @property
    def is_running(self) -> bool:
        return self.state == EngineRunState.RUNNING

    def as_json(self) -> dict:
        return {
            "state": self.state,
            "changed_at": self.changed_at.isoformat(),
            "changed_by": self.changed_by.get_username() if self.changed_by else None,
            "reason": self.reason,
        }
