"""Synthetic telemetry for the demo (seed_demo_telemetry) and for tests. Always marked: rows
written from here carry is_demo=True when they are for the demo, and the console says so."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np


def stream(
    count: int,
    *,
    start: datetime,
    step: timedelta,
    dim: int = 64,
    phi: float = 0.75,
    kappa: float = 64.2,
    latency_ms: float = 120.0,
    error_rate: float = 0.01,
    source: str = "demo-app",
    seed: int = 7,
    basin_center: np.ndarray | None = None,
    noise: float = 0.01,
) -> list[dict[str, Any]]:
    """`count` cleaned snapshots (the shape validation.clean_snapshots returns), gently noisy
    around the given levels."""
    rng = np.random.default_rng(seed)
    center = (
        basin_center
        if basin_center is not None
        else np.random.default_rng(seed + 1).normal(0, 1, dim)
    )
    out = []
    for i in range(count):
        basin = center + rng.normal(0, 0.05, dim)
        out.append(
            {
                "source": source,
                "recorded_at": start + step * i,
                "context": "live",
                "workspace": None,
                "modification_id": None,
                "phi": float(np.clip(phi + rng.normal(0, noise), 0, 1)),
                "kappa_eff": float(kappa + rng.normal(0, 0.3)),
                "basin": basin.astype("<f8").tobytes(),
                "confidence": float(np.clip(0.8 + rng.normal(0, 0.02), 0, 1)),
                "surprise": float(np.clip(0.3 + rng.normal(0, 0.02), 0, 1)),
                "agency": float(np.clip(0.7 + rng.normal(0, 0.02), 0, 1)),
                "error_rate": float(np.clip(error_rate + rng.normal(0, 0.002), 0, 1)),
                "latency_ms": float(max(1.0, latency_ms + rng.normal(0, latency_ms * 0.05))),
                "extra": {},
            }
        )
    return out


def api_payload(count: int, dim: int = 64, seed: int = 3, **levels: float) -> list[dict[str, Any]]:
    """The same kind of stream in the JSON shape POST snapshots/ takes."""
    rng = np.random.default_rng(seed)
    return [
        {
            "phi": levels.get("phi", 0.75) + float(rng.normal(0, 0.01)),
            "kappa_eff": levels.get("kappa", 64.2) + float(rng.normal(0, 0.3)),
            "basin_coords": rng.normal(0, 1, dim).round(6).tolist(),
            "confidence": 0.8,
            "surprise": 0.3,
            "agency": 0.7,
            "error_rate": levels.get("error_rate", 0.01),
            "latency_ms": levels.get("latency_ms", 120.0),
        }
        for _ in range(count)
    ]
