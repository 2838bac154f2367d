"""Live updates: events go to Channels groups after the transaction that made them commits."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

ENGINE_GROUP = "engine"


def workspace_group(workspace_id: int) -> str:
    return f"workspace-{workspace_id}"


def send_now(group: str, kind: str, payload: dict[str, Any]) -> bool:
    """Send one message to a group. A down channel layer is logged, never raised to the caller:
    the state change already committed and /healthz reports the layer."""
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        async_to_sync(layer.group_send)(
            group, {"type": "live.message", "kind": kind, "payload": payload}
        )
    except Exception:  # noqa: BLE001 - any transport error must not undo a committed change
        log.warning("broadcast to %s failed", group, exc_info=True)
        return False
    return True


def broadcast(kind: str, payload: dict[str, Any], workspace_id: int | None = None) -> None:
    """Queue a broadcast to the engine group (and the workspace's group) for after commit."""

    def _send() -> None:
        send_now(ENGINE_GROUP, kind, payload)
        if workspace_id is not None:
            send_now(workspace_group(workspace_id), kind, payload)

    transaction.on_commit(_send)
