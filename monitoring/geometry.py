"""The numbers behind telemetry detection, vectorised with numpy. Pure functions, no database.

Basin drift. A basin vector x ∈ ℝⁿ is mapped onto the probability simplex with a softmax,
p_i = exp(x_i − max x) / Σ_j exp(x_j − max x). The Fisher-Rao distance between two points of the
simplex is d(p, q) = 2·arccos(Σ_i √(p_i q_i)), between 0 (same distribution) and π (disjoint
support). Why softmax and not |x|/Σ|x| or x²/‖x‖²: it keeps the sign of each coordinate (x and −x
are different basins), it is defined for every real vector including 0 (→ uniform), it is smooth,
and every p_i > 0 so √p is well defined. It is invariant to adding one constant to all
coordinates (a common offset is not drift) but not to scaling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def to_simplex(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax: (n,) → (n,), (m, n) → (m, n), each row on the simplex."""
    x = np.asarray(x, dtype=np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def fisher_rao(p: np.ndarray, q: np.ndarray) -> np.ndarray | float:
    """d(p, q) = 2·arccos(Σ √(p_i q_i)) for points already on the simplex (broadcasts over rows)."""
    bc = np.sum(np.sqrt(np.asarray(p) * np.asarray(q)), axis=-1)
    return 2.0 * np.arccos(np.clip(bc, 0.0, 1.0))


def basin_drift(basins: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Fisher-Rao distance of each raw basin (rows) from the raw baseline vector."""
    sqrt_p = np.sqrt(to_simplex(basins))
    sqrt_q = np.sqrt(to_simplex(baseline))
    return 2.0 * np.arccos(np.clip(sqrt_p @ sqrt_q, 0.0, 1.0))


def regime(phi: float, phi_min: float, phi_max: float) -> str:
    """linear below the healthy band, geometric inside it, breakdown above it."""
    if phi < phi_min:
        return "linear"
    if phi > phi_max:
        return "breakdown"
    return "geometric"


def change_point(series: np.ndarray) -> int:
    """Index where the series most plausibly changed level: the split minimising the summed
    squared deviation of the two segments (one pass with cumulative sums). 0 if it never did."""
    y = np.asarray(series, dtype=np.float64)
    n = len(y)
    if n < 4:
        return 0
    c1 = np.cumsum(y)
    c2 = np.cumsum(y * y)
    k = np.arange(1, n)  # left segment y[:k], right y[k:]
    left_sum, left_sq = c1[:-1], c2[:-1]
    right_sum, right_sq = c1[-1] - left_sum, c2[-1] - left_sq
    cost = (left_sq - left_sum**2 / k) + (right_sq - right_sum**2 / (n - k))
    return int(k[np.argmin(cost)])


@dataclass(frozen=True)
class Slope:
    slope: float  # units per minute
    p_value: float
    r_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05


def slope_per_minute(seconds: np.ndarray, values: np.ndarray) -> Slope | None:
    """scipy.stats.linregress of values over time (seconds), slope per minute. None if it cannot
    be computed (fewer than 3 points or no spread in time)."""
    t = np.asarray(seconds, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    mask = np.isfinite(v)
    t, v = t[mask], v[mask]
    if len(t) < 3 or np.ptp(t) == 0:
        return None
    if np.ptp(v) == 0:
        return Slope(0.0, 1.0, 0.0)
    result = stats.linregress(t / 60.0, v)
    p = float(result.pvalue) if np.isfinite(result.pvalue) else 1.0
    return Slope(float(result.slope), p, float(result.rvalue))


@dataclass
class Window:
    """A source's rolling window, oldest first."""

    source: str
    ids: np.ndarray
    t: np.ndarray  # POSIX seconds
    phi: np.ndarray
    kappa: np.ndarray
    basins: np.ndarray  # (n, dim)
    confidence: np.ndarray
    surprise: np.ndarray
    agency: np.ndarray
    error_rate: np.ndarray  # NaN where not reported
    latency_ms: np.ndarray  # NaN where not reported

    def __len__(self) -> int:
        return len(self.ids)


def _nanmean(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.mean()) if len(a) else None


def _nanpercentile(a: np.ndarray, q: float) -> float | None:
    a = a[np.isfinite(a)]
    return float(np.percentile(a, q)) if len(a) else None


def window_metrics(w: Window, baseline: np.ndarray | None, thresholds: dict) -> dict:
    """The health metrics of a window (see docs/monitoring.md), from its `recent` tail."""
    recent = thresholds["recent_count"]
    n = len(w)
    if n == 0:
        return {"snapshot_count": 0}
    tail = slice(max(0, n - recent), n)
    phi_now = float(w.phi[tail].mean())
    kappa_now = float(w.kappa[tail].mean())
    ref = baseline if baseline is not None else w.basins[0]
    drift_series = basin_drift(w.basins, ref)
    mean_now = to_simplex(w.basins[tail]).mean(axis=0)
    prev = slice(max(0, n - 2 * recent), max(0, n - recent))
    velocity = (
        float(fisher_rao(mean_now, to_simplex(w.basins[prev]).mean(axis=0)))
        if prev.stop > prev.start
        else 0.0
    )
    phi_slope = slope_per_minute(w.t, w.phi)
    return {
        "snapshot_count": n,
        "phi": phi_now,
        "phi_mean": float(w.phi.mean()),
        "phi_std": float(w.phi.std()),
        "phi_slope_per_min": phi_slope.slope if phi_slope else None,
        "kappa_eff": kappa_now,
        "kappa_deviation": abs(kappa_now - thresholds["kappa_target"]),
        "basin_drift": float(fisher_rao(mean_now, to_simplex(ref))),
        "basin_drift_max_in_window": float(drift_series.max()),
        "basin_velocity": velocity,
        "confidence": _nanmean(w.confidence[tail]),
        "surprise": _nanmean(w.surprise[tail]),
        "agency": _nanmean(w.agency[tail]),
        "error_rate": _nanmean(w.error_rate[tail]),
        "latency_ms": _nanmean(w.latency_ms[tail]),
        "latency_p95_ms": _nanpercentile(w.latency_ms, 95),
        "regime": regime(phi_now, thresholds["phi_min"], thresholds["phi_max"]),
        "baseline_set": baseline is not None,
    }


def detect_degradation(w: Window, baseline: np.ndarray | None, thresholds: dict) -> dict:
    """The design's answer: {"degraded": bool, "issues": [{metric, value, threshold, ...}], "metrics"}."""
    metrics = window_metrics(w, baseline, thresholds)
    issues: list[dict] = []
    if metrics["snapshot_count"] == 0:
        return {"degraded": False, "issues": [], "metrics": metrics}

    def issue(metric: str, value: float, threshold: float, comparison: str, message: str) -> None:
        issues.append(
            {
                "metric": metric,
                "value": round(value, 6),
                "threshold": threshold,
                "comparison": comparison,
                "message": message,
            }
        )

    phi = metrics["phi"]
    if phi < thresholds["phi_min"]:
        issue(
            "phi", phi, thresholds["phi_min"], "<", f"Φ {phi:.3f} is below {thresholds['phi_min']}"
        )
    if phi > thresholds["phi_max"]:
        issue(
            "phi",
            phi,
            thresholds["phi_max"],
            ">",
            f"Φ {phi:.3f} is above {thresholds['phi_max']} (breakdown)",
        )
    if metrics["basin_drift"] > thresholds["basin_drift_max"]:
        issue(
            "basin_drift",
            metrics["basin_drift"],
            thresholds["basin_drift_max"],
            ">",
            f"basin drifted {metrics['basin_drift']:.3f} (Fisher-Rao) from the baseline",
        )
    if metrics["kappa_deviation"] > thresholds["kappa_tolerance"]:
        issue(
            "kappa_eff",
            metrics["kappa_eff"],
            thresholds["kappa_target"],
            "±" + str(thresholds["kappa_tolerance"]),
            f"κ {metrics['kappa_eff']:.2f} is {metrics['kappa_deviation']:.2f} from the target {thresholds['kappa_target']}",
        )
    if metrics["error_rate"] is not None and metrics["error_rate"] > thresholds["error_rate_max"]:
        issue(
            "error_rate",
            metrics["error_rate"],
            thresholds["error_rate_max"],
            ">",
            f"error rate {metrics['error_rate']:.1%} is above {thresholds['error_rate_max']:.0%}",
        )
    if metrics["latency_ms"] is not None and metrics["latency_ms"] > thresholds["latency_max_ms"]:
        issue(
            "latency_ms",
            metrics["latency_ms"],
            thresholds["latency_max_ms"],
            ">",
            f"latency {metrics['latency_ms']:.0f} ms is above {thresholds['latency_max_ms']:.0f} ms",
        )
    return {"degraded": bool(issues), "issues": issues, "metrics": metrics}
