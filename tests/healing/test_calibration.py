"""Calibrators fitted on synthetic data with known miscalibration, cross-checked with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression

from healing.scoring.calibration import (
    BetaCalibration,
    Samples,
    TemperatureScaling,
    cross_validated,
    ece,
    max_softmax,
    reliability,
)


def overconfident_logits(n: int = 4000, k: int = 3, factor: float = 3.0, seed: int = 7) -> Samples:
    """True class probabilities from logits z; the model reports z × factor (over-confident).
    The label says whether its top answer was right, drawn with the true top probability."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, (n, k))
    true_top = np.exp(z).max(axis=1) / np.exp(z).sum(axis=1)
    labels = (rng.random(n) < true_top).astype(int)
    reported = z * factor
    return Samples.build(reported.tolist(), [max_softmax(row) for row in reported], labels)


def skewed_claims(n: int = 4000, seed: int = 11) -> Samples:
    """Agents that claim p, while the truth is p² (optimistic everywhere): no logits at all."""
    rng = np.random.default_rng(seed)
    claimed = rng.uniform(0.05, 0.99, n)
    labels = (rng.random(n) < claimed**2).astype(int)
    return Samples.build([[] for _ in range(n)], claimed.tolist(), labels)


def sklearn_ece(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """ECE from scikit-learn's calibration_curve with the bin counts taken the same way."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    edges = np.linspace(0, 1, n_bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    counts = counts[counts > 0]
    return float(np.sum(counts / len(p) * np.abs(prob_true - prob_pred)))


def test_it_recovers_the_temperature_and_brings_the_ece_well_down() -> None:
    samples = overconfident_logits()
    raw = samples.at_temperature(1.0)
    scaler = TemperatureScaling().fit(samples)
    assert scaler.temperature == pytest.approx(3.0, rel=0.1)  # we divide by T: T > 1 softens
    calibrated = cross_validated("temperature_scaling", samples)
    assert ece(raw, samples.labels) > 0.15
    assert ece(calibrated, samples.labels) < ece(raw, samples.labels) / 4
    assert ece(calibrated, samples.labels) == pytest.approx(
        sklearn_ece(calibrated, samples.labels), abs=1e-9
    )


def test_it_matches_scikit_learns_logistic_regression_for_temperature_without_logits() -> None:
    # On claimed probabilities, temperature scaling is a logistic regression on logit(p) without
    # intercept, whose coefficient is 1 / T.
    samples = skewed_claims()
    scaler = TemperatureScaling().fit(samples)
    reference = LogisticRegression(C=1e6, fit_intercept=False).fit(
        logit(samples.base)[:, None], samples.labels
    )
    assert 1 / scaler.temperature == pytest.approx(reference.coef_[0, 0], rel=1e-3)


def test_it_fits_beta_calibration_like_scikit_learn_and_beats_the_raw_ece() -> None:
    samples = skewed_claims()
    beta = BetaCalibration().fit(samples)
    features = BetaCalibration.features(samples.base)
    # Tight tolerance: sklearn's default lbfgs stops short of the optimum on this data.
    reference = LogisticRegression(C=1e6, tol=1e-10, max_iter=10_000).fit(features, samples.labels)
    assert [beta.a, beta.b] == pytest.approx(list(reference.coef_[0]), rel=1e-3)
    assert beta.c == pytest.approx(reference.intercept_[0], abs=1e-3)
    assert np.max(np.abs(beta.predict(samples) - reference.predict_proba(features)[:, 1])) < 0.01

    raw_ece = ece(samples.base, samples.labels)
    calibrated = cross_validated("beta_calibration", samples)
    assert raw_ece > 0.1
    assert ece(calibrated, samples.labels) < raw_ece / 4
    assert sklearn_ece(calibrated, samples.labels) == pytest.approx(
        ece(calibrated, samples.labels), abs=1e-9
    )


def test_it_bins_the_reliability_diagram_as_scikit_learn_does() -> None:
    samples = overconfident_logits(n=1500)
    p = samples.at_temperature(1.0)
    prob_true, prob_pred = calibration_curve(samples.labels, p, n_bins=10)
    bins = [b for b in reliability(p, samples.labels) if b["count"]]
    assert [b["accuracy"] for b in bins] == pytest.approx(list(prob_true))
    assert [b["mean_confidence"] for b in bins] == pytest.approx(list(prob_pred))
    assert sum(b["count"] for b in reliability(p, samples.labels)) == 1500


def test_it_leaves_a_calibrated_model_alone() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, 4000)
    samples = Samples.build([[] for _ in p], p.tolist(), (rng.random(4000) < p).astype(int))
    assert TemperatureScaling().fit(samples).temperature == pytest.approx(1.0, abs=0.1)
    assert TemperatureScaling(2.0).predict_one([], 0.9) == pytest.approx(expit(logit(0.9) / 2))
