"""Circuit breaker state, shared by every process through these rows.

Rows are only changed inside `healing.breakers` actions, under `select_for_update()` of the row
that serialises the decision (the workspace breaker, or the engine breaker), so every worker and
web process sees one state and counts every outcome exactly once.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class DualState(models.TextChoices):
    CLOSED = "CLOSED"
    SYNTAX_OPEN = "SYNTAX_OPEN"
    LOGIC_OPEN = "LOGIC_OPEN"
    PERMANENTLY_OPEN = "PERMANENTLY_OPEN"


class EngineBreakerState(models.TextChoices):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class WorkspaceBreaker(models.Model):
    """The design's dual breaker of one workspace: the syntax circuit and the logic circuit
    (logic, runtime, performance and security fixes). Both open: PERMANENTLY_OPEN, which only an
    admin reset lifts."""

    workspace = models.OneToOneField(
        "healing.Workspace", on_delete=models.CASCADE, related_name="breaker"
    )
    state = models.CharField(max_length=20, choices=DualState.choices, default=DualState.CLOSED)
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.state}"


class ErrorTypeCircuit(models.Model):
    """Counters and open/closed state of one error type in one workspace, for one engine
    (`source`): one engine's failures never open a circuit for another. A circuit an admin forces
    open has no source and holds every engine."""

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="circuits"
    )
    error_type = models.CharField(max_length=16)
    source = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="The engine whose outcomes it counts; empty: opened by an admin for every engine.",
    )
    is_open = models.BooleanField(default=False)
    forced = models.BooleanField(
        default=False, help_text="Opened by an admin: no cool-down, only a reset lifts it."
    )
    attempts = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    trip = models.JSONField(
        default=dict, blank=True, help_text="The metric that opened it: metric, value, threshold."
    )
    window_start = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The error budget counts outcomes since (set on every close).",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "error_type", "source"],
                name="circuit_per_workspace_type_source",
            )
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}/{self.error_type}/{self.source or 'all'}: {'open' if self.is_open else 'closed'}"

    def as_json(self) -> dict:
        return {
            "error_type": self.error_type,
            "source": self.source,
            "open": self.is_open,
            "forced": self.forced,
            "attempts": self.attempts,
            "failures": self.failures,
            "successes": self.successes,
            "consecutive_failures": self.consecutive_failures,
            "opened_at": _iso(self.opened_at),
            "retry_at": _iso(self.retry_at),
            "reason": self.reason,
            "trip": self.trip,
        }


# The source of the operator-level breaker that holds every engine at once.
GLOBAL_SOURCE = ""


class EngineBreakerManager(models.Manager["EngineBreaker"]):
    def current(self) -> EngineBreaker:
        """The operator-level global breaker."""
        return self.for_source(GLOBAL_SOURCE)

    def for_source(self, source: str) -> EngineBreaker:
        breaker, _ = self.get_or_create(source=source[:128])
        return breaker

    def peek(self, source: str) -> EngineBreaker:
        """For display: the stored breaker, or an unsaved closed one (a read creates no row)."""
        source = source[:128]
        return self.filter(source=source).first() or self.model(source=source)

    def engines(self) -> models.QuerySet[EngineBreaker]:
        return self.exclude(source=GLOBAL_SOURCE).order_by("source")


class EngineBreaker(models.Model):
    """One breaker per engine (`source`, CLOSED/OPEN/HALF_OPEN), counted from that engine's
    outcomes only; the row with source "" is the operator-level global breaker, which counts
    nothing and is only opened and closed by an admin."""

    source = models.CharField(max_length=128, unique=True, default=GLOBAL_SOURCE)
    state = models.CharField(
        max_length=12, choices=EngineBreakerState.choices, default=EngineBreakerState.CLOSED
    )
    forced = models.BooleanField(default=False, help_text="Held open by an admin: no cool-down.")
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    trials_admitted = models.PositiveIntegerField(
        default=0, help_text="Patches let through in this HALF_OPEN period."
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)

    objects = EngineBreakerManager()

    def __str__(self) -> str:
        return f"{self.source or 'global'}: {self.state}"

    @property
    def is_global(self) -> bool:
        return self.source == GLOBAL_SOURCE

    def as_json(self) -> dict:
        return {
            "source": self.source,
            "scope": "global" if self.is_global else "engine",
            "state": self.state,
            "forced": self.forced,
            "consecutive_failures": self.consecutive_failures,
            "consecutive_successes": self.consecutive_successes,
            "trials_admitted": self.trials_admitted,
            "opened_at": _iso(self.opened_at),
            "retry_at": _iso(self.retry_at),
            "changed_at": _iso(self.changed_at),
            "changed_by": self.changed_by.get_username() if self.changed_by else None,
            "reason": self.reason,
        }


class Hold(models.Model):
    """One thing that holds a blocked modification: `kind` and `key` name what lifts it
    (emergency_stop, engine_breaker:<source>, global_breaker, dual_breaker:<workspace>:<type>:<source>,
    rate_limit, isolation_unavailable:<level>, cascade:<id>, health, anomaly:<level>,
    remote_unreachable:<workspace>). A
    modification resumes when its last hold is lifted (healing.actions.unblock)."""

    modification = models.ForeignKey(
        "healing.Modification", on_delete=models.CASCADE, related_name="holds"
    )
    kind = models.CharField(max_length=32)
    key = models.CharField(max_length=200, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["modification", "kind", "key"], name="one_hold_per_key")
        ]
        indexes = [models.Index(fields=["kind", "key"])]

    def __str__(self) -> str:
        return f"{self.modification_id} held by {self.label}"

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.key}" if self.key else self.kind


class OutcomeQuerySet(models.QuerySet["Outcome"]):
    def final_per_modification(self) -> OutcomeQuerySet:
        """The latest outcome of each modification: a rollback after an apply makes it wrong."""
        latest = self.filter(modification_id=models.OuterRef("modification_id")).order_by(
            "-recorded_at", "-id"
        )
        return self.filter(pk=models.Subquery(latest.values("pk")[:1]))


class Outcome(models.Model):
    """One outcome of one modification at one stage (sandbox, apply, verify, rollback).

    Unique per (modification, stage): a retried task cannot count twice. Breakers, calibration and
    the learnt success rates all read from here."""

    modification = models.ForeignKey(
        "healing.Modification", on_delete=models.CASCADE, related_name="outcomes"
    )
    workspace = models.ForeignKey("healing.Workspace", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=16)
    success = models.BooleanField()
    error_type = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=128, blank=True)
    strategy = models.CharField(max_length=128, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    counted = models.BooleanField(
        default=True,
        help_text="Fed to the breakers and success rates (see healing.breakers.outcomes).",
    )
    recorded_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = OutcomeQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["modification", "stage"], name="one_outcome_per_stage")
        ]
        indexes = [models.Index(fields=["workspace", "error_type", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.modification_id}@{self.stage}: {'ok' if self.success else 'fail'}"


class ApplicationSlot(models.Model):
    """One application counted against the shared rate limit (reserved at pre-flight, confirmed by
    note_application). Rows older than the window are irrelevant and pruned."""

    modification = models.OneToOneField(
        "healing.Modification", on_delete=models.CASCADE, related_name="+"
    )
    reserved_at = models.DateTimeField(default=timezone.now, db_index=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.modification_id} at {self.reserved_at:%H:%M:%S}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
