"""Confidence scores, calibration fits and what the engine learns from outcomes."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class CalibrationMethod(models.TextChoices):
    UNCALIBRATED = "uncalibrated"
    TEMPERATURE = "temperature_scaling"
    BETA = "beta_calibration"
    # What decides the overall score: the evidence model once fitted, else the formula.
    EVIDENCE = "evidence_logistic"
    FORMULA = "formula"


CALIBRATORS = (CalibrationMethod.TEMPERATURE, CalibrationMethod.BETA)
DECIDERS = (CalibrationMethod.EVIDENCE, CalibrationMethod.FORMULA)


class ConfidenceScore(models.Model):
    """The score of one modification: the raw model output, the calibrated probability, every
    component measured (and the agent's claim beside it), and the overall confidence."""

    modification = models.OneToOneField(
        "healing.Modification", on_delete=models.CASCADE, related_name="score"
    )
    created_at = models.DateTimeField(default=timezone.now)
    logits = models.JSONField(default=list, blank=True)
    base_probability = models.FloatField(
        help_text="softmax(logits) at T = 1, or the agent's claimed probability."
    )
    temperature = models.FloatField(default=1.0, help_text="softmax(logits / T)")
    raw_probability = models.FloatField()
    calibrated_probability = models.FloatField()
    calibration_method = models.CharField(max_length=24, choices=CalibrationMethod.choices)
    calibration_fit = models.ForeignKey(
        "healing.CalibrationFit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    components = models.JSONField(
        default=dict, help_text="name → {measured, claimed, used, source}"
    )
    overall = models.FloatField()
    syntax_confidence = models.FloatField(null=True, blank=True)
    logic_confidence = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.modification_id}: {self.overall:.3f} ({self.calibration_method})"


class CalibrationFitQuerySet(models.QuerySet["CalibrationFit"]):
    def active(self, method: str | None = None) -> CalibrationFit | None:
        """The active calibrator (temperature or beta), or of `method`."""
        methods = [method] if method else list(CALIBRATORS)
        return (
            self.filter(is_active=True, method__in=methods).order_by("-created_at", "-id").first()
        )

    def decider(self) -> CalibrationFit | None:
        """The latest record of what decides scores (the evidence model or the formula)."""
        return (
            self.filter(is_active=True, method__in=DECIDERS).order_by("-created_at", "-id").first()
        )


class CalibrationFit(models.Model):
    """One refit of the calibrator from real outcomes, with its ECE and reliability diagram."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    method = models.CharField(max_length=24, choices=CalibrationMethod.choices)
    params = models.JSONField(default=dict, help_text="temperature: {T}; beta: {a, b, c}")
    n_samples = models.PositiveIntegerField(default=0)
    ece_raw = models.FloatField(null=True, blank=True)
    ece_calibrated = models.FloatField(null=True, blank=True)
    brier_raw = models.FloatField(null=True, blank=True)
    brier_calibrated = models.FloatField(
        null=True, blank=True, help_text="Brier score, out of fold like ece_calibrated."
    )
    reliability = models.JSONField(
        default=dict, help_text="bins → count, mean confidence, accuracy (raw and calibrated)"
    )
    is_active = models.BooleanField(default=False)
    note = models.TextField(blank=True)

    objects = CalibrationFitQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} on {self.n_samples} ({self.created_at:%Y-%m-%d %H:%M})"

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "created_at": self.created_at.isoformat(),
            "method": self.method,
            "params": self.params,
            "n_samples": self.n_samples,
            "ece_raw": self.ece_raw,
            "ece_calibrated": self.ece_calibrated,
            "brier_raw": self.brier_raw,
            "brier_calibrated": self.brier_calibrated,
            "reliability": self.reliability,
            "active": self.is_active,
            "note": self.note,
        }


class SuccessRate(models.Model):
    """Learnt success counts per strategy, source and error type (and workspace)."""

    workspace = models.ForeignKey("healing.Workspace", on_delete=models.CASCADE, related_name="+")
    error_type = models.CharField(max_length=16)
    source = models.CharField(max_length=128)
    strategy = models.CharField(max_length=128)
    attempts = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "error_type", "source", "strategy"], name="one_rate_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.error_type}/{self.source}/{self.strategy}: {self.successes}/{self.attempts}"

    @property
    def rate(self) -> float | None:
        return self.successes / self.attempts if self.attempts else None


class AdaptiveThreshold(models.Model):
    """The learnt shift of one error type's threshold, always inside the admin's bounds."""

    error_type = models.CharField(max_length=16, unique=True)
    shift = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.error_type}: {self.shift:+.3f}"


class ThresholdAdaptation(models.Model):
    """Every adaptation of a threshold: old, new, the evidence and the bounds in force."""

    error_type = models.CharField(max_length=16, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    old_threshold = models.FloatField()
    new_threshold = models.FloatField()
    lower_bound = models.FloatField()
    upper_bound = models.FloatField()
    n_samples = models.PositiveIntegerField()
    evidence = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.error_type}: {self.old_threshold:.3f} → {self.new_threshold:.3f}"
