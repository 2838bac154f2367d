"""Telemetry reported by the monitored application, its baseline and its rolled-up history."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from django.db import models
from django.utils import timezone


class SnapshotContext(models.TextChoices):
    LIVE = "live"
    SANDBOX = "sandbox"


class TelemetrySnapshotQuerySet(models.QuerySet["TelemetrySnapshot"]):
    def for_source(self, source: str) -> TelemetrySnapshotQuerySet:
        return self.filter(source=source)

    def live(self) -> TelemetrySnapshotQuerySet:
        return self.filter(context=SnapshotContext.LIVE)

    def between(self, since: datetime, until: datetime) -> TelemetrySnapshotQuerySet:
        return self.filter(recorded_at__gte=since, recorded_at__lt=until)

    def sources(self, since: datetime | None = None) -> list[str]:
        """Sources heard from since `since` (default: the last 7 days)."""
        since = since or timezone.now() - timedelta(days=7)
        qs = self.filter(recorded_at__gte=since).order_by()
        return sorted(set(qs.values_list("source", flat=True).distinct()))


class TelemetrySnapshot(models.Model):
    """One report of Φ, κ and the basin. The basin is stored as raw float64 bytes so that a
    1,000-snapshot window loads into one numpy matrix without parsing JSON."""

    source = models.CharField(max_length=128, help_text="Which monitored application reported it.")
    recorded_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now)
    context = models.CharField(
        max_length=16, choices=SnapshotContext.choices, default=SnapshotContext.LIVE
    )
    workspace = models.ForeignKey(
        "healing.Workspace", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    modification = models.ForeignKey(
        "healing.Modification",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Set for snapshots taken in a modification's sandbox.",
    )
    phi = models.FloatField()
    kappa_eff = models.FloatField()
    basin = models.BinaryField(help_text="basin_coords as little-endian float64 bytes.")
    confidence = models.FloatField(null=True, blank=True)
    surprise = models.FloatField(null=True, blank=True)
    agency = models.FloatField(null=True, blank=True)
    error_rate = models.FloatField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    is_demo = models.BooleanField(
        default=False, help_text="Synthetic data written by seed_demo_telemetry."
    )

    objects = TelemetrySnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [
            models.Index(fields=["source", "-recorded_at"]),
            models.Index(fields=["workspace", "recorded_at"]),
            models.Index(fields=["recorded_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.source} @ {self.recorded_at:%Y-%m-%d %H:%M:%S} Φ={self.phi:.3f} κ={self.kappa_eff:.2f}"

    @property
    def basin_coords(self) -> np.ndarray:
        return np.frombuffer(bytes(self.basin), dtype="<f8")

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "source": self.source,
            "recorded_at": self.recorded_at.isoformat(),
            "context": self.context,
            "phi": self.phi,
            "kappa_eff": self.kappa_eff,
            "basin_coords": self.basin_coords.tolist(),
            "confidence": self.confidence,
            "surprise": self.surprise,
            "agency": self.agency,
            "error_rate": self.error_rate,
            "latency_ms": self.latency_ms,
            "extra": self.extra,
            "is_demo": self.is_demo,
        }


class TelemetryRollup(models.Model):
    """Raw snapshots past the retention period, aggregated per bucket (means, minima, maxima)."""

    source = models.CharField(max_length=128)
    bucket_start = models.DateTimeField()
    bucket_seconds = models.PositiveIntegerField()
    count = models.PositiveIntegerField()
    phi_mean = models.FloatField()
    phi_min = models.FloatField()
    phi_max = models.FloatField()
    kappa_mean = models.FloatField()
    kappa_min = models.FloatField()
    kappa_max = models.FloatField()
    error_rate_mean = models.FloatField(null=True, blank=True)
    latency_ms_mean = models.FloatField(null=True, blank=True)
    latency_ms_max = models.FloatField(null=True, blank=True)
    basin_drift_mean = models.FloatField(
        null=True, blank=True, help_text="Mean Fisher-Rao distance from the baseline then in force."
    )
    is_demo = models.BooleanField(default=False)

    class Meta:
        ordering = ["source", "bucket_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "bucket_start", "bucket_seconds"],
                name="monitoring_rollup_unique_bucket",
            )
        ]
        indexes = [models.Index(fields=["source", "bucket_start"])]

    def __str__(self) -> str:
        return f"{self.source} {self.bucket_start:%Y-%m-%d %H:%M} ×{self.count}"


class BaselineQuerySet(models.QuerySet["Baseline"]):
    def current_for(self, source: str) -> Baseline | None:
        return self.filter(source=source).order_by("-created_at", "-id").first()


class Baseline(models.Model):
    """The basin drift is measured from here. A new row per reset: the history stays."""

    source = models.CharField(max_length=128, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by_label = models.CharField(max_length=128)
    basin = models.BinaryField()
    phi = models.FloatField(null=True, blank=True)
    kappa_eff = models.FloatField(null=True, blank=True)
    sample_count = models.PositiveIntegerField(
        default=0, help_text="0: given explicitly; else the window it was averaged from."
    )
    reason = models.TextField(blank=True)

    objects = BaselineQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"baseline {self.source} @ {self.created_at:%Y-%m-%d %H:%M:%S}"

    @property
    def basin_coords(self) -> np.ndarray:
        return np.frombuffer(bytes(self.basin), dtype="<f8")

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by_label,
            "basin_coords": self.basin_coords.tolist(),
            "phi": self.phi,
            "kappa_eff": self.kappa_eff,
            "sample_count": self.sample_count,
            "reason": self.reason,
        }
