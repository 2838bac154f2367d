"""Actions on the breakers: force-open, force-close, reset — each with who and why, in one
transaction. The admin's buttons and the monitoring loop's handlers both come through here."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from ..actions.audit import Actor
from ..models import EngineBreaker
from ..models.breaker import GLOBAL_SOURCE
from . import dual
from . import engine_breaker as engine

ACTIONS = ("force-open", "force-close", "reset")


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["A breaker action needs a reason."]})
    return reason


# durable: a person's button, never nested in another transaction (nesting it fails loudly).
@transaction.atomic(durable=True)
def do_engine_breaker_action(
    user: User, action: str, reason: str, source: str = GLOBAL_SOURCE
) -> EngineBreaker:
    """On the global breaker (source "") or on one engine's. Closing or resetting it resumes
    the patches it held (on commit)."""
    reason = _reason(reason)
    if action == "force-open":
        return engine.force_open(user, reason, source)
    if action == "force-close":
        return engine.force_close(user, reason, source)
    if action == "reset":
        return engine.reset(user, reason, source)
    raise ValidationError({"action": [f"Unknown action {action!r}; one of {', '.join(ACTIONS)}."]})


# durable: a person's button, never nested in another transaction (nesting it fails loudly).
@transaction.atomic(durable=True)
def do_workspace_breaker_action(
    user: User,
    workspace_id: int,
    action: str,
    reason: str,
    error_type: str | None = None,
) -> dict:
    reason = _reason(reason)
    if action in ("force-open", "force-close"):
        if error_type not in dual.ERROR_TYPES:
            raise ValidationError(
                {"error_type": [f"One of {', '.join(dual.ERROR_TYPES)} is needed for {action}."]}
            )
        (dual.force_open if action == "force-open" else dual.force_close)(
            workspace_id, error_type, user, reason
        )
    elif action == "reset":
        dual.reset(workspace_id, user, reason)
    else:
        raise ValidationError(
            {"action": [f"Unknown action {action!r}; one of {', '.join(ACTIONS)}."]}
        )
    return dual.state_json(workspace_id)


@transaction.atomic
def do_force_open_breaker(
    actor: Actor, reason: str, *, workspace_id: int | None = None, error_type: str | None = None
) -> str:
    """Force a breaker open on someone's finding (the monitoring loop's open_breaker): the error
    type's circuit of the workspace when both are given, else the engine-wide breaker. Says which."""
    reason = _reason(reason)
    if workspace_id and error_type:
        dual.force_open(workspace_id, error_type, actor, reason)
        return f"forced the {error_type} circuit of workspace {workspace_id} open"
    engine.force_open(actor, reason)
    return "forced the engine breaker open (an admin resets it)"
