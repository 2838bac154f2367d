"""Host health, sampled with psutil by a beat task."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class HealthStatus(models.TextChoices):
    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"
    CRITICAL = "CRITICAL"

    @classmethod
    def rank(cls, status: str) -> int:
        return [c.value for c in cls].index(status)


class Trend(models.TextChoices):
    IMPROVING = "improving"
    STABLE = "stable"
    DEGRADING = "degrading"
    UNKNOWN = "unknown"


class SystemSnapshotQuerySet(models.QuerySet["SystemSnapshot"]):
    def since(self, when) -> SystemSnapshotQuerySet:  # type: ignore[no-untyped-def]
        return self.filter(taken_at__gte=when)

    def latest_first(self) -> SystemSnapshotQuerySet:
        return self.order_by("-taken_at", "-id")


class SystemSnapshot(models.Model):
    taken_at = models.DateTimeField(default=timezone.now, db_index=True)
    hostname = models.CharField(max_length=255)
    cpu_percent = models.FloatField(help_text="Whole machine.")
    sandbox_cpu_percent = models.FloatField(
        default=0.0, help_text="Share of the machine used by the engine's sandbox children."
    )
    memory_available_percent = models.FloatField()
    sandbox_memory_mb = models.FloatField(default=0.0)
    disk_percent = models.FloatField()
    load_1 = models.FloatField()
    load_5 = models.FloatField()
    load_15 = models.FloatField()
    worker_processes = models.PositiveIntegerField(default=0)
    worker_cpu_percent = models.FloatField(
        default=0.0, help_text="Worker processes (not their sandbox children), per core."
    )
    worker_memory_mb = models.FloatField(
        default=0.0, help_text="RSS of the worker processes (not their sandbox children)."
    )
    error_rate = models.FloatField(null=True, blank=True)
    success_rate = models.FloatField(null=True, blank=True)
    response_time_ms = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=HealthStatus.choices)
    health_score = models.FloatField(help_text="Share of checks passing.")
    trend = models.CharField(max_length=16, choices=Trend.choices, default=Trend.UNKNOWN)
    trend_slope = models.FloatField(
        null=True, blank=True, help_text="Load index, percentage points per minute."
    )
    checks = models.JSONField(default=dict, help_text="Each check: value, threshold, ok.")

    objects = SystemSnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_at", "-id"]

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M:%S} {self.status} cpu={self.cpu_percent:.0f}%"

    @property
    def cpu_excluding_sandbox(self) -> float:
        return max(0.0, self.cpu_percent - self.sandbox_cpu_percent)

    @property
    def load_index(self) -> float:
        """One number for the trend: mean pressure on CPU, memory and disk, in percent."""
        return (
            self.cpu_excluding_sandbox + (100.0 - self.memory_available_percent) + self.disk_percent
        ) / 3.0

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "taken_at": self.taken_at.isoformat(),
            "hostname": self.hostname,
            "status": self.status,
            "health_score": self.health_score,
            "trend": self.trend,
            "trend_slope": self.trend_slope,
            "cpu_percent": self.cpu_percent,
            "sandbox_cpu_percent": self.sandbox_cpu_percent,
            "memory_available_percent": self.memory_available_percent,
            "sandbox_memory_mb": self.sandbox_memory_mb,
            "disk_percent": self.disk_percent,
            "load": [self.load_1, self.load_5, self.load_15],
            "worker_processes": self.worker_processes,
            "worker_cpu_percent": self.worker_cpu_percent,
            "worker_memory_mb": self.worker_memory_mb,
            "error_rate": self.error_rate,
            "success_rate": self.success_rate,
            "response_time_ms": self.response_time_ms,
            "checks": self.checks,
        }


class ScheduleClock(models.Model):
    """When a beat-driven job last ran. Beat ticks often; a job runs only when its tunable interval
    has passed, claimed with a conditional UPDATE so two workers never run it twice."""

    name = models.CharField(max_length=64, unique=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_run_at}"
