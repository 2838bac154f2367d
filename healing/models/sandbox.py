from __future__ import annotations

from django.db import models
from django.utils import timezone


class SandboxRunKind(models.TextChoices):
    PATCHED = "patched"  # HEAD with the modification's diff applied
    BASELINE = "baseline"  # unpatched HEAD, cached per commit
    VERIFY = "verify"  # the tests again after an apply


class SandboxRunQuerySet(models.QuerySet["SandboxRun"]):
    def baseline_for(self, workspace_id: int, commit: str, test_command: str) -> SandboxRun | None:
        """The cached baseline of a commit: a run the runner did not cut short (a limit only
        named from the tests' output, `limit_inferred`, let every test run)."""
        return (
            self.filter(
                workspace_id=workspace_id,
                kind=SandboxRunKind.BASELINE,
                commit=commit,
                test_command=test_command,
            )
            .filter(models.Q(limit_hit="") | models.Q(detail__limit_inferred=True))
            .order_by("-created_at")
            .first()
        )

    def for_modification(self, modification_id: int) -> SandboxRunQuerySet:
        return self.filter(modification_id=modification_id).order_by("-created_at")


class SandboxRun(models.Model):
    """One run of a workspace's tests in the sandbox, with the outcome of every test."""

    workspace = models.ForeignKey(
        "healing.Workspace", on_delete=models.CASCADE, related_name="sandbox_runs"
    )
    modification = models.ForeignKey(
        "healing.Modification",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sandbox_runs",
    )
    kind = models.CharField(
        max_length=16, choices=SandboxRunKind.choices, default=SandboxRunKind.PATCHED
    )
    commit = models.CharField(max_length=64, db_index=True)
    test_command = models.CharField(max_length=1024)
    isolation_level = models.CharField(max_length=16)
    ok = models.BooleanField(default=False)
    limit_hit = models.CharField(
        max_length=32,
        blank=True,
        help_text="wall_time, memory, cpu, processes, file_size, output, network, filesystem, emergency_stop",
    )
    exit_code = models.IntegerField(null=True, blank=True)
    duration_ms = models.FloatField(default=0.0)
    tests = models.JSONField(
        default=list, blank=True, help_text="[{nodeid, outcome, message, duration_ms}]"
    )
    new_failures = models.JSONField(default=list, blank=True)
    fixed = models.JSONField(default=list, blank=True)
    coverage = models.FloatField(null=True, blank=True)
    output_tail = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = SandboxRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "kind", "commit"])]

    def __str__(self) -> str:
        return f"{self.kind} run of {self.commit[:10]} ({'ok' if self.ok else self.limit_hit or 'failed'})"

    @property
    def failing(self) -> list[str]:
        return [t["nodeid"] for t in self.tests if t.get("outcome") in {"failed", "error"}]

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "kind": self.kind,
            "commit": self.commit,
            "isolation_level": self.isolation_level,
            "ok": self.ok,
            "limit_hit": self.limit_hit or None,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
            "tests": self.tests,
            "new_failures": self.new_failures,
            "fixed": self.fixed,
            "coverage": self.coverage,
            "output_tail": self.output_tail,
            "created_at": self.created_at.isoformat(),
        }
