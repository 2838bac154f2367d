"""Healing-loop actions: code fitness, starting and stopping the loop, cycles and attempts."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from healing import tunables
from healing.actions import do_change_setting, record_event
from healing.actions.audit import Actor
from healing.broadcast import broadcast
from healing.models import EngineState, Modification, ModificationStatus

from .. import fitness, geometry, host_health, telemetry
from ..handlers import HANDLERS, HandlerError
from ..models import (
    AttemptStatus,
    HealingActionKind,
    HealingAttempt,
    HealingLoopState,
    SystemSnapshot,
    TelemetrySnapshot,
)
from ..strategies import STRATEGIES, CycleContext, Finding, SourceState

log = logging.getLogger(__name__)
LOOP_ACTOR = "system:healing-loop"

# --- Code fitness ------------------------------------------------------------------------------


def applied_at(modification: Modification) -> datetime | None:
    from healing.models import AuditEvent

    return (
        AuditEvent.objects.filter(
            modification_id=modification.pk,
            kind="modification.transition",
            to_state=ModificationStatus.APPLIED,
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


@transaction.atomic
def do_compute_fitness(
    modification: Modification, phase: str = "post_apply", actor: Actor = LOOP_ACTOR
) -> dict[str, Any]:
    """Compute the four-component fitness for a phase and store it in Modification.fitness
    under the phase's key ("sandbox" / "post_apply"); "latest" names the last phase computed."""
    if phase not in ("sandbox", "post_apply"):
        raise ValidationError({"phase": ["must be sandbox or post_apply"]})
    now = timezone.now()
    at = modification.created_at if phase == "sandbox" else applied_at(modification)
    if at is None:
        raise ValidationError({"phase": [f"{modification.patch_id} was never applied"]})
    result = fitness.evaluate(modification, phase, at, telemetry.thresholds(), now)
    mod = Modification.objects.select_for_update().get(pk=modification.pk)
    stored = dict(mod.fitness or {})
    stored[phase] = result
    stored["latest"] = phase
    mod.fitness = stored
    mod.save(update_fields=["fitness", "updated_at"])
    modification.fitness = stored
    record_event(
        "monitoring.fitness",
        actor,
        workspace_id=mod.workspace_id,
        modification_id=mod.pk,
        data={
            "phase": phase,
            "fitness": result.get("fitness"),
            "recommendation": result["recommendation"],
        },
    )
    return result


# --- The healing loop --------------------------------------------------------------------------


@transaction.atomic
def do_start_loop(user: User, reason: str = "") -> HealingLoopState:
    return _set_loop(user, True, reason)


@transaction.atomic
def do_stop_loop(user: User, reason: str = "") -> HealingLoopState:
    return _set_loop(user, False, reason)


@transaction.atomic
def do_set_loop_interval(user: User, seconds: Any, reason: str = "") -> int:
    """Store the time between two cycles (the tunable's bounds apply); returns the cleaned value.
    Raises ValidationError for a value out of bounds, storing nothing."""
    return int(do_change_setting(user, "loop.interval_seconds", seconds, reason))


def _set_loop(user: User, running: bool, reason: str) -> HealingLoopState:
    HealingLoopState.objects.current()
    state = HealingLoopState.objects.select_for_update().get(pk=1)
    if state.running == running:
        return state
    state.running = running
    state.changed_at = timezone.now()
    state.changed_by = user
    state.reason = reason
    state.save(update_fields=["running", "changed_at", "changed_by", "reason"])
    record_event(
        "monitoring.loop_start" if running else "monitoring.loop_stop",
        user,
        from_state="stopped" if running else "running",
        to_state="running" if running else "stopped",
        reason=reason,
    )
    broadcast("healing_loop", state.as_json())
    return state


def build_context(now: datetime | None = None) -> CycleContext:
    now = now or timezone.now()
    limits = telemetry.thresholds()
    health_limits = host_health.health_limits()
    loop_limits = {k.removeprefix("loop."): v for k, v in tunables.get_group("loop.").items()}
    sources: dict[str, SourceState] = {}
    since = now - timedelta(days=1)
    for source in (
        TelemetrySnapshot.objects.filter(recorded_at__gte=since, context="live")
        .values_list("source", flat=True)
        .distinct()
    ):
        window = telemetry.load_window(source, limits["window_size"])
        if not len(window):
            continue
        baseline = telemetry.baseline_vector(source, window.basins.shape[1])
        workspace_id = (
            TelemetrySnapshot.objects.filter(source=source, workspace__isnull=False)
            .order_by("-recorded_at")
            .values_list("workspace_id", flat=True)
            .first()
        )
        sources[source] = SourceState(
            window, baseline, workspace_id, geometry.window_metrics(window, baseline, limits)
        )
    system = list(
        SystemSnapshot.objects.latest_first()[: max(loop_limits["memory_leak_window"], 5)]
    )[::-1]
    rates = host_health.outcome_rates(
        timedelta(minutes=health_limits["outcome_window_minutes"]), health_limits["min_outcomes"]
    )
    return CycleContext(now, limits, health_limits, loop_limits, sources, system, rates)


def do_run_healing_cycle(now: datetime | None = None) -> list[HealingAttempt]:
    """One pass of every strategy. Findings become proposed attempts (one open attempt per
    strategy/action/target); a strategy allowed to act alone executes at once, unless the engine
    is emergency-stopped. Also computes post-apply fitness of recent applications."""
    ctx = build_context(now)
    created: list[HealingAttempt] = []
    for strategy in STRATEGIES.values():
        try:
            findings = strategy.findings(ctx)
        except Exception:  # noqa: BLE001 - one broken strategy must not stop the others
            log.exception("healing strategy %s failed", strategy.name)
            continue
        for finding in findings:
            attempt = _record_finding(finding)
            if attempt is not None:
                created.append(attempt)
    stopped = EngineState.objects.current().is_emergency_stopped
    for attempt in created:
        if ctx.loop.get(f"auto.{attempt.strategy}") and not stopped:
            do_execute_attempt(attempt, LOOP_ACTOR, auto=True)
    _fitness_for_recent_applications(ctx)
    with transaction.atomic():
        state = HealingLoopState.objects.current()
        HealingLoopState.objects.filter(pk=state.pk).update(
            last_cycle_at=ctx.now, cycles=F("cycles") + 1
        )
    return created


@transaction.atomic
def _record_finding(finding: Finding) -> HealingAttempt | None:
    open_attempts = HealingAttempt.objects.open().select_for_update()
    if finding.action == HealingActionKind.ROLLBACK:
        duplicate = open_attempts.filter(
            action=finding.action, modification=finding.modification
        ).exists()
    else:
        duplicate = open_attempts.filter(
            strategy=finding.strategy, action=finding.action, source=finding.source
        ).exists()
    if duplicate:
        return None
    attempt = HealingAttempt.objects.create(
        strategy=finding.strategy,
        source=finding.source,
        finding=finding.as_json(),
        action=finding.action,
        action_args=finding.action_args,
        modification=finding.modification,
    )
    record_event(
        "monitoring.healing_proposed",
        LOOP_ACTOR,
        workspace_id=finding.modification.workspace_id if finding.modification else None,
        modification_id=finding.modification.pk if finding.modification else None,
        reason=f"{finding.strategy}: {finding.metric} {finding.value:.4g} vs {finding.threshold}",
        data={"attempt_id": attempt.pk, "action": attempt.action},
    )
    broadcast("healing_attempt", attempt.as_json())
    return attempt


def _fitness_for_recent_applications(ctx: CycleContext) -> None:
    from healing.models import AuditEvent

    span = timedelta(minutes=ctx.limits["fitness_window_minutes"])
    events = AuditEvent.objects.filter(
        kind="modification.transition",
        to_state=ModificationStatus.APPLIED,
        created_at__lte=ctx.now - span,
        created_at__gte=ctx.now - span * 4,
    ).select_related("modification")
    for event in events:
        mod = event.modification
        if mod is not None and "post_apply" not in (mod.fitness or {}):
            try:
                do_compute_fitness(mod, "post_apply")
            except ValidationError:
                log.info("no post-apply fitness for %s", mod.patch_id)


def _claim_attempt(attempt: HealingAttempt, to_status: str, **fields: Any) -> None:
    updated = HealingAttempt.objects.filter(pk=attempt.pk, status=AttemptStatus.PROPOSED).update(
        status=to_status, **fields
    )
    if updated != 1:
        current = (
            HealingAttempt.objects.filter(pk=attempt.pk).values_list("status", flat=True).first()
        )
        raise ValidationError(f"healing attempt {attempt.pk} is {current or 'gone'}, not proposed")
    attempt.status = to_status
    for name, value in fields.items():
        setattr(attempt, name, value)


def do_execute_attempt(
    attempt: HealingAttempt, actor: Actor, *, auto: bool = False
) -> HealingAttempt:
    """Claim a proposed attempt and run its action; the outcome is recorded either way."""
    now = timezone.now()
    user = actor if isinstance(actor, AbstractBaseUser) else None
    with transaction.atomic():
        _claim_attempt(attempt, AttemptStatus.EXECUTING, decided_by=user, decided_at=now, auto=auto)
        record_event(
            "monitoring.healing_approved",
            actor,
            modification_id=attempt.modification_id,
            data={"attempt_id": attempt.pk, "action": attempt.action, "auto": auto},
        )
    try:
        with transaction.atomic():
            outcome = HANDLERS[attempt.action](attempt, actor)
        status = AttemptStatus.SUCCEEDED
    except (HandlerError, ValidationError) as exc:
        outcome, status = str(exc), AttemptStatus.FAILED
    except Exception as exc:  # noqa: BLE001 - an action's crash is recorded as its outcome
        log.exception("healing action %s failed", attempt.action)
        outcome, status = f"{type(exc).__name__}: {exc}", AttemptStatus.FAILED
    with transaction.atomic():
        HealingAttempt.objects.filter(pk=attempt.pk).update(
            status=status, outcome=outcome, executed_at=timezone.now()
        )
        attempt.status, attempt.outcome = status, outcome
        record_event(
            "monitoring.healing_executed",
            actor,
            modification_id=attempt.modification_id,
            data={
                "attempt_id": attempt.pk,
                "action": attempt.action,
                "status": status,
                "outcome": outcome,
            },
        )
        broadcast("healing_attempt", attempt.as_json())
    return attempt


@transaction.atomic
def do_reject_attempt(attempt: HealingAttempt, user: User, reason: str = "") -> HealingAttempt:
    _claim_attempt(
        attempt, AttemptStatus.REJECTED, decided_by=user, decided_at=timezone.now(), outcome=reason
    )
    record_event(
        "monitoring.healing_rejected",
        user,
        modification_id=attempt.modification_id,
        reason=reason,
        data={"attempt_id": attempt.pk, "action": attempt.action},
    )
    broadcast("healing_attempt", attempt.as_json())
    return attempt
