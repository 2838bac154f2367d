from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ModificationStatus(models.TextChoices):
    # These names are the public contract: API clients and held-out checks read them.
    RECEIVED = "received"
    VALIDATING = "validating"
    REJECTED = "rejected"
    SANDBOXING = "sandboxing"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


S = ModificationStatus

# The one place the life of a modification is defined. Anything not listed raises.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.VALIDATING, S.BLOCKED, S.CANCELLED}),
    S.VALIDATING: frozenset({S.REJECTED, S.SANDBOXING, S.BLOCKED, S.CANCELLED}),
    S.SANDBOXING: frozenset({S.REJECTED, S.AWAITING_APPROVAL, S.APPROVED, S.BLOCKED, S.CANCELLED}),
    # Back to validating: HEAD moved since the patch was checked, so it is checked again.
    S.AWAITING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.VALIDATING, S.BLOCKED, S.CANCELLED}),
    S.APPROVED: frozenset({S.APPLYING, S.VALIDATING, S.BLOCKED, S.CANCELLED}),
    # Remote workspaces: a push the remote refused (it moved) goes back to validating; a pull
    # request closed unmerged on the forge is rejected.
    S.APPLYING: frozenset({S.APPLIED, S.FAILED, S.VALIDATING, S.REJECTED}),
    S.APPLIED: frozenset({S.ROLLED_BACK}),
    S.FAILED: frozenset({S.ROLLED_BACK}),
    # A block lifts back into the stage it interrupted (or the patch is given up).
    S.BLOCKED: frozenset(
        {
            S.RECEIVED,
            S.VALIDATING,
            S.SANDBOXING,
            S.AWAITING_APPROVAL,
            S.APPROVED,
            S.REJECTED,
            S.CANCELLED,
        }
    ),
    S.REJECTED: frozenset(),
    S.ROLLED_BACK: frozenset(),
    S.CANCELLED: frozenset(),
}

TERMINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
IN_FLIGHT = frozenset({S.RECEIVED, S.VALIDATING, S.SANDBOXING, S.APPLYING})
# The states a Celery task moves a modification out of; the stalled-work sweeper re-sends these.
# (applying is not here: apply recovery at worker start resolves it from the journal.)
QUEUED = frozenset({S.RECEIVED, S.VALIDATING, S.SANDBOXING, S.APPROVED})


class InvalidTransition(Exception):
    def __init__(
        self, modification_id: int | None, from_status: str, to_status: str, detail: str = ""
    ):
        self.from_status = from_status
        self.to_status = to_status
        message = f"Modification {modification_id}: {from_status} → {to_status} is not allowed"
        super().__init__(f"{message}: {detail}" if detail else message)


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


class SafetyLevel(models.TextChoices):
    SAFE = "SAFE"
    LOW_RISK = "LOW_RISK"
    MEDIUM_RISK = "MEDIUM_RISK"
    HIGH_RISK = "HIGH_RISK"
    CRITICAL = "CRITICAL"

    @classmethod
    def rank(cls, level: str) -> int:
        return [c.value for c in cls].index(level)

    @classmethod
    def needs_human(cls, level: str) -> bool:
        """HIGH_RISK and CRITICAL wait for a human click, always, whatever the settings say."""
        return cls.rank(level) >= cls.rank(cls.HIGH_RISK)


class ErrorType(models.TextChoices):
    SYNTAX = "syntax"
    LOGIC = "logic"
    RUNTIME = "runtime"
    PERFORMANCE = "performance"
    SECURITY = "security"


class Severity(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @classmethod
    def rank(cls, level: str) -> int:
        return [c.value for c in cls].index(level)


class ModificationQuerySet(models.QuerySet["Modification"]):
    def awaiting_review(self) -> ModificationQuerySet:
        return self.filter(status=S.AWAITING_APPROVAL)

    def in_flight(self) -> ModificationQuerySet:
        return self.filter(status__in=IN_FLIGHT)

    def open(self) -> ModificationQuerySet:
        return self.exclude(status__in=TERMINAL)

    def blocked(self) -> ModificationQuerySet:
        return self.filter(status=S.BLOCKED)

    def applied(self) -> ModificationQuerySet:
        return self.filter(status=S.APPLIED)

    def stalled(self, older_than: timedelta) -> ModificationQuerySet:
        """Waiting for a worker (queued, or claimed by one that died) longer than `older_than`."""
        return self.filter(
            status__in=QUEUED, status_changed_at__lt=timezone.now() - older_than
        ).order_by("status_changed_at", "pk")

    def for_workspace(self, workspace_id: int) -> ModificationQuerySet:
        return self.filter(workspace_id=workspace_id)

    def submitted_by(self, user: User) -> ModificationQuerySet:
        return self.filter(submitted_by=user)

    def recent_from_source(self, source: str, window: timedelta) -> ModificationQuerySet:
        return self.filter(source=source, created_at__gte=timezone.now() - window)


class Modification(models.Model):
    """One proposed patch and everything learnt about it."""

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.PROTECT, related_name="modifications"
    )
    # Unique per submitter, not globally: one agent learns nothing of another's ids.
    patch_id = models.CharField(max_length=128)
    source = models.CharField(
        max_length=128,
        db_index=True,
        help_text="agent:<user>, builtin:<pattern>, model:<name>, cli:<user>",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    language = models.CharField(max_length=32)
    status = models.CharField(max_length=32, choices=ModificationStatus.choices, default=S.RECEIVED)
    status_changed_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    envelope = models.JSONField(default=dict, help_text="The transmission envelope as received.")
    diff = models.TextField()
    files = models.JSONField(default=list, help_text="Repository-relative paths the diff touches.")
    base_commit = models.CharField(
        max_length=64, blank=True, help_text="HEAD the patch was checked against."
    )
    applied_commit = models.CharField(max_length=64, blank=True)
    approved_digest = models.CharField(
        max_length=64,
        blank=True,
        help_text="review_digest() when the patch was approved; the apply refuses any other.",
    )

    # Classification: the claim, the inference and the effective (stricter) result.
    claimed_error_type = models.CharField(max_length=16, choices=ErrorType.choices, blank=True)
    claimed_severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    inferred_error_type = models.CharField(max_length=16, choices=ErrorType.choices, blank=True)
    inferred_severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    error_type = models.CharField(
        max_length=16, choices=ErrorType.choices, blank=True, db_index=True
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    classification_note = models.TextField(blank=True)

    safety_level = models.CharField(
        max_length=16, choices=SafetyLevel.choices, blank=True, db_index=True
    )
    safety_rule = models.CharField(
        max_length=255, blank=True, help_text="The rule that set the safety level."
    )
    risk_level = models.CharField(
        max_length=16, blank=True, help_text="Anomaly risk: none/low/medium/high/critical."
    )

    validation = models.JSONField(
        default=dict, blank=True, help_text="Stage name → findings and duration."
    )
    confidence = models.FloatField(null=True, blank=True)
    confidence_detail = models.JSONField(default=dict, blank=True)
    preflight = models.JSONField(default=dict, blank=True, help_text="Pre-flight check results.")
    fitness = models.JSONField(default=dict, blank=True, help_text="Code fitness before/after.")

    block_reason = models.TextField(blank=True)
    blocked_until = models.DateTimeField(null=True, blank=True)
    blocked_from = models.CharField(
        max_length=32, blank=True, help_text="The stage a block interrupted."
    )

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
        help_text="The modification whose sandbox or post-apply check revealed this error.",
    )
    cascade_depth = models.PositiveSmallIntegerField(default=0)
    rollback_count = models.PositiveSmallIntegerField(default=0)

    objects = ModificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["workspace", "status"]),
            models.Index(fields=["source", "created_at"]),
            # A workspace's latest patches (the workspaces page), without sorting its history.
            models.Index(fields=["workspace", "-created_at"], name="mod_workspace_latest"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["submitted_by", "patch_id"], name="patch_id_unique_per_submitter"
            ),
            # Patches without a user (builtin:, model:) are told apart by their source.
            models.UniqueConstraint(
                fields=["source", "patch_id"],
                condition=models.Q(submitted_by__isnull=True),
                name="patch_id_unique_per_source_without_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patch_id} ({self.status})"

    def get_absolute_url(self) -> str:
        return f"/patches/{self.pk}/"

    def get_api_url(self) -> str:
        return f"/api/v1/patches/{self.pk}/"

    def review_digest(self) -> str:
        """sha256 over what a reviewer judges: the diff, the base commit, the safety level and
        the findings (canonical JSON). An approval is bound to it; the apply recomputes it."""
        findings = sorted(
            json.dumps({"stage": name, **f}, sort_keys=True, ensure_ascii=False)
            for name, stage in (self.validation or {}).items()
            if isinstance(stage, dict)
            for f in stage.get("findings", [])
            if isinstance(f, dict)
        )
        reviewed = {
            "diff": self.diff,
            "base_commit": self.base_commit,
            "safety_level": self.safety_level,
            "findings": findings,
        }
        canonical = json.dumps(reviewed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def can_transition_to(self, status: str) -> bool:
        return can_transition(self.status, status)

    @property
    def needs_human(self) -> bool:
        return bool(self.safety_level) and SafetyLevel.needs_human(self.safety_level)

    @property
    def age(self) -> timedelta:
        return timezone.now() - self.created_at
