"""The live console socket: authenticated users join the engine group and, on request, the
groups of the workspaces they watch; every committed event arrives as JSON."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from healing.broadcast import ENGINE_GROUP, workspace_group
from healing.roles import Role, roles_of


class LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        roles = await self._roles(user)
        # Agents talk to the REST API about their own patches; the live stream is for people.
        if not roles & {Role.REVIEWER, Role.OPERATOR, Role.ADMIN}:
            await self.close(code=4403)
            return
        self.groups_joined = []
        await self._join(ENGINE_GROUP)
        await self.accept()
        await self.send_json({"kind": "hello", "payload": {"user": user.get_username()}})

    async def _roles(self, user: Any) -> set[Role]:
        from channels.db import database_sync_to_async

        return await database_sync_to_async(roles_of)(user)

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("action") == "watch_workspace":
            try:
                workspace_id = int(content.get("workspace_id"))
            except (TypeError, ValueError):
                await self.send_json({"kind": "error", "payload": {"detail": "workspace_id must be an integer"}})
                return
            await self._join(workspace_group(workspace_id))
            await self.send_json({"kind": "watching", "payload": {"workspace_id": workspace_id}})
        elif content.get("action") == "ping":
            await self.send_json({"kind": "pong", "payload": {}})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def live_message(self, message: dict[str, Any]) -> None:
        await self.send_json({"kind": message["kind"], "payload": message["payload"]})
