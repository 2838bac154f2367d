from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..broadcast import broadcast
from ..models import EngineState
from ..models.run_state import EngineRunState
from .audit import record_event

log = logging.getLogger(__name__)

# Called after an emergency stop commits: the sandbox kills its process trees, the queue holds
# its tasks. Each area registers its own hook; a failing hook is logged and the others still run.
EMERGENCY_STOP_HOOKS: list[Callable[[EngineState], None]] = []


def on_emergency_stop(hook: Callable[[EngineState], None]) -> Callable[[EngineState], None]:
    EMERGENCY_STOP_HOOKS.append(hook)
    return hook


def _run_stop_hooks(state: EngineState) -> None:
    for hook in EMERGENCY_STOP_HOOKS:
        try:
            hook(state)
        except Exception:  # noqa: BLE001 - one broken hook must not spare the others
            log.exception("emergency stop hook %s failed", hook)


@transaction.atomic
def do_emergency_stop(user: User, reason: str) -> EngineState:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("An emergency stop needs a reason.")
    state = EngineState.objects.select_for_update().get_or_create(pk=1)[0]
    previous = state.state
    state.state = EngineRunState.EMERGENCY_STOPPED
    state.changed_at = timezone.now()
    state.changed_by = user
    state.reason = reason
    state.save(update_fields=["state", "changed_at", "changed_by", "reason"])
    record_event(
        "engine.emergency_stop", user, from_state=previous, to_state=state.state, reason=reason
    )
    broadcast("engine", state.as_json())
    transaction.on_commit(lambda: _run_stop_hooks(state))
    return state


@transaction.atomic
def do_resume(user: User, reason: str = "") -> EngineState:
    state = EngineState.objects.select_for_update().get_or_create(pk=1)[0]
    if state.state == EngineRunState.RUNNING:
        return state
    previous = state.state
    state.state = EngineRunState.RUNNING
    state.changed_at = timezone.now()
    state.changed_by = user
    state.reason = reason
    state.save(update_fields=["state", "changed_at", "changed_by", "reason"])
    record_event("engine.resume", user, from_state=previous, to_state=state.state, reason=reason)
    broadcast("engine", state.as_json())
    from ..queueing import lift_later

    lift_later("emergency_stop")  # what the stop held goes on, in arrival order
    return state
