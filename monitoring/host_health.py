"""System health: a psutil sample of the host and of the Celery worker, judged against the
design's thresholds, with a trend; and `preflight_health()`, the health source this app
registers for the pre-flight checks and the post-apply watch.

The engine's own sandbox load must not make the engine refuse to work. The sandbox runs tests
as children of a worker pool process. So the sample walks the worker's process tree: the worker's
main process and its pool processes count as "worker"; anything below them (sandbox test runs
and their children) counts as "sandbox". The CPU check is judged on machine CPU minus the sandbox
share, and the memory check on available memory plus the sandbox's resident memory.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psutil
from django.db.models import Avg
from django.utils import timezone

from healing import tunables
from healing.contrib import HealthMetric, HealthReport
from healing.models import AuditEvent

from . import geometry
from .models import HealthStatus, SystemSnapshot, TelemetrySnapshot, Trend

MB = 1024 * 1024


@dataclass
class Sample:
    cpu_percent: float
    sandbox_cpu_percent: float
    memory_available_percent: float
    sandbox_memory_mb: float
    disk_percent: float
    load: tuple[float, float, float]
    worker_processes: int
    worker_cpu_percent: float
    worker_memory_mb: float


def _is_celery_worker(process: psutil.Process) -> bool:
    try:
        cmd = " ".join(process.cmdline())
    except (psutil.Error, OSError):
        return False
    return "celery" in cmd and " worker" in cmd


def worker_root(process: psutil.Process | None = None) -> psutil.Process:
    """The worker's main process: climb from this process while the parent is a Celery worker."""
    current = process or psutil.Process(os.getpid())
    parent = current.parent()
    while parent is not None and _is_celery_worker(parent):
        current, parent = parent, parent.parent()
    return current


def _split_tree(root: psutil.Process) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """(worker processes, sandbox processes). A solo worker runs tasks itself, so its children
    are sandboxes; a prefork worker's direct children are its pool, and their children sandboxes."""
    try:
        children = root.children(recursive=False)
    except psutil.Error:
        return [root], []
    pool = [c for c in children if _is_celery_worker(c)]
    workers = [root, *pool]
    worker_pids = {p.pid for p in workers}
    sandbox: list[psutil.Process] = []
    try:
        for p in root.children(recursive=True):
            if p.pid not in worker_pids:
                sandbox.append(p)
    except psutil.Error:
        pass
    return workers, sandbox


def sample(interval: float = 0.5, disk_path: str = "/") -> Sample:
    """One real measurement. CPU percentages need an interval: everything is primed, then read
    after `interval` seconds."""
    root = worker_root()
    workers, sandbox = _split_tree(root)
    psutil.cpu_percent(None)
    for p in (*workers, *sandbox):
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)
    time.sleep(interval)
    cpu = psutil.cpu_percent(None)
    cores = psutil.cpu_count() or 1

    def cpu_and_rss(processes: list[psutil.Process]) -> tuple[float, float, int]:
        total_cpu = total_rss = 0.0
        alive = 0
        for p in processes:
            try:
                total_cpu += p.cpu_percent(None)
                total_rss += p.memory_info().rss
                alive += 1
            except psutil.Error:
                continue
        return total_cpu, total_rss / MB, alive

    worker_cpu, worker_mb, worker_count = cpu_and_rss(workers)
    sandbox_cpu, sandbox_mb, _ = cpu_and_rss(sandbox)
    memory = psutil.virtual_memory()
    try:
        disk = psutil.disk_usage(disk_path).percent
    except OSError:
        disk = psutil.disk_usage("/").percent
    return Sample(
        cpu_percent=float(cpu),
        sandbox_cpu_percent=min(float(cpu), sandbox_cpu / cores),  # per-core → share of the machine
        memory_available_percent=memory.available * 100.0 / memory.total,
        sandbox_memory_mb=sandbox_mb,
        disk_percent=float(disk),
        load=tuple(float(x) for x in os.getloadavg()),  # type: ignore[arg-type]
        worker_processes=worker_count,
        worker_cpu_percent=worker_cpu,
        worker_memory_mb=worker_mb,
    )


# --- Rates from real outcomes ---------------------------------------------------------------

OUTCOME_STATES = ("applied", "failed", "rolled_back")


def outcome_rates(window: timedelta, min_outcomes: int = 1) -> dict[str, Any]:
    """Error rate, success rate and response time over the window.

    - success rate: the engine's own applications, from audit events: applied ÷ (applied +
      failed + rolled back), once there are at least `min_outcomes` of them (one failed
      application is not a 100 % error rate).
    - error rate: the monitored application's reported error rate (mean of its snapshots). The
      engine's own failure share is not mixed in: it is the success rate's complement, and past
      failures of other patches say nothing about the system the current patch runs in.
    - response time: the monitored application's reported latency (mean of its snapshots).

    Demo telemetry (seed_demo_telemetry) never counts here: it must not block a real patch.
    """
    since = timezone.now() - window
    counts = dict.fromkeys(OUTCOME_STATES, 0)
    for state in AuditEvent.objects.filter(
        kind="modification.transition", to_state__in=OUTCOME_STATES, created_at__gte=since
    ).values_list("to_state", flat=True):
        counts[state] += 1
    outcomes = sum(counts.values())
    app = TelemetrySnapshot.objects.filter(
        recorded_at__gte=since, context="live", is_demo=False
    ).aggregate(error_rate=Avg("error_rate"), latency_ms=Avg("latency_ms"))
    success = counts["applied"] / outcomes if outcomes >= max(1, min_outcomes) else None
    engine_error = 1.0 - success if success is not None else None
    return {
        "outcomes": outcomes,
        "outcome_counts": counts,
        "success_rate": success,
        "engine_error_rate": engine_error,
        "app_error_rate": app["error_rate"],
        "error_rate": app["error_rate"],
        "response_time_ms": app["latency_ms"],
    }


# --- Judging ---------------------------------------------------------------------------------


def _check(
    value: float | None, threshold: float, ok_when: str, unit: str = "", no_data_ok: bool = True
) -> dict[str, Any]:
    if value is None:
        return {
            "value": None,
            "threshold": threshold,
            "comparison": ok_when,
            "ok": no_data_ok,
            "unit": unit,
            "note": "no data",
        }
    ok = value <= threshold if ok_when == "<=" else value >= threshold
    return {
        "value": round(float(value), 4),
        "threshold": threshold,
        "comparison": ok_when,
        "ok": bool(ok),
        "unit": unit,
    }


CPU_MIN_SAMPLES = 3


def judge(
    values: dict[str, Any], limits: dict[str, Any], outcomes: int, *, judge_cpu: bool = True
) -> tuple[str, float, dict[str, Any]]:
    """(status, health score, checks) for one set of measured values. `judge_cpu=False`: the
    CPU figure rests on too few samples to say anything (one 0.25 s sample of a busy machine is
    noise), so it is shown but passes."""
    enough = outcomes >= limits["min_outcomes"]
    checks = {
        "cpu": _check(values["cpu_excluding_sandbox"], limits["cpu_max_percent"], "<=", "%"),
        "memory_available": _check(
            values["memory_available_percent"], limits["memory_min_available_percent"], ">=", "%"
        ),
        "disk": _check(values["disk_percent"], limits["disk_max_percent"], "<=", "%"),
        "error_rate": _check(values["error_rate"], limits["error_rate_max"], "<="),
        "success_rate": _check(
            values["success_rate"] if enough else None, limits["success_rate_min"], ">="
        ),
        "response_time": _check(
            values["response_time_ms"], limits["response_time_max_ms"], "<=", "ms"
        ),
    }
    if not judge_cpu:
        checks["cpu"]["ok"] = True
        checks["cpu"]["note"] = f"fewer than {CPU_MIN_SAMPLES} samples in the window: not judged"
    if not enough and outcomes:
        checks["success_rate"]["note"] = (
            f"{outcomes} outcomes, fewer than {limits['min_outcomes']}: not judged"
        )
    failed = [name for name, c in checks.items() if not c["ok"]]
    score = 1.0 - len(failed) / len(checks)
    critical = (
        (judge_cpu and values["cpu_excluding_sandbox"] > limits["critical_cpu_percent"])
        or values["memory_available_percent"] < limits["critical_memory_available_percent"]
        or values["disk_percent"] > limits["critical_disk_percent"]
    )
    if critical:
        status = HealthStatus.CRITICAL
    elif not failed:
        status = HealthStatus.HEALTHY
    elif len(failed) == 1:
        status = HealthStatus.DEGRADED
    else:
        status = HealthStatus.UNHEALTHY
    return str(status), score, checks


def health_limits() -> dict[str, Any]:
    return {k.removeprefix("health."): v for k, v in tunables.get_group("health.").items()}


def trend(recent: list[SystemSnapshot], tolerance: float) -> tuple[str, float | None]:
    """Regression of the load index over time: rising pressure is degrading."""
    if len(recent) < 3:
        return str(Trend.UNKNOWN), None
    t = [s.taken_at.timestamp() for s in recent]
    fit = geometry.slope_per_minute(t, [s.load_index for s in recent])  # type: ignore[arg-type]
    if fit is None:
        return str(Trend.UNKNOWN), None
    if abs(fit.slope) <= tolerance or not fit.significant:
        return str(Trend.STABLE), fit.slope
    return str(Trend.DEGRADING if fit.slope > 0 else Trend.IMPROVING), fit.slope


def evaluate_sample(s: Sample, limits: dict[str, Any]) -> dict[str, Any]:
    rates = outcome_rates(
        timedelta(minutes=limits["outcome_window_minutes"]), limits["min_outcomes"]
    )
    values = {
        "cpu_excluding_sandbox": max(0.0, s.cpu_percent - s.sandbox_cpu_percent),
        "memory_available_percent": min(
            100.0,
            s.memory_available_percent
            + s.sandbox_memory_mb * MB * 100.0 / psutil.virtual_memory().total,
        ),
        "disk_percent": s.disk_percent,
        "error_rate": rates["error_rate"],
        "success_rate": rates["success_rate"],
        "response_time_ms": rates["response_time_ms"],
    }
    status, score, checks = judge(values, limits, rates["outcomes"])
    return {"values": values, "rates": rates, "status": status, "score": score, "checks": checks}


def latest_snapshot() -> SystemSnapshot | None:
    return SystemSnapshot.objects.latest_first().first()


def _metric(check: dict[str, Any]) -> HealthMetric:
    return HealthMetric(
        value=check["value"],
        threshold=check["threshold"],
        ok=check["ok"],
        comparison=check["comparison"],
        unit=check.get("unit", ""),
        note=check.get("note", ""),
    )


def preflight_health() -> HealthReport:
    """For the pre-flight checks and the post-apply watch (registered as the health source in
    monitoring's ready()): the median of each host metric over the recent window of system
    snapshots (not one sample), rates over their window, each metric with its value and
    threshold. With no recent snapshot (beat not running), one fresh sample is measured, used
    and said so. A read: it stores nothing.
    """
    limits = health_limits()
    since = timezone.now() - timedelta(seconds=limits["preflight_window_seconds"])
    recent = list(SystemSnapshot.objects.since(since).latest_first()[:200])
    total_memory = psutil.virtual_memory().total
    if recent:
        values = {
            "cpu_excluding_sandbox": statistics.median(s.cpu_excluding_sandbox for s in recent),
            "memory_available_percent": statistics.median(
                min(
                    100.0,
                    s.memory_available_percent + s.sandbox_memory_mb * MB * 100.0 / total_memory,
                )
                for s in recent
            ),
            "disk_percent": statistics.median(s.disk_percent for s in recent),
        }
        basis = f"median of {len(recent)} system snapshots"
    else:
        # Beat is not running (or just started): measure now. Storing the sample is the
        # snapshot task's job (do_take_system_snapshot), not a read's.
        fresh = sample(interval=0.25, disk_path=limits["disk_path"])
        values = {
            "cpu_excluding_sandbox": max(0.0, fresh.cpu_percent - fresh.sandbox_cpu_percent),
            "memory_available_percent": min(
                100.0,
                fresh.memory_available_percent
                + fresh.sandbox_memory_mb * MB * 100.0 / total_memory,
            ),
            "disk_percent": fresh.disk_percent,
        }
        basis = "one fresh sample (no system snapshot in the window: is beat running?)"
    rates = outcome_rates(
        timedelta(minutes=limits["outcome_window_minutes"]), limits["min_outcomes"]
    )
    values.update(
        error_rate=rates["error_rate"],
        success_rate=rates["success_rate"],
        response_time_ms=rates["response_time_ms"],
    )
    status, score, checks = judge(
        values, limits, rates["outcomes"], judge_cpu=len(recent) >= CPU_MIN_SAMPLES
    )
    ok = (
        status in (HealthStatus.HEALTHY, HealthStatus.DEGRADED)
        and score >= limits["min_health_score"]
    )
    return HealthReport(
        ok=ok,
        status=status,
        score=round(score, 4),
        min_score=limits["min_health_score"],
        samples=len(recent) or 1,
        basis=basis,
        window_seconds=limits["preflight_window_seconds"],
        metrics={name: _metric(c) for name, c in checks.items()},
        reason=""
        if ok
        else f"system health {status}: "
        + ", ".join(
            f"{k} {c['value']} (threshold {c['threshold']})"
            for k, c in checks.items()
            if not c["ok"]
        ),
        hostname=socket.gethostname(),
    )
