"""Celery tasks of scoring and calibration (issue #5)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from .learning import do_adapt_thresholds, do_refit_calibration


@shared_task(name="healing.refit_calibration")
def refit_calibration() -> dict[str, Any]:
    """Beat: refit the calibrator once enough outcomes exist, then let thresholds learn."""
    result = do_refit_calibration()
    result["threshold_changes"] = do_adapt_thresholds()
    return result
