"""Self-debugging: known patterns, diagnostic runs, detected bugs and fix proposals."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class Language(models.TextChoices):
    PYTHON = "python"
    JAVASCRIPT = "javascript"
    ANY = "any"


class KnownPatternQuerySet(models.QuerySet["KnownPattern"]):
    def enabled(self) -> KnownPatternQuerySet:
        return self.filter(enabled=True)


class KnownPattern(models.Model):
    """A failure the engine recognises, what to do about it, and the template that can fix it."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    language = models.CharField(max_length=16, choices=Language.choices, default=Language.PYTHON)
    exception_type = models.CharField(
        max_length=64, blank=True, help_text="e.g. NameError; blank matches any."
    )
    regex = models.TextField(
        blank=True,
        help_text="Searched in the failure message; named groups are handed to the fix template.",
    )
    suggested_action = models.TextField()
    fix_template = models.CharField(
        max_length=64,
        blank=True,
        help_text="A registered fix template (selfdebug.fixes).",
    )
    error_type = models.CharField(max_length=16, default="runtime")
    severity = models.CharField(max_length=16, default="medium")
    priority = models.PositiveSmallIntegerField(
        default=50, help_text="Lower wins when several patterns match."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = KnownPatternQuerySet.as_manager()

    class Meta:
        db_table = "healing_knownpattern"  # the table the model had in healing, data and all
        ordering = ["language", "priority", "slug"]

    def __str__(self) -> str:
        return f"{self.slug} ({self.language})"

    def clean(self) -> None:
        import re

        from django.core.exceptions import ValidationError

        from healing.validation.rules import check_rule
        from selfdebug.fixes import TEMPLATES

        errors = {}
        try:
            re.compile(self.regex)
        except re.error as exc:
            errors["regex"] = f"Not a valid regular expression: {exc}"
        else:
            # Patterns run on text the tests under judgement print: linear time only.
            why = check_rule(self.regex)
            if why:
                errors["regex"] = f"Refused: {why} (no backreferences or lookaround)."
        if self.fix_template and self.fix_template not in TEMPLATES:
            errors["fix_template"] = f"No fix template called {self.fix_template!r}."
        if errors:
            raise ValidationError(errors)

    @property
    def source_label(self) -> str:
        return f"builtin:{self.slug}"

    def history(self) -> dict[str, int]:
        """How this pattern's fixes fared in the pipeline: modifications by status."""
        from healing.models import Modification

        rows = (
            Modification.objects.filter(source=self.source_label)
            .values("status")
            .annotate(n=models.Count("id"))
        )
        return {row["status"]: row["n"] for row in rows}

    def success_rate(self) -> float | None:
        """Applied over decided (applied, rejected, failed, rolled back), with a Laplace prior."""
        history = self.history()
        applied = history.get("applied", 0)
        decided = applied + sum(history.get(s, 0) for s in ("rejected", "failed", "rolled_back"))
        return None if decided == 0 else (applied + 1) / (decided + 2)


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DiagnosticRunQuerySet(models.QuerySet["DiagnosticRun"]):
    def for_workspace(self, workspace_id: int) -> DiagnosticRunQuerySet:
        return self.filter(workspace_id=workspace_id)

    def open(self) -> DiagnosticRunQuerySet:
        return self.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])

    def finished(self) -> DiagnosticRunQuerySet:
        return self.filter(status=RunStatus.DONE)

    def stalled(self, older_than: timedelta) -> DiagnosticRunQuerySet:
        """Queued longer than `older_than`: its task was never sent (the broker was down)."""
        return self.filter(
            status=RunStatus.QUEUED, created_at__lt=timezone.now() - older_than
        ).order_by("created_at", "pk")


class DiagnosticRun(models.Model):
    """One diagnostic pass over a workspace: its tests, the report and the engine's log."""

    class Trigger(models.TextChoices):
        MANUAL = "manual"
        SCHEDULE = "schedule"

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="diagnostic_runs"
    )
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    backend = models.CharField(max_length=32, blank=True)
    base_commit = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    total = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    coverage_percent = models.FloatField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    log = models.JSONField(
        default=dict, blank=True, help_text="The DiagnosticLogger's entries for this run."
    )
    error = models.TextField(blank=True)

    objects = DiagnosticRunQuerySet.as_manager()

    class Meta:
        db_table = "healing_diagnosticrun"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"diagnostics #{self.pk} on {self.workspace_id} ({self.status})"

    def get_absolute_url(self) -> str:
        return f"/diagnostics/runs/{self.pk}/"

    def get_api_url(self) -> str:
        return f"/api/v1/diagnostics/runs/{self.pk}/"

    @property
    def duration_ms(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds() * 1000
        return None


class DetectedBug(models.Model):
    """A problem a static analyser found in one file (pyflakes, bandit, our AST checks)."""

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="detected_bugs"
    )
    run = models.ForeignKey(
        DiagnosticRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="bugs"
    )
    tool = models.CharField(max_length=16)
    code = models.CharField(
        max_length=64, help_text="The analyser's rule, e.g. undefined-name or B602."
    )
    severity = models.CharField(max_length=16)
    path = models.CharField(max_length=1024)
    line = models.PositiveIntegerField()
    message = models.TextField()
    detail = models.JSONField(default=dict, blank=True)
    base_commit = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "healing_detectedbug"
        ordering = ["path", "line"]
        indexes = [models.Index(fields=["workspace", "severity"])]

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.code}"


class FixProposal(models.Model):
    """A diff the engine produced (template, model or test generator) and the modification it became."""

    class Origin(models.TextChoices):
        TEMPLATE = "template"
        MODEL = "model"
        TESTGEN = "testgen"

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="fix_proposals"
    )
    run = models.ForeignKey(
        DiagnosticRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    bug = models.ForeignKey(
        DetectedBug, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    origin = models.CharField(max_length=16, choices=Origin.choices)
    source = models.CharField(
        max_length=128, help_text="The modification's source: builtin:<pattern>, model:<name>."
    )
    template = models.CharField(max_length=64, blank=True)
    test_id = models.CharField(max_length=512, blank=True)
    path = models.CharField(max_length=1024, blank=True)
    language = models.CharField(max_length=32, default="python")
    description = models.TextField(blank=True)
    diff = models.TextField()
    verification = models.JSONField(
        null=True, blank=True, help_text="The local re-run with the fix applied."
    )
    modification = models.ForeignKey(
        "healing.Modification", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submit_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "healing_fixproposal"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source} → {self.path}"
