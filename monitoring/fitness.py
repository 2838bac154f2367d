"""Code fitness of a modification (design 001): four components from telemetry before and after.

- Φ: 1 when Φ did not fall; falls linearly to 0 at a drop of 0.1.
- basin: 1 − (Fisher-Rao distance between the mean basin before and after) / drift threshold.
- regime: 1 when Φ after is in the healthy (geometric) band, 0.5 when it was already outside it
  before and stayed in the same regime, 0 when the change moved it out of the band.
- performance: the worse of latency (0 at +50 % mean latency) and error rate (0 at +5 points).

fitness = 0.35·Φ + 0.25·basin + 0.2·regime + 0.2·performance. At or above the apply threshold
(0.7) the recommendation is apply; below the reject threshold (0.4) reject; between, test_more.
Too few snapshots on either side is test_more, never a guess.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np

from . import geometry
from .models import SnapshotContext, TelemetrySnapshot
from .telemetry import WINDOW_FIELDS, window_from_rows

WEIGHTS = {"phi": 0.35, "basin": 0.25, "regime": 0.2, "performance": 0.2}
PHI_DROP_AT_ZERO = 0.1
LATENCY_RISE_AT_ZERO = 0.5
ERROR_RISE_AT_ZERO = 0.05


def _clip(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _mean(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.mean()) if len(a) else None


def components(
    before: geometry.Window, after: geometry.Window, limits: dict[str, Any]
) -> dict[str, Any]:
    phi_b, phi_a = float(before.phi.mean()), float(after.phi.mean())
    phi_c = _clip(1.0 - max(0.0, phi_b - phi_a) / PHI_DROP_AT_ZERO)
    drift = float(
        geometry.fisher_rao(
            geometry.to_simplex(before.basins).mean(axis=0),
            geometry.to_simplex(after.basins).mean(axis=0),
        )
    )
    basin_c = (
        _clip(1.0 - drift / limits["basin_drift_max"]) if limits["basin_drift_max"] > 0 else 0.0
    )
    reg_b = geometry.regime(phi_b, limits["phi_min"], limits["phi_max"])
    reg_a = geometry.regime(phi_a, limits["phi_min"], limits["phi_max"])
    regime_c = 1.0 if reg_a == "geometric" else (0.5 if reg_a == reg_b else 0.0)
    perf_parts = [1.0]
    lat_b, lat_a = _mean(before.latency_ms), _mean(after.latency_ms)
    if lat_b and lat_a is not None:
        perf_parts.append(_clip(1.0 - max(0.0, (lat_a - lat_b) / lat_b) / LATENCY_RISE_AT_ZERO))
    err_b, err_a = _mean(before.error_rate), _mean(after.error_rate)
    if err_b is not None and err_a is not None:
        perf_parts.append(_clip(1.0 - max(0.0, err_a - err_b) / ERROR_RISE_AT_ZERO))
    perf_c = min(perf_parts)
    scores = {"phi": phi_c, "basin": basin_c, "regime": regime_c, "performance": perf_c}
    return {
        "components": {k: round(v, 4) for k, v in scores.items()},
        "fitness": round(sum(WEIGHTS[k] * v for k, v in scores.items()), 4),
        "measured": {
            "phi_before": phi_b,
            "phi_after": phi_a,
            "basin_drift": drift,
            "regime_before": reg_b,
            "regime_after": reg_a,
            "latency_before_ms": lat_b,
            "latency_after_ms": lat_a,
            "error_rate_before": err_b,
            "error_rate_after": err_a,
        },
    }


def recommend(fitness: float, limits: dict[str, Any]) -> str:
    if fitness >= limits["fitness_apply_threshold"]:
        return "apply"
    if fitness < limits["fitness_reject_below"]:
        return "reject"
    return "test_more"


def _rows(qs: Any, limit: int = 5000) -> list[tuple]:
    rows = list(qs.order_by("-recorded_at", "-id").values_list(*WINDOW_FIELDS)[:limit])
    rows.reverse()
    return rows


def evaluate(
    modification: Any, phase: str, at: datetime, limits: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Fitness of `modification` for `phase` ("sandbox" or "post_apply"); `at` is when it was
    applied (post_apply) or submitted (sandbox)."""
    span = timedelta(minutes=limits["fitness_window_minutes"])
    live = TelemetrySnapshot.objects.filter(context=SnapshotContext.LIVE)
    if modification.workspace_id:
        scoped = live.filter(workspace_id=modification.workspace_id)
        live = scoped if scoped.exists() else live
    before_rows = _rows(live.filter(recorded_at__gte=at - span, recorded_at__lt=at))
    if phase == "sandbox":
        after_rows = _rows(
            TelemetrySnapshot.objects.filter(
                context=SnapshotContext.SANDBOX, modification_id=modification.pk
            )
        )
    else:
        after_rows = _rows(live.filter(recorded_at__gte=at, recorded_at__lt=min(now, at + span)))
    result: dict[str, Any] = {
        "phase": phase,
        "computed_at": now.isoformat(),
        "reference_time": at.isoformat(),
        "samples_before": len(before_rows),
        "samples_after": len(after_rows),
        "threshold": limits["fitness_apply_threshold"],
        "weights": WEIGHTS,
    }
    minimum = limits["fitness_min_samples"]
    if len(before_rows) < minimum or len(after_rows) < minimum:
        result.update(
            fitness=None,
            recommendation="test_more",
            reason=f"fewer than {minimum} snapshots before or after",
        )
        return result
    before, after = window_from_rows("before", before_rows), window_from_rows("after", after_rows)
    if before.basins.shape[1] != after.basins.shape[1]:
        result.update(
            fitness=None,
            recommendation="test_more",
            reason="basin dimension differs before and after",
        )
        return result
    result.update(components(before, after, limits))
    result["recommendation"] = recommend(result["fitness"], limits)
    result["reason"] = f"fitness {result['fitness']:.3f} → {result['recommendation']}"
    return result
