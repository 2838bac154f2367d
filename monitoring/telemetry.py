"""Reading telemetry: the rolling window per source, degradation, summaries and history."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import F, FloatField, IntegerField, Q, Value
from django.utils import timezone

from healing import tunables

from . import geometry
from .models import Baseline, SnapshotContext, TelemetryRollup, TelemetrySnapshot

WINDOW_FIELDS = (
    "id",
    "recorded_at",
    "phi",
    "kappa_eff",
    "basin",
    "confidence",
    "surprise",
    "agency",
    "error_rate",
    "latency_ms",
)


def thresholds() -> dict[str, Any]:
    """Every telemetry threshold in one query."""
    values = tunables.get_group("monitoring.")
    return {key.removeprefix("monitoring."): value for key, value in values.items()}


def default_source() -> str | None:
    """The source most recently heard from (the usual case is one monitored application)."""
    return (
        TelemetrySnapshot.objects.order_by("-recorded_at", "-id")
        .values_list("source", flat=True)
        .first()
    )


def _column(rows: list[tuple], index: int) -> np.ndarray:
    return np.array([np.nan if r[index] is None else r[index] for r in rows], dtype=np.float64)


def load_window(source: str, size: int, *, until: datetime | None = None) -> geometry.Window:
    """The last `size` live snapshots of `source` (before `until`), oldest first, in one query."""
    qs = TelemetrySnapshot.objects.filter(source=source, context=SnapshotContext.LIVE)
    if until is not None:
        qs = qs.filter(recorded_at__lt=until)
    rows = list(qs.order_by("-recorded_at", "-id").values_list(*WINDOW_FIELDS)[:size])
    rows.reverse()
    return window_from_rows(source, rows)


# The rolling window of each source, kept per process and refreshed incrementally: a check asks
# the database only for rows newer than the last one it holds (and whether its oldest and newest
# rows are still there, by primary key), and reloads in full every WINDOW_CACHE_SECONDS.
WINDOW_CACHE_SECONDS = 60.0
_window_cache: dict[tuple[str, int], tuple[float, int, list[tuple], geometry.Window]] = {}
_window_lock = threading.Lock()


def _still_there(qs: Any, rows: list[tuple]) -> bool:
    if not rows:
        return False
    first, last = rows[0], rows[-1]
    probe = Q(id=first[0], recorded_at=first[1]) | Q(id=last[0], recorded_at=last[1])
    return qs.filter(probe).count() == (1 if first[0] == last[0] else 2)


def rolling_window(source: str, size: int) -> geometry.Window:
    """The same window as load_window(source, size), usually without reloading it."""
    key = (source, size)
    now = time.monotonic()
    with _window_lock:
        cached = _window_cache.get(key)
    qs = TelemetrySnapshot.objects.filter(source=source, context=SnapshotContext.LIVE)
    if (
        cached is not None
        and now - cached[0] <= WINDOW_CACHE_SECONDS
        and _still_there(qs, cached[2])
    ):
        loaded_at, last_id, rows, window = cached
        fresh = list(
            qs.filter(id__gt=last_id).order_by("id").values_list(*WINDOW_FIELDS)[: size * 10]
        )
        if not fresh:
            return window
        last_id = fresh[-1][0]
        known = {r[0] for r in rows}
        rows = sorted(rows + [r for r in fresh if r[0] not in known], key=lambda r: (r[1], r[0]))[
            -size:
        ]
    else:
        rows = list(qs.order_by("-recorded_at", "-id").values_list(*WINDOW_FIELDS)[:size])
        rows.reverse()
        loaded_at = now
        last_id = qs.order_by("-id").values_list("id", flat=True).first() or 0
    window = window_from_rows(source, rows)
    with _window_lock:
        _window_cache[key] = (loaded_at, last_id, rows, window)
    return window


def forget_windows() -> None:
    with _window_lock:
        _window_cache.clear()


def window_from_rows(source: str, rows: list[tuple]) -> geometry.Window:
    if rows:
        lengths = np.array([len(r[4]) for r in rows])
        common = np.bincount(lengths).argmax()
        if (lengths != common).any():  # basin_dim was changed: keep the rows of the usual length
            rows = [r for r, n in zip(rows, lengths, strict=True) if n == common]
        basins = np.frombuffer(b"".join(bytes(r[4]) for r in rows), dtype="<f8").reshape(
            len(rows), -1
        )
    else:
        basins = np.empty((0, 0))
    return geometry.Window(
        source=source,
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        t=np.array([r[1].timestamp() for r in rows], dtype=np.float64),
        phi=np.array([r[2] for r in rows], dtype=np.float64),
        kappa=np.array([r[3] for r in rows], dtype=np.float64),
        basins=basins,
        confidence=_column(rows, 5),
        surprise=_column(rows, 6),
        agency=_column(rows, 7),
        error_rate=_column(rows, 8),
        latency_ms=_column(rows, 9),
    )


def baseline_vector(source: str, dim: int | None = None) -> np.ndarray | None:
    baseline = Baseline.objects.current_for(source)
    if baseline is None:
        return None
    vector = baseline.basin_coords
    return vector if dim is None or len(vector) == dim else None


def degradation(source: str) -> dict[str, Any]:
    limits = thresholds()
    window = rolling_window(source, limits["window_size"])
    dim = window.basins.shape[1] if len(window) else None
    result = geometry.detect_degradation(window, baseline_vector(source, dim), limits)
    result["source"] = source
    return result


def health_summary(source: str) -> dict[str, Any]:
    result = degradation(source)
    latest = (
        TelemetrySnapshot.objects.filter(source=source)
        .order_by("-recorded_at", "-id")
        .values("recorded_at", "is_demo")
        .first()
    )
    return {
        "source": source,
        "status": "no_data" if not latest else ("degraded" if result["degraded"] else "healthy"),
        "metrics": result["metrics"],
        "issues": result["issues"],
        "last_snapshot_at": latest["recorded_at"].isoformat() if latest else None,
        "is_demo": bool(latest and latest["is_demo"]),
    }


# --- History: raw rows and rollups in one query, downsampled in numpy --------------------------

HISTORY_COLUMNS = (
    "t",
    "n",
    "phi",
    "phi_min",
    "phi_max",
    "kappa",
    "kappa_min",
    "kappa_max",
    "error_rate",
    "latency_ms",
    "latency_max",
    "demo",
)


def history_rows(source: str, since: datetime, until: datetime) -> list[tuple]:
    """Rollups and the raw snapshots not yet rolled up, as one UNION ALL query."""
    rollups = (
        TelemetryRollup.objects.filter(
            source=source, bucket_start__gte=since, bucket_start__lt=until
        )
        .values_list(
            "bucket_start",
            "count",
            "phi_mean",
            "phi_min",
            "phi_max",
            "kappa_mean",
            "kappa_min",
            "kappa_max",
            "error_rate_mean",
            "latency_ms_mean",
            "latency_ms_max",
            "is_demo",
        )
        .order_by()
    )
    raw = (
        TelemetrySnapshot.objects.filter(
            source=source,
            context=SnapshotContext.LIVE,
            recorded_at__gte=since,
            recorded_at__lt=until,
        )
        .annotate(
            h_n=Value(1, output_field=IntegerField()),
            h_phi_min=F("phi"),
            h_phi_max=F("phi"),
            h_kappa_min=F("kappa_eff"),
            h_kappa_max=F("kappa_eff"),
            h_latency_max=Value(None, output_field=FloatField()),
        )
        .values_list(
            "recorded_at",
            "h_n",
            "phi",
            "h_phi_min",
            "h_phi_max",
            "kappa_eff",
            "h_kappa_min",
            "h_kappa_max",
            "error_rate",
            "latency_ms",
            "latency_ms",
            "is_demo",
        )
        .order_by()
    )
    return list(rollups.union(raw, all=True))


def downsample(
    rows: list[tuple], since: datetime, until: datetime, max_points: int
) -> dict[str, Any]:
    """Weighted means (by snapshot count), minima and maxima per equal-width bucket."""
    span = max(1.0, (until - since).total_seconds())
    width = max(1.0, np.ceil(span / max_points))
    if not rows:
        return {
            "resolution_seconds": width,
            "points": 0,
            **{c: [] for c in HISTORY_COLUMNS if c != "demo"},
            "is_demo": False,
        }
    t0 = since.timestamp()
    t = np.array(
        [
            (r[0] if isinstance(r[0], datetime) else datetime.fromisoformat(str(r[0]))).timestamp()
            for r in rows
        ]
    )
    cols = {
        name: _column(rows, i)
        for i, name in enumerate(HISTORY_COLUMNS)
        if name not in {"t", "demo"}
    }
    n = cols["n"]
    bucket = ((t - t0) // width).astype(np.int64)
    order = np.argsort(bucket, kind="stable")
    bucket = bucket[order]
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    weights = n[order]
    total = np.add.reduceat(weights, starts)

    def wmean(values: np.ndarray) -> list[float | None]:
        v = values[order]
        ok = np.isfinite(v)
        num = np.add.reduceat(np.where(ok, v * weights, 0.0), starts)
        den = np.add.reduceat(np.where(ok, weights, 0.0), starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = num / den
        return [None if not np.isfinite(x) else round(float(x), 6) for x in out]

    def reduce(values: np.ndarray, fn: np.ufunc, fill: float) -> list[float | None]:
        v = values[order]
        out = fn.reduceat(np.where(np.isfinite(v), v, fill), starts)
        return [None if not np.isfinite(x) else round(float(x), 6) for x in out]

    latency_max = np.where(
        np.isfinite(cols["latency_max"]), cols["latency_max"], cols["latency_ms"]
    )
    return {
        "resolution_seconds": width,
        "points": len(starts),
        "t": [
            datetime.fromtimestamp(t0 + b * width, tz=since.tzinfo).isoformat()
            for b in bucket[starts]
        ],
        "n": [int(x) for x in total],
        "phi": wmean(cols["phi"]),
        "phi_min": reduce(cols["phi_min"], np.minimum, np.inf),
        "phi_max": reduce(cols["phi_max"], np.maximum, -np.inf),
        "kappa": wmean(cols["kappa"]),
        "kappa_min": reduce(cols["kappa_min"], np.minimum, np.inf),
        "kappa_max": reduce(cols["kappa_max"], np.maximum, -np.inf),
        "error_rate": wmean(cols["error_rate"]),
        "latency_ms": wmean(cols["latency_ms"]),
        "latency_max": reduce(latency_max, np.maximum, -np.inf),
        "is_demo": any(bool(r[11]) for r in rows),
    }


def history(
    source: str,
    since: datetime | None = None,
    until: datetime | None = None,
    max_points: int | None = None,
) -> dict[str, Any]:
    until = until or timezone.now()
    since = since or until - timedelta(hours=24)
    max_points = max_points or tunables.get("monitoring.history_max_points")
    series = downsample(history_rows(source, since, until), since, until, max_points)
    return {"source": source, "since": since.isoformat(), "until": until.isoformat(), **series}
