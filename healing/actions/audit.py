from __future__ import annotations

import socket
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from ..actors import Actor
from ..broadcast import broadcast
from ..models import AuditEvent
from ..roles import Role, has_role


def actor_label(actor: Actor) -> str:
    """'user:alice', 'agent:bot-7', or a system label such as 'system' or 'worker:host'."""
    if actor is None:
        return f"worker:{socket.gethostname()}"
    if isinstance(actor, str):
        return actor
    prefix = "agent" if has_role(actor, Role.AGENT) else "user"
    return f"{prefix}:{actor.get_username()}"


@transaction.atomic
def record_event(
    kind: str,
    actor: Actor,
    *,
    workspace_id: int | None = None,
    modification_id: int | None = None,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    broadcast_it: bool = True,
) -> AuditEvent:
    event = AuditEvent.objects.create(
        kind=kind,
        actor=actor if isinstance(actor, AbstractBaseUser) else None,
        actor_label=actor_label(actor),
        workspace_id=workspace_id,
        modification_id=modification_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
    )
    if broadcast_it:
        broadcast("event", event.as_json(), workspace_id=workspace_id)
    return event
