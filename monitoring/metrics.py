"""GET /metrics: Prometheus text format, computed from the database at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db.models import Count, Min, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from healing.models import (
    EngineBreaker,
    EngineState,
    ErrorTypeCircuit,
    Modification,
    SandboxRun,
    WorkspaceBreaker,
)

from .models import (
    HealingAttempt,
    HealingLoopState,
    HealthStatus,
    SystemSnapshot,
    TelemetrySnapshot,
)

log = logging.getLogger(__name__)


def queue_depth() -> int | None:
    from selfheal_site.celery import app

    try:
        with app.connection_for_read() as conn:
            return int(conn.default_channel.client.llen(app.conf.task_default_queue or "celery"))
    except Exception:  # noqa: BLE001 - a broker outage leaves the gauge out, /healthz reports it
        log.warning("queue depth unavailable", exc_info=True)
        return None


class SelfhealCollector:
    def collect(self) -> Iterator[Metric]:
        yield from self._modifications()
        yield from self._approvals()
        yield from self._health()
        yield from self._loop()
        yield from self._breakers()
        yield from self._sandbox()
        depth = queue_depth()
        if depth is not None:
            g = GaugeMetricFamily("selfheal_queue_depth", "Tasks waiting in the Celery queue.")
            g.add_metric([], depth)
            yield g

    def _modifications(self) -> Iterator[Metric]:
        g = GaugeMetricFamily(
            "selfheal_modifications",
            "Modifications by status and safety level.",
            labels=["status", "safety_level"],
        )
        for row in (
            Modification.objects.order_by().values("status", "safety_level").annotate(n=Count("id"))
        ):
            g.add_metric([row["status"], row["safety_level"] or "unassessed"], row["n"])
        yield g

    def _approvals(self) -> Iterator[Metric]:
        waiting = (
            Modification.objects.awaiting_review()
            .order_by()
            .aggregate(n=Count("id"), oldest=Min("status_changed_at"))
        )
        g = GaugeMetricFamily(
            "selfheal_approvals_waiting", "Modifications awaiting a human decision."
        )
        g.add_metric([], waiting["n"])
        yield g
        age = GaugeMetricFamily(
            "selfheal_approvals_oldest_age_seconds",
            "Age of the oldest modification awaiting approval.",
        )
        age.add_metric(
            [], (timezone.now() - waiting["oldest"]).total_seconds() if waiting["oldest"] else 0.0
        )
        yield age

    def _health(self) -> Iterator[Metric]:
        latest = SystemSnapshot.objects.latest_first().first()
        status = GaugeMetricFamily(
            "selfheal_health_status", "1 for the current system health status.", labels=["status"]
        )
        for choice in HealthStatus.values:
            status.add_metric([choice], 1.0 if latest and latest.status == choice else 0.0)
        yield status
        stopped = GaugeMetricFamily(
            "selfheal_emergency_stopped", "1 while the engine is emergency-stopped."
        )
        stopped.add_metric([], 1.0 if EngineState.objects.current().is_emergency_stopped else 0.0)
        yield stopped
        if latest is not None:
            for name, help_text, value in (
                ("selfheal_health_score", "Share of health checks passing.", latest.health_score),
                ("selfheal_cpu_percent", "Machine CPU use.", latest.cpu_percent),
                (
                    "selfheal_sandbox_cpu_percent",
                    "Machine CPU used by sandbox children.",
                    latest.sandbox_cpu_percent,
                ),
                (
                    "selfheal_memory_available_percent",
                    "Available memory.",
                    latest.memory_available_percent,
                ),
                ("selfheal_disk_percent", "Disk use.", latest.disk_percent),
                (
                    "selfheal_worker_memory_mb",
                    "RSS of the Celery worker processes.",
                    latest.worker_memory_mb,
                ),
                (
                    "selfheal_health_trend_slope",
                    "Load index slope, points per minute.",
                    latest.trend_slope or 0.0,
                ),
            ):
                g = GaugeMetricFamily(name, help_text)
                g.add_metric([], value)
                yield g
        phi = GaugeMetricFamily("selfheal_telemetry_phi", "Latest Φ per source.", labels=["source"])
        kappa = GaugeMetricFamily(
            "selfheal_telemetry_kappa_eff", "Latest κ per source.", labels=["source"]
        )
        seen: set[str] = set()
        for source, p, k in (
            TelemetrySnapshot.objects.filter(context="live")
            .order_by("-recorded_at")
            .values_list("source", "phi", "kappa_eff")[:500]
        ):
            if source not in seen:
                seen.add(source)
                phi.add_metric([source], p)
                kappa.add_metric([source], k)
        yield phi
        yield kappa

    def _loop(self) -> Iterator[Metric]:
        running = GaugeMetricFamily(
            "selfheal_healing_loop_running", "1 while the healing loop runs."
        )
        running.add_metric([], 1.0 if HealingLoopState.objects.current().running else 0.0)
        yield running
        attempts = CounterMetricFamily(
            "selfheal_healing_attempts",
            "Healing attempts by strategy, action and status.",
            labels=["strategy", "action", "status"],
        )
        for row in (
            HealingAttempt.objects.order_by()
            .values("strategy", "action", "status")
            .annotate(n=Count("id"))
        ):
            attempts.add_metric([row["strategy"], row["action"], row["status"]], row["n"])
        yield attempts

    def _breakers(self) -> Iterator[Metric]:
        g = GaugeMetricFamily(
            "selfheal_breaker_state",
            "1 for each breaker's current state.",
            labels=["breaker", "state"],
        )
        # One breaker per engine (source); the one with no source is the global breaker.
        for source, state in EngineBreaker.objects.order_by().values_list("source", "state"):
            g.add_metric([f"engine:{source}" if source else "engine", str(state)], 1.0)
        for ws, state in WorkspaceBreaker.objects.order_by().values_list("workspace_id", "state"):
            g.add_metric([f"workspace:{ws}", str(state)], 1.0)
        yield g
        c = GaugeMetricFamily(
            "selfheal_circuit_open",
            "1 while an error type's circuit is open.",
            labels=["workspace", "error_type"],
        )
        rows = ErrorTypeCircuit.objects.order_by().values_list(
            "workspace_id", "error_type", "is_open"
        )
        for ws, error_type, is_open in rows:
            c.add_metric([str(ws), str(error_type)], 1.0 if is_open else 0.0)
        yield c

    def _sandbox(self) -> Iterator[Metric]:
        agg = SandboxRun.objects.order_by().aggregate(n=Count("pk"), total=Sum("duration_ms"))
        runs = CounterMetricFamily("selfheal_sandbox_runs", "Sandbox runs.")
        runs.add_metric([], agg["n"] or 0)
        yield runs
        seconds = CounterMetricFamily(
            "selfheal_sandbox_duration_seconds", "Total sandbox wall time."
        )
        seconds.add_metric([], (agg["total"] or 0) / 1000.0)
        yield seconds
        hits = CounterMetricFamily(
            "selfheal_sandbox_limit_hits", "Sandbox runs stopped by a limit.", labels=["limit"]
        )
        for row in (
            SandboxRun.objects.exclude(limit_hit__isnull=True)
            .exclude(limit_hit="")
            .order_by()
            .values("limit_hit")
            .annotate(n=Count("pk"))
        ):
            hits.add_metric([row["limit_hit"]], row["n"])
        yield hits


def render() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SelfhealCollector())  # type: ignore[arg-type]
    return generate_latest(registry)
