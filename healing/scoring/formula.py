"""The design's scorer, as pure functions (no database): what the benchmark times.

p        = max softmax(logits / T)            — we divide by T (T > 1 softens)
p_cal    = the active calibrator's map of p   (temperature: its fitted T; beta: μ(p))
overall  = p_cal × historical_success × pattern_similarity × complexity_penalty
           × (0.5 + 0.5 × test_coverage)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .calibration import EPS, BetaCalibration, Calibrator, TemperatureScaling

FACTORS = ("historical_success", "pattern_similarity", "complexity_penalty")


def base_probability(logits: Sequence[float], claimed: float | None) -> float:
    """softmax(logits) at T = 1 (the top class), else the agent's claimed probability, else 0.5."""
    if logits:
        peak = max(logits)
        exps = [math.exp(x - peak) for x in logits]
        return max(exps) / sum(exps)
    if claimed is not None:
        return min(max(claimed, EPS), 1 - EPS)
    return 0.5


def model_probability(
    logits: Sequence[float], base: float, temperature: float, calibrator: Calibrator | None
) -> float:
    if isinstance(calibrator, TemperatureScaling | BetaCalibration):
        return calibrator.predict_one(logits, base)
    return TemperatureScaling(temperature).predict_one(logits, base)


def combine(p: float, used: Mapping[str, float]) -> float:
    value = p
    for name in FACTORS:
        value *= used.get(name, 1.0)
    return value * (0.5 + 0.5 * used.get("test_coverage", 0.0))
