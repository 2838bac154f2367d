"""The healing loop's five strategies (design 001), small classes behind one interface.

A strategy looks at the cycle's context and returns findings; each finding carries the action
it proposes: roll back the modification applied just before the signal turned, open a breaker,
reset the baseline or restart the worker pool. Strategies decide nothing themselves: the loop
records every finding as a HealingAttempt, proposed, and executes it only when an admin has
allowed that strategy to act alone (`loop.auto.<name>`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import numpy as np

from healing.models import AuditEvent, Modification, ModificationStatus

from . import geometry
from .models import HealingActionKind, SystemSnapshot


@dataclass
class Finding:
    strategy: str
    metric: str
    value: float
    threshold: float
    action: str
    source: str = ""
    turned_at: datetime | None = None
    modification: Modification | None = None
    action_args: dict[str, Any] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": round(float(self.value), 6),
            "threshold": self.threshold,
            "turned_at": self.turned_at.isoformat() if self.turned_at else None,
            **self.detail,
        }


@dataclass
class SourceState:
    window: geometry.Window
    baseline: np.ndarray | None
    workspace_id: int | None
    metrics: dict[str, Any]


@dataclass
class CycleContext:
    now: datetime
    limits: dict[str, Any]  # monitoring.* without prefix
    health: dict[str, Any]  # health.* without prefix
    loop: dict[str, Any]  # loop.* without prefix
    sources: dict[str, SourceState]
    system: list[SystemSnapshot]  # oldest first
    engine_rates: dict[str, Any]

    def blame(
        self, turned_at: datetime, *, workspace_id: int | None, grace_seconds: float
    ) -> Modification | None:
        """The modification applied most recently before the signal turned (within the lookback),
        still applied. `grace_seconds` absorbs the sampling interval around the turn."""
        lookback = timedelta(minutes=self.loop["lookback_minutes"])
        events = AuditEvent.objects.filter(
            kind="modification.transition",
            to_state=ModificationStatus.APPLIED,
            created_at__gte=turned_at - lookback,
            created_at__lte=turned_at + timedelta(seconds=grace_seconds),
        )
        if workspace_id is not None:
            events = events.filter(workspace_id=workspace_id)
        for event in events.select_related("modification").order_by("-created_at", "-id")[:10]:
            if (
                event.modification is not None
                and event.modification.status == ModificationStatus.APPLIED
            ):
                return event.modification
        return None


def _grace(window: geometry.Window) -> float:
    return float(2 * np.median(np.diff(window.t))) if len(window) > 2 else 60.0


def _turn(window: geometry.Window, series: np.ndarray) -> datetime | None:
    ok = np.isfinite(series)
    if ok.sum() < 4:
        return None
    index = geometry.change_point(series[ok])
    if index == 0:
        return None
    t = window.t[ok][index]
    return datetime.fromtimestamp(float(t), tz=UTC)


class Strategy:
    name: ClassVar[str]
    title: ClassVar[str]

    def findings(self, ctx: CycleContext) -> list[Finding]:
        raise NotImplementedError

    def _rollback_or(
        self,
        ctx: CycleContext,
        source: str,
        state: SourceState,
        series: np.ndarray,
        fallback: str,
        **finding: Any,
    ) -> Finding:
        turned = _turn(state.window, series)
        mod = (
            ctx.blame(turned, workspace_id=state.workspace_id, grace_seconds=_grace(state.window))
            if turned
            else None
        )
        if mod is not None:
            return Finding(
                self.name,
                source=source,
                turned_at=turned,
                modification=mod,
                action=HealingActionKind.ROLLBACK,
                detail={"blamed": mod.patch_id, "why": "applied just before the signal turned"},
                **finding,
            )
        args = (
            {"scope": "engine"}
            if fallback == HealingActionKind.OPEN_BREAKER
            else {"source": source}
        )
        return Finding(
            self.name,
            source=source,
            turned_at=turned,
            action=fallback,
            action_args=args,
            detail={"blamed": None, "why": "no application just before the signal turned"},
            **finding,
        )


class BasinDriftCorrection(Strategy):
    name = "basin_drift"
    title = "Basin drift correction"

    def findings(self, ctx: CycleContext) -> list[Finding]:
        out = []
        for source, state in ctx.sources.items():
            drift = state.metrics.get("basin_drift")
            if state.baseline is None or drift is None or drift <= ctx.limits["basin_drift_max"]:
                continue
            series = geometry.basin_drift(state.window.basins, state.baseline)
            out.append(
                self._rollback_or(
                    ctx,
                    source,
                    state,
                    series,
                    HealingActionKind.RESET_BASELINE,
                    metric="basin_drift",
                    value=drift,
                    threshold=ctx.limits["basin_drift_max"],
                )
            )
        return out


class PhiDegradationRecovery(Strategy):
    name = "phi_degradation"
    title = "Φ degradation recovery"

    def findings(self, ctx: CycleContext) -> list[Finding]:
        out = []
        for source, state in ctx.sources.items():
            phi = state.metrics.get("phi")
            if phi is None:
                continue
            if phi < ctx.limits["phi_min"]:
                threshold = ctx.limits["phi_min"]
            elif phi > ctx.limits["phi_max"]:
                threshold = ctx.limits["phi_max"]
            else:
                continue
            out.append(
                self._rollback_or(
                    ctx,
                    source,
                    state,
                    state.window.phi,
                    HealingActionKind.OPEN_BREAKER,
                    metric="phi",
                    value=phi,
                    threshold=threshold,
                )
            )
        return out


class PerformanceRegression(Strategy):
    name = "performance_regression"
    title = "Performance regression"

    def findings(self, ctx: CycleContext) -> list[Finding]:
        out = []
        for source, state in ctx.sources.items():
            latency = state.metrics.get("latency_ms")
            lat = state.window.latency_ms
            if latency is None:
                continue
            over = latency > ctx.limits["latency_max_ms"]
            ratio = None
            ok = np.isfinite(lat)
            if ok.sum() >= 8:
                k = geometry.change_point(lat[ok])
                before, after = lat[ok][:k], lat[ok][k:]
                if k and before.mean() > 0:
                    ratio = float(after.mean() / before.mean())
            regressed = ratio is not None and ratio >= ctx.loop["latency_regression_ratio"]
            if not (over or regressed):
                continue
            finding = self._rollback_or(
                ctx,
                source,
                state,
                lat,
                HealingActionKind.OPEN_BREAKER,
                metric="latency_ms",
                value=latency,
                threshold=ctx.limits["latency_max_ms"],
            )
            finding.detail["ratio_after_before"] = ratio
            if finding.action == HealingActionKind.OPEN_BREAKER:
                finding.action_args = {
                    "scope": "error_type",
                    "error_type": "performance",
                    "workspace_id": state.workspace_id,
                }
            out.append(finding)
        return out


class MemoryLeak(Strategy):
    name = "memory_leak"
    title = "Memory leak mitigation"

    def findings(self, ctx: CycleContext) -> list[Finding]:
        recent = ctx.system[-ctx.loop["memory_leak_window"] :]
        if len(recent) < 5:
            return []
        fit = geometry.slope_per_minute(
            np.array([s.taken_at.timestamp() for s in recent]),
            np.array([s.worker_memory_mb for s in recent]),
        )
        if fit is None or not fit.significant or fit.slope <= ctx.loop["memory_leak_mb_per_min"]:
            return []
        return [
            Finding(
                self.name,
                metric="worker_memory_mb_per_min",
                value=fit.slope,
                threshold=ctx.loop["memory_leak_mb_per_min"],
                action=HealingActionKind.RESTART_WORKERS,
                detail={
                    "p_value": fit.p_value,
                    "samples": len(recent),
                    "worker_memory_mb": recent[-1].worker_memory_mb,
                },
            )
        ]


class ErrorSpike(Strategy):
    name = "error_spike"
    title = "Error spike handling"

    def findings(self, ctx: CycleContext) -> list[Finding]:
        out = []
        for source, state in ctx.sources.items():
            rate = state.metrics.get("error_rate")
            if rate is None or rate <= ctx.limits["error_rate_max"]:
                continue
            out.append(
                self._rollback_or(
                    ctx,
                    source,
                    state,
                    state.window.error_rate,
                    HealingActionKind.OPEN_BREAKER,
                    metric="error_rate",
                    value=rate,
                    threshold=ctx.limits["error_rate_max"],
                )
            )
        engine_error = ctx.engine_rates.get("engine_error_rate")
        if (
            engine_error is not None
            and ctx.engine_rates["outcomes"] >= ctx.health["min_outcomes"]
            and engine_error > ctx.health["error_rate_max"]
        ):
            out.append(
                Finding(
                    self.name,
                    metric="engine_error_rate",
                    value=engine_error,
                    threshold=ctx.health["error_rate_max"],
                    action=HealingActionKind.OPEN_BREAKER,
                    action_args={"scope": "engine"},
                    detail={"outcomes": ctx.engine_rates["outcome_counts"]},
                )
            )
        return out


STRATEGIES: dict[str, Strategy] = {}


def register(strategy: Strategy) -> Strategy:
    STRATEGIES[strategy.name] = strategy
    return strategy


for _cls in (
    BasinDriftCorrection,
    PhiDegradationRecovery,
    PerformanceRegression,
    MemoryLeak,
    ErrorSpike,
):
    register(_cls())
