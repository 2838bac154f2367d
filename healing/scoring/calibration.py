"""Calibration maths: temperature scaling and beta calibration, ECE and reliability diagrams.

Each sample is a model output: its logits (a list, possibly empty) and its base probability
(softmax(logits) at T = 1, or the agent's claimed probability when it sent no logits). The label
is whether the patch turned out right (applied and kept) or wrong (rejected in the sandbox,
failed, rolled back).

- Temperature scaling (Guo et al., 2017): p_T = max softmax(logits / T) — we DIVIDE by T, so
  T > 1 softens an over-confident model. Without logits, p_T = sigmoid(logit(p) / T). T is fitted
  by minimising the negative log-likelihood with scipy (bounded search over log T).
- Beta calibration (Kull, Silva Filho & Flach, 2017): μ(s) = 1 / (1 + 1 / (e^c · s^a / (1−s)^b)),
  i.e. a logistic regression on the features ln s and −ln(1−s) with a, b ≥ 0, fitted with
  scipy's L-BFGS-B on the negative log-likelihood.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import optimize
from scipy.special import expit, log_softmax, logit

EPS = 1e-6


def _clip(p: np.ndarray) -> np.ndarray:
    return np.clip(p, EPS, 1 - EPS)


def max_softmax(logits: Sequence[float], temperature: float = 1.0) -> float:
    """The top class's probability of softmax(logits / T)."""
    z = np.asarray(logits, dtype=float) / temperature
    return float(np.exp(np.max(log_softmax(z))))


@dataclass
class Samples:
    """Ragged logits are padded with -inf so one vectorised softmax serves all of them."""

    logits: np.ndarray  # (n, k) padded with -inf; rows without logits are all -inf
    has_logits: np.ndarray  # (n,) bool
    base: np.ndarray  # (n,) base probability
    labels: np.ndarray  # (n,) 0/1

    @classmethod
    def build(
        cls, logits: Sequence[Sequence[float]], base: Sequence[float], labels: Sequence[int | bool]
    ) -> Samples:
        width = max([len(row) for row in logits] + [1])
        matrix = np.full((len(logits), width), -np.inf)
        for i, row in enumerate(logits):
            if row:
                matrix[i, : len(row)] = row
        return cls(
            matrix,
            np.array([bool(row) for row in logits]),
            _clip(np.asarray(base, dtype=float)),
            np.asarray(labels, dtype=float),
        )

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> Samples:
        return Samples(
            self.logits[index], self.has_logits[index], self.base[index], self.labels[index]
        )

    def at_temperature(self, temperature: float) -> np.ndarray:
        p = expit(logit(self.base) / temperature)
        if self.has_logits.any():
            z = self.logits[self.has_logits] / temperature
            p[self.has_logits] = np.exp(np.max(z, axis=1) - _logsumexp(z))
        return _clip(p)


def _logsumexp(z: np.ndarray) -> np.ndarray:
    peak = np.max(z, axis=1, keepdims=True)
    return (peak + np.log(np.sum(np.exp(z - peak), axis=1, keepdims=True)))[:, 0]


def nll(p: np.ndarray, y: np.ndarray) -> float:
    p = _clip(p)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


class Calibrator:
    method: ClassVar[str]

    def fit(self, samples: Samples) -> Calibrator:
        raise NotImplementedError

    def predict(self, samples: Samples) -> np.ndarray:
        raise NotImplementedError

    def params(self) -> dict[str, float]:
        raise NotImplementedError

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Calibrator:
        raise NotImplementedError


class TemperatureScaling(Calibrator):
    method = "temperature_scaling"

    def __init__(self, temperature: float = 1.0):
        self.temperature = temperature

    def fit(self, samples: Samples) -> TemperatureScaling:
        result = optimize.minimize_scalar(
            lambda log_t: nll(samples.at_temperature(float(np.exp(log_t))), samples.labels),
            bounds=(np.log(0.05), np.log(20.0)),
            method="bounded",
        )
        self.temperature = float(np.exp(result.x))
        return self

    def predict(self, samples: Samples) -> np.ndarray:
        return samples.at_temperature(self.temperature)

    def predict_one(self, logits: Sequence[float], base: float) -> float:
        if logits:
            return max_softmax(logits, self.temperature)
        p = min(max(base, EPS), 1 - EPS)
        return float(expit(logit(p) / self.temperature))

    def params(self) -> dict[str, float]:
        return {"T": self.temperature}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TemperatureScaling:
        return cls(float(params["T"]))


class BetaCalibration(Calibrator):
    """On the base probability (softmax at T = 1, or the claim)."""

    method = "beta_calibration"

    def __init__(self, a: float = 1.0, b: float = 1.0, c: float = 0.0):
        self.a, self.b, self.c = a, b, c

    @staticmethod
    def features(p: np.ndarray) -> np.ndarray:
        p = _clip(p)
        return np.column_stack([np.log(p), -np.log(1 - p)])

    def fit(self, samples: Samples) -> BetaCalibration:
        x, y = self.features(samples.base), samples.labels

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            z = x @ theta[:2] + theta[2]
            p = _clip(expit(z))
            value = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
            residual = (p - y) / len(y)
            return float(value), np.array([residual @ x[:, 0], residual @ x[:, 1], residual.sum()])

        result = optimize.minimize(
            loss,
            np.array([1.0, 1.0, 0.0]),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, None), (0.0, None), (None, None)],
        )
        self.a, self.b, self.c = (float(v) for v in result.x)
        return self

    def predict(self, samples: Samples) -> np.ndarray:
        return self.predict_p(samples.base)

    def predict_p(self, p: np.ndarray) -> np.ndarray:
        x = self.features(np.asarray(p, dtype=float))
        return _clip(expit(x[:, 0] * self.a + x[:, 1] * self.b + self.c))

    def predict_one(self, logits: Sequence[float], base: float) -> float:
        p = min(max(base, EPS), 1 - EPS)
        return float(expit(self.a * np.log(p) - self.b * np.log(1 - p) + self.c))

    def params(self) -> dict[str, float]:
        return {"a": self.a, "b": self.b, "c": self.c}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> BetaCalibration:
        return cls(float(params["a"]), float(params["b"]), float(params["c"]))


CALIBRATORS: dict[str, type[Calibrator]] = {
    c.method: c for c in (TemperatureScaling, BetaCalibration)
}


def reliability(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width bins, assigned as scikit-learn's calibration_curve does (searchsorted, left)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    bins = []
    for i in range(n_bins):
        mask = ids == i
        count = int(mask.sum())
        bins.append(
            {
                "lower": float(edges[i]),
                "upper": float(edges[i + 1]),
                "count": count,
                "mean_confidence": float(p[mask].mean()) if count else None,
                "accuracy": float(y[mask].mean()) if count else None,
            }
        )
    return bins


def ece(p: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error: Σ_b (n_b / N) · |accuracy_b − confidence_b|."""
    total = len(p)
    if not total:
        return 0.0
    return float(
        sum(
            b["count"] / total * abs(b["accuracy"] - b["mean_confidence"])
            for b in reliability(p, y, n_bins)
            if b["count"]
        )
    )


def cross_validated(method: str, samples: Samples, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold calibrated probabilities: each sample predicted by a fit that never saw it."""
    order = np.random.default_rng(seed).permutation(len(samples))
    out = np.empty(len(samples))
    for fold in np.array_split(order, folds):
        train = np.setdiff1d(order, fold)
        calibrator = CALIBRATORS[method]().fit(samples.subset(train))
        out[fold] = calibrator.predict(samples.subset(fold))
    return out
