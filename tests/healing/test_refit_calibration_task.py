"""The beat task refits the calibrator from real outcomes and lets thresholds learn within bounds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from healing.actions import do_change_setting
from healing.breakers import record_outcome
from healing.models import AdaptiveThreshold, AuditEvent, CalibrationFit, ThresholdAdaptation
from healing.models.scoring import CALIBRATORS
from healing.schedules import BEAT_SCHEDULE
from healing.scoring import confidence_gate, score_modification
from healing.scoring.tasks import refit_calibration
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roomy_breakers() -> None:
    # Many recorded failures here are calibration data, not a runaway engine.
    do_change_setting(None, "engine_breaker.failure_threshold", 1000)


def scored_outcomes(
    workspace: Any, n: int, *, factor: float = 3.0, seed: int = 5, error_type: str = "logic"
) -> None:
    """Over-confident logits (× factor); the outcome drawn with the true top probability."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        z = rng.normal(0, 1.5, 3)
        truth = np.exp(z).max() / np.exp(z).sum()
        mod = factories.make_modification(
            workspace,
            error_type=error_type,
            envelope={
                "confidence_scoring": {
                    "logits": (z * factor).tolist(),
                    "confidence_components": {"test_coverage": 1.0},
                }
            },
        )
        score_modification(mod)
        record_outcome(mod, success=bool(rng.random() < truth), stage="apply")


def test_it_is_scheduled_by_beat() -> None:
    assert BEAT_SCHEDULE["refit-calibration"]["task"] == "healing.refit_calibration"


def test_it_labels_scores_uncalibrated_until_enough_outcomes_exist(workspace: Any) -> None:
    scored_outcomes(workspace, 20)
    result = refit_calibration.apply().get()
    assert (
        result["status"] == "uncalibrated" and result["n_samples"] == 20 and result["needed"] == 50
    )
    assert not CalibrationFit.objects.filter(method__in=CALIBRATORS).exists()
    # Too few outcomes for the evidence model: the formula decides, with its figures shown.
    assert result["decider"]["decided_by"] == "formula" and result["decider"]["n_samples"] == 20


def test_it_fits_temperature_scaling_and_scores_with_it(workspace: Any) -> None:
    scored_outcomes(workspace, 300)
    result = refit_calibration.apply().get()
    assert result["status"] == "fitted" and result["method"] == "temperature_scaling"
    fit = CalibrationFit.objects.get(is_active=True, method__in=CALIBRATORS)
    assert fit.n_samples == 300
    assert 2.0 < fit.params["T"] < 4.5
    assert fit.ece_calibrated < fit.ece_raw / 2
    assert sum(b["count"] for b in fit.reliability["calibrated"]) == 300
    assert AuditEvent.objects.filter(kind="calibration.refit").count() == 1

    mod = factories.make_modification(
        workspace, envelope={"confidence_scoring": {"logits": [6.0, 0.0, 0.0]}}
    )
    detail = score_modification(mod)
    assert detail["calibration_method"] == "temperature_scaling" and detail["calibrated"] is True
    assert detail["model_probability"]["temperature"] == pytest.approx(fit.params["T"])
    assert detail["model_probability"]["calibrated"] < detail["model_probability"]["base"]
    assert "(uncalibrated)" not in confidence_gate(mod).reason


def test_it_fits_beta_calibration_when_an_admin_chooses_it(workspace: Any, admin_user: Any) -> None:
    scored_outcomes(workspace, 120)
    refit_calibration.apply().get()
    do_change_setting(admin_user, "scoring.calibration_method", "beta_calibration")
    mod = factories.make_modification(
        workspace, envelope={"confidence_scoring": {"logits": [6.0, 0.0]}}
    )
    # The active fit is of the other method: scores say uncalibrated until the next refit.
    assert score_modification(mod)["calibration_method"] == "uncalibrated"
    refit_calibration.apply().get()
    fit = CalibrationFit.objects.get(is_active=True, method__in=CALIBRATORS)
    assert fit.method == "beta_calibration" and set(fit.params) == {"a", "b", "c"}
    assert CalibrationFit.objects.filter(method__in=CALIBRATORS).count() == 2
    assert score_modification(mod)["calibration_method"] == "beta_calibration"


def test_it_adapts_a_threshold_only_within_the_admins_bounds(
    workspace: Any, admin_user: Any
) -> None:
    do_change_setting(admin_user, "learning.max_threshold_shift", 0.05)
    # Claimed probabilities 0.70 … 0.95; patches under 0.83 go wrong, the rest right.
    mods = []
    for i in range(40):
        p = 0.70 + 0.25 * i / 39
        mod = factories.make_modification(
            workspace,
            error_type="logic",
            envelope={
                "confidence_scoring": {
                    "overall_confidence": p,
                    "confidence_components": {"test_coverage": 1.0},
                }
            },
        )
        score_modification(mod)  # all scored before any outcome: the score is the claim alone
        mods.append((mod, p))
    for mod, p in mods:
        record_outcome(mod, success=p >= 0.83, stage="apply")
    result = refit_calibration.apply().get()
    change = result["threshold_changes"][0]
    assert (
        change["error_type"] == "logic" and change["old"] == 0.80 and change["new"] == 0.82
    )  # 19 right of 21 at or above: precision 0.905
    adaptation = ThresholdAdaptation.objects.get()
    assert (adaptation.lower_bound, adaptation.upper_bound) == (0.75, 0.85)
    assert AuditEvent.objects.filter(kind="threshold.adapt").count() == 1
    mod = factories.make_modification(workspace, error_type="logic")
    mod.confidence = 0.815
    assert not confidence_gate(mod).auto_apply_ok

    # The admin narrows the bounds: the learnt shift is clipped at once.
    do_change_setting(admin_user, "learning.max_threshold_shift", 0.01)
    gate = confidence_gate(mod)
    assert (
        gate.detail["threshold"] == pytest.approx(0.81)
        and AdaptiveThreshold.objects.get().shift > 0.01
    )


@pytest.mark.django_db(transaction=True)
def test_it_runs_in_a_real_worker(celery_worker_process: Any, workspace: Any) -> None:
    scored_outcomes(workspace, 60)
    result = refit_calibration.delay().get(timeout=60)
    assert result["status"] == "fitted" and result["n_samples"] == 60
    assert CalibrationFit.objects.get(is_active=True, method__in=CALIBRATORS).n_samples == 60
