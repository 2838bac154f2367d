"""Signing in with an API key: `Authorization: Token <key>`, for the API and websockets."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from .actions.tokens import do_mark_used
from .models import ApiToken, hash_key

KEYWORD = "Token"


class TokenRefused(Exception):
    """The key is unknown, expired or revoked; the message says which."""


def resolve(key: str) -> tuple[Any, ApiToken]:
    """(user, token) for a live key, or TokenRefused with a message fit for the caller."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    if token is None:
        raise TokenRefused("Invalid token.")
    refusal = token.refusal()
    if refusal:
        raise TokenRefused(refusal)
    do_mark_used(token)
    return token.user, token


def key_from_header(value: bytes) -> str | None:
    """The key in an `Authorization` header value; None when it is another scheme."""
    parts = value.split()
    if not parts or parts[0].lower() != KEYWORD.lower().encode():
        return None
    if len(parts) != 2:
        raise TokenRefused("Invalid token header: expected 'Token <key>'.")
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise TokenRefused("Invalid token header: the key has non-ASCII characters.") from exc


class ApiTokenAuthentication(BaseAuthentication):
    """DRF authentication: 401 with the reason for an unknown, expired or revoked key."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        try:
            key = key_from_header(get_authorization_header(request))
            return None if key is None else resolve(key)
        except TokenRefused as exc:
            raise AuthenticationFailed(str(exc)) from exc

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI schema's name for our key: engines' clients read it from /api/v1/schema/."""

    target_class = "healing.tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API key, sent as "Token <key>".',
        }
