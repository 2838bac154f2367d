"""Celery tasks of scoring and calibration."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .learning import do_adapt_thresholds, do_refit_calibration, do_refit_confidence_model


@shared_task(name="healing.refit_calibration")
def refit_calibration() -> dict[str, Any]:
    """Beat: refit the calibrator and what decides scores (the evidence model once enough
    outcomes exist), then let thresholds learn."""
    result = do_refit_calibration()
    result["decider"] = do_refit_confidence_model()
    result["threshold_changes"] = do_adapt_thresholds()
    return result
