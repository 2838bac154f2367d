"""The live console socket.

Authenticated people (reviewer, operator, admin) join the engine group on connect and, on request,
the group of each workspace they watch. Every committed event arrives as JSON
{"kind": ..., "payload": ...}; the kinds are listed in docs/live-events.md. On (re)connect the
client gets a "hello" with the engine state, so a page that missed events while offline resyncs.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from healing.broadcast import ENGINE_GROUP, workspace_group
from healing.models import EngineState, Workspace
from healing.roles import Role, roles_of

MAX_WATCHED = 50


@database_sync_to_async
def _roles(user: Any) -> set[Role]:
    return roles_of(user)


@database_sync_to_async
def _engine_json() -> dict[str, Any]:
    return EngineState.objects.current().as_json()


@database_sync_to_async
def _workspace_exists(workspace_id: int) -> bool:
    return Workspace.objects.filter(pk=workspace_id).exists()


class LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        # Agents talk to the REST API about their own patches; the live stream is for people.
        if not (await _roles(user)) & {Role.REVIEWER, Role.OPERATOR, Role.ADMIN}:
            await self.close(code=4403)
            return
        await self._join(ENGINE_GROUP)
        await self.accept()
        await self.send_json(
            {
                "kind": "hello",
                "payload": {"user": user.get_username(), "engine": await _engine_json()},
            }
        )

    async def _join(self, group: str) -> None:
        if group in self.groups_joined:
            return
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def _leave(self, group: str) -> None:
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.remove(group)

    async def _error(self, detail: str) -> None:
        await self.send_json({"kind": "error", "payload": {"detail": detail}})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self._error("send a JSON object with an action")
            return
        action = content.get("action")
        if action in ("watch_workspace", "unwatch_workspace"):
            try:
                raw: Any = content.get("workspace_id")  # None: the TypeError below
                workspace_id = int(raw)
            except (TypeError, ValueError):
                await self._error("workspace_id must be an integer")
                return
            if action == "unwatch_workspace":
                await self._leave(workspace_group(workspace_id))
                await self.send_json(
                    {"kind": "unwatched", "payload": {"workspace_id": workspace_id}}
                )
                return
            if len(self.groups_joined) > MAX_WATCHED:
                await self._error(f"at most {MAX_WATCHED} workspaces at once")
                return
            if not await _workspace_exists(workspace_id):
                await self._error(f"no workspace {workspace_id}")
                return
            await self._join(workspace_group(workspace_id))
            await self.send_json({"kind": "watching", "payload": {"workspace_id": workspace_id}})
        elif action == "ping":
            await self.send_json({"kind": "pong", "payload": {}})
        else:
            await self._error(f"unknown action {action!r}")

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:  # not JSON
            await self._error("messages must be JSON")

    async def disconnect(self, code: int) -> None:
        for group in list(getattr(self, "groups_joined", [])):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def live_message(self, message: dict[str, Any]) -> None:
        await self.send_json({"kind": message["kind"], "payload": message["payload"]})
