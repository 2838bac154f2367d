"""Pre-flight checks: small classes behind one interface, run in registry order.

`run()` only reads (apart from the engine breaker's lazy half-open move). When every check
passes, the checks that hand out limited places (rate limit, engine trial, circuit trial)
`reserve()` one in the same order; if a later one is refused, the earlier places are released.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from django.utils import timezone

from .. import tunables
from ..models import EngineState, Modification
from ..tunables import ANOMALY_LEVELS
from . import dual, engine_breaker, ratelimit, snapshot
from .preflight_health import check_health
from .results import CheckResult, PreflightResult

STAGES = ("intake", "apply")


@dataclass
class Context:
    modification: Modification
    stage: str
    now: datetime = field(default_factory=timezone.now)

    _snapshot: snapshot.Snapshot | None = None

    @property
    def error_type(self) -> str:
        return dual.normalise(self.modification.error_type)

    @property
    def source(self) -> str:
        return (self.modification.source or "")[:128]

    @property
    def snapshot(self) -> snapshot.Snapshot:
        if self._snapshot is None:
            self._snapshot = snapshot.take(
                self.modification.workspace_id, self.error_type, self.source
            )
        return self._snapshot


class PreflightCheck:
    name: ClassVar[str]
    stages: ClassVar[tuple[str, ...]] = STAGES

    def run(self, ctx: Context) -> CheckResult:
        raise NotImplementedError

    def reserve(self, ctx: Context, result: CheckResult) -> CheckResult:
        return result

    def release(self, ctx: Context, result: CheckResult) -> None:
        return None


CHECKS: list[PreflightCheck] = []


def register_check(cls: type[PreflightCheck]) -> type[PreflightCheck]:
    CHECKS.append(cls())
    return cls


@register_check
class EmergencyStopCheck(PreflightCheck):
    name = "emergency_stop"

    def run(self, ctx: Context) -> CheckResult:
        state = EngineState.objects.current()
        if state.is_emergency_stopped:
            return CheckResult(
                self.name,
                False,
                f"emergency stop: {state.reason}; lifts when an operator resumes",
                metric="engine_state",
                value=state.state,
                threshold="running",
                blocked_by="emergency_stop",
            )
        return CheckResult(
            self.name, True, metric="engine_state", value=state.state, threshold="running"
        )


@register_check
class EngineBreakerCheck(PreflightCheck):
    """The global breaker, then the breaker of the engine that submitted this patch."""

    name = "engine_breaker"

    def run(self, ctx: Context) -> CheckResult:
        if ctx.snapshot.engine_closed:
            return snapshot.check_breakers(
                ctx.modification.workspace_id, ctx.error_type, ctx.stage, ctx.snapshot, ctx.source
            )[1]
        return engine_breaker.check(ctx.stage, ctx.source, now=ctx.now)

    def reserve(self, ctx: Context, result: CheckResult) -> CheckResult:
        return engine_breaker.admit_trial(ctx.stage, result, ctx.source)

    def release(self, ctx: Context, result: CheckResult) -> None:
        if result.value == "admitted":
            engine_breaker.release_trial(ctx.source)


@register_check
class BreakerCheck(PreflightCheck):
    name = "breaker"

    def run(self, ctx: Context) -> CheckResult:
        if ctx.snapshot.dual_closed:
            return snapshot.check_breakers(
                ctx.modification.workspace_id, ctx.error_type, ctx.stage, ctx.snapshot, ctx.source
            )[0]
        return _names(
            dual.check(ctx.modification.workspace_id, ctx.error_type, ctx.source, now=ctx.now),
            dual.hold_key(ctx.modification.workspace_id, ctx.error_type, ctx.source),
        )

    def reserve(self, ctx: Context, result: CheckResult) -> CheckResult:
        if ctx.stage != "apply":  # the trial place is taken where the patch would land
            return result
        return _names(
            dual.admit_trial(ctx.modification.workspace_id, ctx.error_type, result, ctx.source),
            dual.hold_key(ctx.modification.workspace_id, ctx.error_type, ctx.source),
        )


@register_check
class CascadeCheck(PreflightCheck):
    name = "cascade"

    def run(self, ctx: Context) -> CheckResult:
        from ..cascades import preflight_check
        from ..models import CascadeLink

        result = preflight_check(ctx.modification)
        if result.ok:
            return result
        cascade_id = (
            CascadeLink.objects.filter(modification=ctx.modification)
            .values_list("cascade_id", flat=True)
            .first()
        )
        return _names(result, f"cascade:{cascade_id}")


@register_check
class HealthCheck(PreflightCheck):
    name = "health"
    stages = ("apply",)

    def run(self, ctx: Context) -> CheckResult:
        return _names(
            check_health(ctx.now, tunables.get("preflight.health_retry_seconds")), "health"
        )


@register_check
class AnomalyCheck(PreflightCheck):
    name = "anomaly"

    def run(self, ctx: Context) -> CheckResult:
        level = (ctx.modification.risk_level or "none").lower()
        block_at = tunables.get("preflight.block_anomaly_level", ctx.modification.workspace)
        rank = ANOMALY_LEVELS.index(level) if level in ANOMALY_LEVELS else 0
        if rank >= ANOMALY_LEVELS.index(block_at):
            return CheckResult(
                self.name,
                False,
                f"anomaly risk {level}; a person must look at it",
                metric="anomaly_risk",
                value=level,
                threshold=f"below {block_at}",
                blocked_by=f"anomaly:{ctx.modification.workspace_id}:{level}",
            )
        return CheckResult(
            self.name, True, metric="anomaly_risk", value=level, threshold=f"below {block_at}"
        )


@register_check
class RateLimitCheck(PreflightCheck):
    name = "rate_limit"
    stages = ("apply",)

    def run(self, ctx: Context) -> CheckResult:
        return _names(ratelimit.check(ctx.modification.pk), "rate_limit")

    def reserve(self, ctx: Context, result: CheckResult) -> CheckResult:
        return _names(ratelimit.reserve(ctx.modification.pk), "rate_limit")

    def release(self, ctx: Context, result: CheckResult) -> None:
        ratelimit.release(ctx.modification.pk)


def _names(result: CheckResult, blocked_by: str) -> CheckResult:
    """A block names what lifts it (healing.actions.unblock)."""
    if not result.ok and not result.blocked_by:
        result.blocked_by = blocked_by
    return result


# With the safety switch off an admin has turned the checks off; these still apply.
ALWAYS = ("emergency_stop", "rate_limit")

# Places are reserved cheapest-to-release first.
RESERVE_ORDER = ("rate_limit", "engine_breaker", "breaker")


def run_preflight(modification: Modification, *, stage: str) -> PreflightResult:
    if stage not in STAGES:
        raise ValueError(f"unknown pre-flight stage {stage!r}; one of {', '.join(STAGES)}")
    ctx = Context(modification, stage)
    active = [c for c in CHECKS if stage in c.stages]
    if not tunables.get("safety.safety_enabled", modification.workspace):
        active = [c for c in active if c.name in ALWAYS]
    results: dict[str, CheckResult] = {c.name: c.run(ctx) for c in active}
    if all(r.ok for r in results.values()):
        by_name = {c.name: c for c in active}
        reserved: list[str] = []
        for name in [n for n in RESERVE_ORDER if n in by_name]:
            results[name] = by_name[name].reserve(ctx, results[name])
            if not results[name].ok:
                for earlier in reserved:
                    by_name[earlier].release(ctx, results[earlier])
                break
            reserved.append(name)
    result = PreflightResult(
        ok=all(r.ok for r in results.values()),
        checks=[results[c.name] for c in active],
        stage=stage,
    )
    _store(modification, result)
    return result


def _store(modification: Modification, result: PreflightResult) -> None:
    from ..actions.modifications import do_record_preflight

    do_record_preflight(modification, result.stage, result.as_json())
