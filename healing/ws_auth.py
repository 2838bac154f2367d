"""Websocket authentication: the browser's session cookie, or an API key for machines in the
`Authorization: Token <key>` header of the handshake. Never a key in the URL: URLs end up in
proxy and server logs and browser history, so `?token=` is refused, not read."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from .tokens import TokenRefused, key_from_header, resolve

URL_KEY_REFUSAL = "API tokens are not accepted in the URL; send 'Authorization: Token <key>'."


@database_sync_to_async
def _resolve(key: str) -> tuple[Any, Any]:
    return resolve(key)


class TokenAuthMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            # Not even the session stands: the caller must learn that the key leaked.
            scope = dict(scope, user=AnonymousUser(), auth_refusal=URL_KEY_REFUSAL)
            return await self.inner(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name != b"authorization":
                continue
            try:
                key = key_from_header(value)
                if key is not None:
                    user, token = await _resolve(key)
                    scope = dict(scope, user=user, auth_token=token)
            except TokenRefused as exc:
                scope = dict(scope, user=AnonymousUser(), auth_refusal=str(exc))
        return await self.inner(scope, receive, send)


def TokenOrSessionAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - mirrors Channels' naming
    # Session auth runs first and sets scope["user"]; a token, when given, decides instead.
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
