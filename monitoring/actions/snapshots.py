"""Telemetry actions: schedules, snapshot ingestion, baselines, roll-ups, system snapshots."""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timedelta
from typing import Any, overload

import numpy as np
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from healing.actions import record_event
from healing.actions.audit import Actor, actor_label
from healing.broadcast import broadcast
from healing.models import Modification, Workspace

from .. import geometry, host_health, telemetry
from ..models import (
    Baseline,
    ScheduleClock,
    SystemSnapshot,
    TelemetryRollup,
    TelemetrySnapshot,
)

log = logging.getLogger(__name__)


# --- Schedules ---------------------------------------------------------------------------------


def claim_schedule(name: str, interval_seconds: float, now: datetime | None = None) -> bool:
    """True for exactly one caller once `interval_seconds` have passed since the last run."""
    now = now or timezone.now()
    try:
        clock, _ = ScheduleClock.objects.get_or_create(name=name)
    except IntegrityError:  # another worker created it this instant, and runs it
        return False
    due = clock.last_run_at is None or clock.last_run_at <= now - timedelta(
        seconds=interval_seconds
    )
    if not due:
        return False
    return (
        ScheduleClock.objects.filter(pk=clock.pk, last_run_at=clock.last_run_at).update(
            last_run_at=now
        )
        == 1
    )


# --- Telemetry ---------------------------------------------------------------------------------


@transaction.atomic
def do_ingest_snapshots(cleaned: list[dict[str, Any]], *, is_demo: bool = False) -> int:
    """Store validated snapshots (monitoring.validation.clean_snapshots) in bulk. Unknown
    workspace names or modification ids are errors for the whole batch: nothing half-stored."""
    names = {c["workspace"] for c in cleaned if c.get("workspace")}
    # Keyed by name; a snapshot without a workspace looks up None (and finds nothing).
    workspaces: dict[Any, int] = (
        dict(Workspace.objects.filter(name__in=names).values_list("name", "id")) if names else {}
    )
    missing = sorted(names - set(workspaces))
    if missing:
        raise ValidationError({"workspace": [f"unknown workspace {missing[0]!r}"]})
    mod_ids = {c["modification_id"] for c in cleaned if c.get("modification_id")}
    if mod_ids:
        known = set(Modification.objects.filter(pk__in=mod_ids).values_list("id", flat=True))
        if mod_ids - known:
            raise ValidationError(
                {"modification_id": [f"unknown modification {min(mod_ids - known)}"]}
            )
    now = timezone.now()
    values = [
        (
            c["source"], c["recorded_at"], now, c["context"], workspaces.get(c.get("workspace")),
            c.get("modification_id"), c["phi"], c["kappa_eff"], c["basin"], c["confidence"],
            c["surprise"], c["agency"], c["error_rate"], c["latency_ms"], c["extra"], is_demo,
        )
        for c in cleaned
    ]  # fmt: skip
    if connection.vendor == "postgresql":
        _copy_snapshots(values)
    else:
        TelemetrySnapshot.objects.bulk_create(
            [TelemetrySnapshot(**dict(zip(INGEST_COLUMNS, row, strict=True))) for row in values],
            batch_size=500,
        )
    latest = max(cleaned, key=lambda c: c["recorded_at"])
    broadcast(
        "telemetry",
        {
            "source": latest["source"],
            "count": len(values),
            "phi": latest["phi"],
            "kappa_eff": latest["kappa_eff"],
            "recorded_at": latest["recorded_at"].isoformat(),
        },
    )
    return len(values)


INGEST_COLUMNS = (
    "source", "recorded_at", "received_at", "context", "workspace_id", "modification_id", "phi",
    "kappa_eff", "basin", "confidence", "surprise", "agency", "error_rate", "latency_ms", "extra",
    "is_demo",
)  # fmt: skip


def _copy_snapshots(values: list[tuple]) -> None:
    """PostgreSQL's COPY: ten times the speed of a multi-row INSERT for a large batch."""
    from psycopg.types.json import Jsonb

    table = TelemetrySnapshot._meta.db_table
    with connection.cursor() as cursor:
        sql = f"COPY {table} ({', '.join(INGEST_COLUMNS)}) FROM STDIN"  # noqa: S608 - fixed names
        with cursor.cursor.copy(sql) as copy:
            for row in values:
                copy.write_row((*row[:14], Jsonb(row[14]), row[15]))


@transaction.atomic
def do_set_baseline(
    actor: Actor, *, source: str, basin_coords: list[float] | None = None, reason: str = ""
) -> Baseline:
    """Set the baseline basin of a source: the given vector, or the mean of the recent window
    (mean of the raw coordinates; the drift maps it onto the simplex like every basin)."""
    limits = telemetry.thresholds()
    if basin_coords is not None:
        vector = np.asarray(basin_coords, dtype=np.float64)
        count = 0
        window = None
    else:
        window = telemetry.load_window(source, limits["recent_count"])
        if len(window) == 0:
            raise ValidationError(
                {
                    "source": [
                        f"no snapshot from {source!r} to take a baseline from; send basin_coords"
                    ]
                }
            )
        vector = window.basins.mean(axis=0)
        count = len(window)
    if len(vector) != limits["basin_dim"] or not np.isfinite(vector).all():
        raise ValidationError({"basin_coords": [f"must be {limits['basin_dim']} finite numbers"]})
    baseline = Baseline.objects.create(
        source=source,
        created_by_label=actor_label(actor),
        basin=vector.astype("<f8").tobytes(),
        phi=float(window.phi.mean()) if window is not None else None,
        kappa_eff=float(window.kappa.mean()) if window is not None else None,
        sample_count=count,
        reason=reason,
    )
    record_event(
        "monitoring.baseline",
        actor,
        reason=reason,
        data={"source": source, "baseline_id": baseline.pk, "sample_count": count},
    )
    return baseline


@transaction.atomic
def do_rollup_telemetry(now: datetime | None = None, chunk: int = 20000) -> dict[str, int]:
    """Aggregate live snapshots older than the retention into buckets, delete them; thin old
    system snapshots to one per bucket. Bounded work per call; beat calls it again."""
    now = now or timezone.now()
    limits = telemetry.thresholds()
    cutoff = now - timedelta(days=limits["retention_days"])
    width = limits["rollup_seconds"]
    rows = list(
        TelemetrySnapshot.objects.filter(recorded_at__lt=cutoff)
        .order_by("recorded_at", "id")
        .values_list(
            "id",
            "source",
            "recorded_at",
            "phi",
            "kappa_eff",
            "error_rate",
            "latency_ms",
            "is_demo",
            "context",
            "basin",
        )[:chunk]
    )
    buckets: dict[tuple[str, int], list[tuple]] = {}
    for row in rows:
        if row[8] != "live":
            continue  # sandbox snapshots served their fitness; they are not history
        key = (row[1], int(row[2].timestamp() // width * width))
        buckets.setdefault(key, []).append(row)
    baselines: dict[str, np.ndarray | None] = {}
    merged = 0
    for (source, start), items in buckets.items():
        if source not in baselines:
            baselines[source] = telemetry.baseline_vector(source)
        phi = np.array([r[3] for r in items])
        kappa = np.array([r[4] for r in items])
        err = np.array([np.nan if r[5] is None else r[5] for r in items])
        lat = np.array([np.nan if r[6] is None else r[6] for r in items])
        drift = None
        base = baselines[source]
        if base is not None:
            basins = [np.frombuffer(bytes(r[9]), dtype="<f8") for r in items]
            same = [b for b in basins if len(b) == len(base)]
            if same:
                drift = float(geometry.basin_drift(np.vstack(same), base).mean())
        values = _rollup_values(phi, kappa, err, lat, drift, any(r[7] for r in items))
        bucket_start = datetime.fromtimestamp(start, tz=now.tzinfo)
        existing = (
            TelemetryRollup.objects.select_for_update()
            .filter(source=source, bucket_start=bucket_start, bucket_seconds=width)
            .first()
        )
        if existing is None:
            TelemetryRollup.objects.create(
                source=source, bucket_start=bucket_start, bucket_seconds=width, **values
            )
        else:
            _merge_rollup(existing, values)
        merged += len(items)
    deleted = (
        TelemetrySnapshot.objects.filter(pk__in=[r[0] for r in rows]).delete()[0] if rows else 0
    )
    thinned = _thin_system_snapshots(cutoff, width)
    return {
        "rolled_up": merged,
        "deleted": deleted,
        "buckets": len(buckets),
        "system_thinned": thinned,
    }


def _mean_or_none(a: np.ndarray) -> float | None:
    a = a[np.isfinite(a)]
    return float(a.mean()) if len(a) else None


def _rollup_values(
    phi: np.ndarray,
    kappa: np.ndarray,
    err: np.ndarray,
    lat: np.ndarray,
    drift: float | None,
    demo: bool,
) -> dict[str, Any]:
    finite_lat = lat[np.isfinite(lat)]
    return {
        "count": len(phi),
        "phi_mean": float(phi.mean()),
        "phi_min": float(phi.min()),
        "phi_max": float(phi.max()),
        "kappa_mean": float(kappa.mean()),
        "kappa_min": float(kappa.min()),
        "kappa_max": float(kappa.max()),
        "error_rate_mean": _mean_or_none(err),
        "latency_ms_mean": _mean_or_none(lat),
        "latency_ms_max": float(finite_lat.max()) if len(finite_lat) else None,
        "basin_drift_mean": drift,
        "is_demo": demo,
    }


def _merge_rollup(row: TelemetryRollup, new: dict[str, Any]) -> None:
    n0, n1 = row.count, new["count"]

    @overload
    def wmean(old: float, fresh: float | None) -> float: ...
    @overload
    def wmean(old: float | None, fresh: float | None) -> float | None: ...
    def wmean(old: float | None, fresh: float | None) -> float | None:
        if old is None or fresh is None:
            return fresh if old is None else old
        return (old * n0 + fresh * n1) / (n0 + n1)

    row.phi_mean, row.kappa_mean = (
        wmean(row.phi_mean, new["phi_mean"]),
        wmean(row.kappa_mean, new["kappa_mean"]),
    )
    row.error_rate_mean = wmean(row.error_rate_mean, new["error_rate_mean"])
    row.latency_ms_mean = wmean(row.latency_ms_mean, new["latency_ms_mean"])
    row.basin_drift_mean = wmean(row.basin_drift_mean, new["basin_drift_mean"])
    row.phi_min, row.phi_max = min(row.phi_min, new["phi_min"]), max(row.phi_max, new["phi_max"])
    row.kappa_min, row.kappa_max = (
        min(row.kappa_min, new["kappa_min"]),
        max(row.kappa_max, new["kappa_max"]),
    )
    maxima = [x for x in (row.latency_ms_max, new["latency_ms_max"]) if x is not None]
    row.latency_ms_max = max(maxima) if maxima else None
    row.count = n0 + n1
    row.is_demo = row.is_demo or new["is_demo"]
    row.save(
        update_fields=[
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
            "basin_drift_mean",
            "is_demo",
        ]
    )


def _thin_system_snapshots(cutoff: datetime, width: int) -> int:
    keep: dict[int, int] = {}
    drop: list[int] = []
    for pk, taken in (
        SystemSnapshot.objects.filter(taken_at__lt=cutoff)
        .order_by("taken_at", "id")
        .values_list("id", "taken_at")[:50000]
    ):
        bucket = int(taken.timestamp() // width)
        if bucket in keep:
            drop.append(pk)
        else:
            keep[bucket] = pk
    return SystemSnapshot.objects.filter(pk__in=drop).delete()[0] if drop else 0


# --- System health -----------------------------------------------------------------------------


def do_take_system_snapshot(interval: float = 0.5) -> SystemSnapshot:
    """Measure (outside any transaction: it sleeps for the CPU interval), judge, store."""
    limits = host_health.health_limits()
    sample = host_health.sample(interval=interval, disk_path=limits["disk_path"])
    judged = host_health.evaluate_sample(sample, limits)
    with transaction.atomic():
        snapshot = SystemSnapshot(
            taken_at=timezone.now(),
            hostname=socket.gethostname(),
            cpu_percent=sample.cpu_percent,
            sandbox_cpu_percent=sample.sandbox_cpu_percent,
            memory_available_percent=sample.memory_available_percent,
            sandbox_memory_mb=sample.sandbox_memory_mb,
            disk_percent=sample.disk_percent,
            load_1=sample.load[0],
            load_5=sample.load[1],
            load_15=sample.load[2],
            worker_processes=sample.worker_processes,
            worker_cpu_percent=sample.worker_cpu_percent,
            worker_memory_mb=sample.worker_memory_mb,
            error_rate=judged["rates"]["error_rate"],
            success_rate=judged["rates"]["success_rate"],
            response_time_ms=judged["rates"]["response_time_ms"],
            status=judged["status"],
            health_score=judged["score"],
            checks=judged["checks"],
        )
        recent = list(SystemSnapshot.objects.latest_first()[: limits["trend_window"] - 1])[::-1] + [
            snapshot
        ]
        snapshot.trend, snapshot.trend_slope = host_health.trend(recent, limits["trend_tolerance"])
        snapshot.save()
        broadcast("health", snapshot.as_json())
    return snapshot
