"""The confidence model: P(the patch, if applied, stays applied) from its evidence.

A scikit-learn logistic regression on the standardised features of evidence.py, fitted per
installation from the outcomes the calibration uses. The fitted numbers are stored as plain JSON
(means, scales, coefficients), so scoring a patch is a dot product and needs no pickle. Its
quality is measured out of fold (stratified 5-fold): ECE and Brier score of predictions each made
by a fit that never saw the patch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .calibration import EPS, ece, reliability
from .evidence import FEATURES, vector

METHOD = "evidence_logistic"
FOLDS = 5


def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def _pipeline(c: float) -> Any:
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))


def fittable(y: np.ndarray) -> bool:
    """Both outcomes, each often enough for every fold to see it."""
    return len(y) > 0 and min(int(y.sum()), int(len(y) - y.sum())) >= FOLDS


def out_of_fold(x: np.ndarray, y: np.ndarray, c: float = 1.0, seed: int = 0) -> np.ndarray:
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    out = np.empty(len(y))
    for train, test in folds.split(x, y):
        out[test] = _pipeline(c).fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    return np.clip(out, EPS, 1 - EPS)


@dataclass
class EvidenceModel:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, c: float = 1.0) -> EvidenceModel:
        pipe = _pipeline(c).fit(x, y)
        scaler, regression = pipe[0], pipe[-1]
        return cls(
            list(FEATURES),
            [float(v) for v in scaler.mean_],
            [float(v) for v in scaler.scale_],
            [float(v) for v in regression.coef_[0]],
            float(regression.intercept_[0]),
        )

    def predict(self, features: Mapping[str, float]) -> float:
        x = np.asarray(vector(features, self.features))
        z = ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef)
        return float(np.clip(expit(z + self.intercept), EPS, 1 - EPS))

    def contributions(self, features: Mapping[str, float], top: int = 5) -> list[dict[str, Any]]:
        """The features that moved this score most, each with its pull on the log-odds."""
        x = np.asarray(vector(features, self.features))
        pull = (x - np.asarray(self.mean)) / np.asarray(self.scale) * np.asarray(self.coef)
        order = np.argsort(-np.abs(pull))[:top]
        return [{"feature": self.features[i], "log_odds": round(float(pull[i]), 4)} for i in order]

    def params(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "mean": self.mean,
            "scale": self.scale,
            "coef": self.coef,
            "intercept": self.intercept,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> EvidenceModel:
        return cls(
            list(params["features"]),
            [float(v) for v in params["mean"]],
            [float(v) for v in params["scale"]],
            [float(v) for v in params["coef"]],
            float(params["intercept"]),
        )


def quality(p: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return {
        "ece": ece(p, y),
        "brier": brier(p, y),
        "n": len(y),
        "reliability": reliability(p, y),
    }


def matrix(rows: Sequence[Mapping[str, float]]) -> np.ndarray:
    return np.asarray([vector(r) for r in rows], dtype=float).reshape(len(rows), len(FEATURES))
