"""The design's dual breaker, per workspace: a syntax circuit and a logic circuit.

Each error type keeps its own counters per engine (ErrorTypeCircuit, keyed by the source that
submitted): one engine's failures never open a circuit for another. A circuit an admin forces
open has no source and holds every engine. A circuit opens on `max_attempts`
consecutive failures, or when the failures among the latest `budget_window` outcomes of that
workspace and error type exceed floor(error_budget × window). The workspace state follows:
SYNTAX_OPEN when the syntax circuit is open, LOGIC_OPEN when one of logic, runtime, performance
or security is open, PERMANENTLY_OPEN when both are for one engine — sticky until an admin resets
it, and holding only that engine (and every engine if the admin's circuits are both open).

Every change happens under `select_for_update()` of the workspace's WorkspaceBreaker row, so
concurrent workers serialise on it and count each outcome once. Whoever needs both locks takes
the engine breaker's row first (record_outcome, the pre-flight reservations), so no two
processes can wait on each other.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from .. import tunables
from ..actions.audit import Actor, record_event
from ..broadcast import broadcast
from ..models import ErrorTypeCircuit, Hold, Outcome, WorkspaceBreaker
from ..models.breaker import DualState
from .results import CheckResult

SYNTAX = "syntax"
ALL = ""  # the source of an admin's circuit: it holds every engine
ERROR_TYPES = ("syntax", "logic", "runtime", "performance", "security")


def circuit_family(error_type: str) -> str:
    return "syntax" if error_type == SYNTAX else "logic"


def normalise(error_type: str | None) -> str:
    return error_type if error_type in ERROR_TYPES else "logic"


def hold_key(workspace_id: int, error_type: str | None, source: str = ALL) -> str:
    """What a block by this circuit names as its lift (healing.actions.unblock)."""
    return f"dual_breaker:{workspace_id}:{normalise(error_type)}:{source[:128]}"


def _sources(source: str) -> list[str]:
    """The circuits that count for a patch of `source`: its own and the admin's (for all)."""
    return sorted({source[:128], ALL})


def _lift_later(workspace_id: int, error_type: str, source: str | None = None) -> None:
    """The patches this circuit held go on once this commits (by task name); without a source,
    those of every engine."""
    from ..queueing import lift_later

    sources = (
        [source]
        if source is not None
        else Hold.objects.filter(
            kind="dual_breaker", key__startswith=f"{workspace_id}:{error_type}:"
        ).values_list("key", flat=True)
    )
    for one in set(sources):
        key = one if source is None else f"{workspace_id}:{error_type}:{one}"
        lift_later(f"dual_breaker:{key}")


def lock(workspace_id: int) -> WorkspaceBreaker:
    """The workspace breaker row, locked for the rest of the transaction."""
    WorkspaceBreaker.objects.get_or_create(workspace_id=workspace_id)
    return WorkspaceBreaker.objects.select_for_update().get(workspace_id=workspace_id)


def _circuit(workspace_id: int, error_type: str, source: str = ALL) -> ErrorTypeCircuit:
    return ErrorTypeCircuit.objects.get_or_create(
        workspace_id=workspace_id, error_type=error_type, source=source[:128]
    )[0]


def _permanently_open_for(workspace_id: int, source: str) -> bool:
    """Both the syntax and a logic circuit open for this engine (or for every engine)."""
    open_types = set(
        ErrorTypeCircuit.objects.filter(
            workspace_id=workspace_id, is_open=True, source__in=_sources(source)
        ).values_list("error_type", flat=True)
    )
    return SYNTAX in open_types and bool(open_types - {SYNTAX})


def check(
    workspace_id: int, error_type: str, source: str = ALL, *, now: datetime | None = None
) -> CheckResult:
    """Read-only: may a patch of this error type, from this engine, go on in this workspace?"""
    now = now or timezone.now()
    error_type = normalise(error_type)
    blocked_by = hold_key(workspace_id, error_type, source)
    # One query on the hot path: the workspace state and whether this type's circuit is open.
    row = (
        WorkspaceBreaker.objects.filter(workspace_id=workspace_id)
        .annotate(
            circuit_open=Subquery(
                ErrorTypeCircuit.objects.filter(
                    workspace_id=OuterRef("workspace_id"),
                    error_type=error_type,
                    source__in=_sources(source),
                    is_open=True,
                ).values("is_open")[:1]
            )
        )
        .values_list("state", "circuit_open")
        .first()
    )
    state, circuit_open = row if row is not None else (DualState.CLOSED, False)
    if not circuit_open and state != DualState.PERMANENTLY_OPEN:
        return CheckResult(
            "breaker", True, metric=f"{error_type}_circuit", value="closed", threshold="closed"
        )
    if state == DualState.PERMANENTLY_OPEN and _permanently_open_for(workspace_id, source):
        return CheckResult(
            "breaker",
            False,
            "both the syntax and the logic circuit of this workspace are open; only an admin reset lifts it",
            metric="breaker_state",
            value=state,
            threshold=DualState.CLOSED,
            blocked_by=blocked_by,
        )
    # The admin's circuit (forced, for every engine) first, then this engine's.
    circuit = (
        ErrorTypeCircuit.objects.filter(
            workspace_id=workspace_id,
            error_type=error_type,
            source__in=_sources(source),
            is_open=True,
        )
        .order_by("source")
        .first()
    )
    if circuit is None or not circuit.is_open:
        return CheckResult(
            "breaker", True, metric=f"{error_type}_circuit", value="closed", threshold="closed"
        )
    trip = circuit.trip or {}
    metric, value, threshold = (
        trip.get("metric", f"{error_type}_circuit"),
        trip.get("value", "open"),
        trip.get("threshold", "closed"),
    )
    if circuit.forced:
        return CheckResult(
            "breaker",
            False,
            f"the {error_type} circuit was opened by an admin: {circuit.reason}",
            metric=metric,
            value=value,
            threshold=threshold,
            blocked_by=blocked_by,
        )
    if circuit.retry_at is not None and circuit.retry_at > now:
        return CheckResult(
            "breaker",
            False,
            f"the {error_type} circuit is open: {circuit.reason}",
            metric=metric,
            value=value,
            threshold=threshold,
            retry_at=circuit.retry_at,
            blocked_by=blocked_by,
        )
    # Cool-down over: one trial may pass (reserved in `admit_trial`).
    return CheckResult(
        "breaker",
        True,
        f"the {error_type} circuit is open; its cool-down is over, so one trial may pass",
        metric=metric,
        value=value,
        threshold=threshold,
    )


def admit_trial(
    workspace_id: int, error_type: str, result: CheckResult, source: str = ALL
) -> CheckResult:
    """If the circuit is open past its cool-down, let exactly one trial through this cool-down."""
    error_type = normalise(error_type)
    if result.value == "closed" or not result.ok:
        return result
    now = timezone.now()
    cooldown = timedelta(minutes=tunables.get("breaker.cooldown_minutes"))
    with transaction.atomic():
        lock(workspace_id)
        # Conditional on the cool-down being over: of two racing workers one admits, one is told when.
        admitted = ErrorTypeCircuit.objects.filter(
            workspace_id=workspace_id,
            error_type=error_type,
            source=source[:128],
            is_open=True,
            forced=False,
            retry_at__lte=now,
        ).update(retry_at=now + cooldown, updated_at=now)
    if admitted:
        return result
    return check(workspace_id, error_type, source)


def _limits(error_type: str, workspace: object | None) -> tuple[int, float, int]:
    values = tunables.get_many(
        [
            f"breaker.{error_type}.max_attempts",
            f"breaker.{error_type}.error_budget",
            "breaker.budget_window",
        ],
        workspace,
    )
    return (
        values[f"breaker.{error_type}.max_attempts"],
        values[f"breaker.{error_type}.error_budget"],
        values["breaker.budget_window"],
    )


def record(
    workspace: object,
    workspace_id: int,
    error_type: str,
    success: bool,
    actor: Actor,
    source: str = ALL,
) -> None:
    """Count one outcome of `source` (the Outcome row is already written in this transaction)."""
    error_type = normalise(error_type)
    now = timezone.now()
    breaker = lock(workspace_id)
    circuit = _circuit(workspace_id, error_type, source)
    circuit.attempts += 1
    if success:
        circuit.successes += 1
        circuit.consecutive_failures = 0
    else:
        circuit.failures += 1
        circuit.consecutive_failures += 1
    circuit.updated_at = now
    fields = ["attempts", "successes", "failures", "consecutive_failures", "updated_at"]
    max_attempts, budget, window = _limits(error_type, workspace)
    if not circuit.is_open and not success:
        trip = _tripped(workspace_id, error_type, circuit, max_attempts, budget, window)
        if trip is not None:
            _open(circuit, trip, now, fields, reason=trip.pop("reason"))
            _circuit_event(circuit, "closed", "open", actor, circuit.reason)
    elif circuit.is_open and not circuit.forced:
        if success:
            # A trial passed after the cool-down: the circuit closes.
            _close(circuit, fields)
            _circuit_event(
                circuit, "open", "closed", actor, "a trial fix succeeded after the cool-down"
            )
            _lift_later(workspace_id, error_type, circuit.source)
        else:
            circuit.retry_at = now + timedelta(minutes=tunables.get("breaker.cooldown_minutes"))
            fields.append("retry_at")
    circuit.save(update_fields=fields)
    _follow(breaker, actor, sticky=True)


def _tripped(
    workspace_id: int,
    error_type: str,
    circuit: ErrorTypeCircuit,
    max_attempts: int,
    budget: float,
    window: int,
) -> dict | None:
    if circuit.consecutive_failures >= max_attempts:
        return {
            "metric": "consecutive_failures",
            "value": circuit.consecutive_failures,
            "threshold": max_attempts,
            "reason": f"{circuit.consecutive_failures} consecutive failed {error_type} fixes (at most {max_attempts})",
        }
    outcomes = Outcome.objects.filter(
        workspace_id=workspace_id, error_type=error_type, source=circuit.source, counted=True
    )
    if circuit.window_start is not None:
        outcomes = outcomes.filter(recorded_at__gte=circuit.window_start)
    latest = list(
        outcomes.order_by("-recorded_at", "-id").values_list("success", flat=True)[:window]
    )
    failures = latest.count(False)
    allowed = math.floor(budget * window)
    if failures > allowed:
        return {
            "metric": "failures_in_window",
            "value": failures,
            "threshold": allowed,
            "reason": f"{failures} failed {error_type} fixes in the latest {len(latest)} "
            f"(budget {budget:.0%} of {window} allows {allowed})",
        }
    return None


def _open(
    circuit: ErrorTypeCircuit,
    trip: dict,
    now: datetime,
    fields: list[str],
    *,
    reason: str,
    forced: bool = False,
) -> None:
    circuit.is_open = True
    circuit.forced = forced
    circuit.opened_at = now
    circuit.retry_at = (
        None if forced else now + timedelta(minutes=tunables.get("breaker.cooldown_minutes"))
    )
    circuit.reason = reason
    circuit.trip = trip
    fields.extend(["is_open", "forced", "opened_at", "retry_at", "reason", "trip"])


def _close(circuit: ErrorTypeCircuit, fields: list[str]) -> None:
    circuit.is_open = False
    circuit.forced = False
    circuit.consecutive_failures = 0
    circuit.retry_at = None
    circuit.reason = ""
    circuit.trip = {}
    circuit.window_start = timezone.now()  # a closed circuit starts a fresh error budget
    fields.extend(
        ["is_open", "forced", "consecutive_failures", "retry_at", "reason", "trip", "window_start"]
    )


def _circuit_event(
    circuit: ErrorTypeCircuit, old: str, new: str, actor: Actor, reason: str
) -> None:
    record_event(
        "breaker.circuit",
        actor if actor is not None else "system",
        workspace_id=circuit.workspace_id,
        from_state=old,
        to_state=new,
        reason=reason,
        data={"error_type": circuit.error_type, **circuit.as_json()},
    )


def _follow(breaker: WorkspaceBreaker, actor: Actor, *, sticky: bool, reason: str = "") -> None:
    """Bring the workspace state in line with its circuits (PERMANENTLY_OPEN sticks unless not sticky)."""
    by_source: dict[str, set[str]] = {}
    for source, error_type in ErrorTypeCircuit.objects.filter(
        workspace_id=breaker.workspace_id, is_open=True
    ).values_list("source", "error_type"):
        by_source.setdefault(source, set()).add(error_type)
    open_types = set().union(*by_source.values()) if by_source else set()
    syntax_open = SYNTAX in open_types
    logic_open = bool(open_types - {SYNTAX})
    # Both circuits open for one engine (or the admin's for all): that engine is held for good.
    everyone = by_source.get(ALL, set())
    both = any(
        SYNTAX in types | everyone and bool((types | everyone) - {SYNTAX})
        for types in [*by_source.values(), everyone]
    )
    if sticky and breaker.state == DualState.PERMANENTLY_OPEN or both:
        new = DualState.PERMANENTLY_OPEN
    elif syntax_open:
        new = DualState.SYNTAX_OPEN
    elif logic_open:
        new = DualState.LOGIC_OPEN
    else:
        new = DualState.CLOSED
    if new == breaker.state:
        return
    old = breaker.state
    breaker.state = new
    breaker.changed_at = timezone.now()
    breaker.reason = reason or f"open circuits: {', '.join(sorted(open_types)) or 'none'}"
    breaker.save(update_fields=["state", "changed_at", "reason"])
    record_event(
        "breaker.workspace",
        actor if actor is not None else "system",
        workspace_id=breaker.workspace_id,
        from_state=old,
        to_state=new,
        reason=breaker.reason,
        data={"open_circuits": sorted(open_types)},
    )
    broadcast("breaker", state_json(breaker.workspace_id), workspace_id=breaker.workspace_id)


def state_json(workspace_id: int) -> dict:
    breaker = WorkspaceBreaker.objects.filter(workspace_id=workspace_id).first()
    circuits = ErrorTypeCircuit.objects.filter(workspace_id=workspace_id).order_by(
        "error_type", "source"
    )
    return {
        "workspace_id": workspace_id,
        "state": breaker.state if breaker else DualState.CLOSED,
        "changed_at": breaker.changed_at.isoformat() if breaker else None,
        "reason": breaker.reason if breaker else "",
        "circuits": [c.as_json() for c in circuits],
    }


# --- admin actions --------------------------------------------------------------------------


def force_open(workspace_id: int, error_type: str, actor: Actor, reason: str) -> None:
    error_type = normalise(error_type)
    breaker = lock(workspace_id)
    circuit = _circuit(workspace_id, error_type)
    old = "open" if circuit.is_open else "closed"
    fields: list[str] = ["updated_at"]
    circuit.updated_at = timezone.now()
    _open(
        circuit,
        {"metric": "forced", "value": "admin", "threshold": "closed"},
        timezone.now(),
        fields,
        reason=reason,
        forced=True,
    )
    circuit.save(update_fields=fields)
    _circuit_event(circuit, old, "forced_open", actor, reason)
    _follow(breaker, actor, sticky=True, reason=reason)


def force_close(workspace_id: int, error_type: str, actor: Actor, reason: str) -> None:
    """Closes this error type's circuit for every engine."""
    error_type = normalise(error_type)
    breaker = lock(workspace_id)
    _circuit(workspace_id, error_type)  # the admin's, so the event has a row to name
    for circuit in ErrorTypeCircuit.objects.filter(
        workspace_id=workspace_id, error_type=error_type
    ).order_by("source"):
        old = "forced_open" if circuit.forced else ("open" if circuit.is_open else "closed")
        if old == "closed" and circuit.source != ALL:
            continue
        fields: list[str] = ["updated_at"]
        circuit.updated_at = timezone.now()
        _close(circuit, fields)
        circuit.save(update_fields=fields)
        _circuit_event(circuit, old, "closed", actor, reason)
    _follow(breaker, actor, sticky=False, reason=reason)
    _lift_later(workspace_id, error_type)


def reset(workspace_id: int, actor: Actor, reason: str) -> None:
    """Every circuit of the workspace closed and its counters zeroed; the state back to CLOSED."""
    breaker = lock(workspace_id)
    for circuit in ErrorTypeCircuit.objects.filter(workspace_id=workspace_id):
        was_open = circuit.is_open
        circuit.attempts = circuit.failures = circuit.successes = 0
        fields = ["attempts", "failures", "successes", "updated_at"]
        circuit.updated_at = timezone.now()
        _close(circuit, fields)
        circuit.save(update_fields=fields)
        if was_open:
            _circuit_event(circuit, "open", "closed", actor, reason)
    for error_type in ERROR_TYPES:
        _lift_later(workspace_id, error_type)
    record_event(
        "breaker.reset",
        actor,
        workspace_id=workspace_id,
        reason=reason,
        data={"scope": "workspace"},
    )
    _follow(breaker, actor, sticky=False, reason=reason)
