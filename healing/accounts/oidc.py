"""Sign-in with the company's OpenID Connect provider (mozilla-django-oidc, configured from
settings.SELFHEAL_OIDC, i.e. the SELFHEAL_OIDC_* environment).

The library does the authorization-code flow with state, nonce and PKCE (S256). Here: the
endpoints from the issuer's discovery document (fetched on first use, not at start-up, so a
provider that is down never stops local sign-in), the ID token checked for signature (RS256
with a key from the provider's JWKS), issuer, audience and expiry, and the provider's groups
mapped to Selfheal's roles on every sign-in (healing.actions.accounts)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from ..actions.accounts import ExternalSignIn, do_external_sign_in
from ..roles import Role

log = logging.getLogger(__name__)

SIGN_ALGO = "RS256"
# The sign-in the backend saw, for the callback view's "no role" page.
SIGN_IN_ATTR = "selfheal_oidc_sign_in"

_discovered: dict[str, dict[str, Any]] = {}
_discovery_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read."""


def config() -> dict[str, Any] | None:
    return settings.SELFHEAL_OIDC


def endpoints(cfg: dict[str, Any]) -> dict[str, str]:
    """Explicit endpoints, the missing ones from the issuer's discovery document."""
    given = cfg["endpoints"]
    if all(given.values()):
        return given
    issuer = cfg["issuer"]
    with _discovery_lock:
        doc = _discovered.get(issuer)
        if doc is None:
            url = f"{issuer}/.well-known/openid-configuration"
            try:
                response = requests.get(url, timeout=cfg["timeout"])
                response.raise_for_status()
                doc = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise ProviderUnavailable(f"{url}: {exc}") from exc
            if doc.get("issuer", "").rstrip("/") != issuer:
                raise ImproperlyConfigured(
                    f"{url} names issuer {doc.get('issuer')!r}, not {issuer!r}"
                )
            _discovered[issuer] = doc
    found = {
        "authorization": doc.get("authorization_endpoint", ""),
        "token": doc.get("token_endpoint", ""),
        "userinfo": doc.get("userinfo_endpoint", ""),
        "jwks": doc.get("jwks_uri", ""),
    }
    return {name: given[name] or found[name] for name in given}


def oidc_setting(attr: str, *default: Any) -> Any:
    """The library's settings, answered from SELFHEAL_OIDC; the security ones are fixed."""
    cfg = config()
    if cfg is None:
        raise ImproperlyConfigured("OpenID Connect sign-in is not configured")
    fixed: dict[str, Any] = {
        "OIDC_RP_CLIENT_ID": cfg["client_id"],
        "OIDC_RP_CLIENT_SECRET": cfg["client_secret"],
        "OIDC_RP_SIGN_ALGO": SIGN_ALGO,
        "OIDC_RP_IDP_SIGN_KEY": None,  # always the provider's JWKS
        "OIDC_RP_SCOPES": cfg["scopes"],
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_TIMEOUT": cfg["timeout"],
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "OIDC_CREATE_USER": True,
        "LOGIN_REDIRECT_URL_FAILURE": settings.LOGIN_URL,
    }
    if attr in fixed:
        return fixed[attr]
    names = {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization",
        "OIDC_OP_TOKEN_ENDPOINT": "token",
        "OIDC_OP_USER_ENDPOINT": "userinfo",
        "OIDC_OP_JWKS_ENDPOINT": "jwks",
    }
    if attr in names:
        return endpoints(cfg)[names[attr]]
    return import_from_settings(attr, *default)


def mapped_roles(groups: list[str], role_map: dict[str, str]) -> frozenset[Role]:
    return frozenset(Role(role_map[g]) for g in groups if g in role_map)


def claim_groups(value: Any) -> list[str]:
    """The roles claim as a list of names: providers send a list, a string, or nothing."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


class SelfhealOIDCBackend(OIDCAuthenticationBackend):
    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds every backend for every authenticate() and session load; the
        # provider's endpoints are only resolved for an actual OIDC callback.
        self.UserModel = get_user_model()

    # Django's: an inactive user's session ends (the library's would keep it).
    get_user = ModelBackend.get_user

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> AbstractBaseUser | None:
        if request is None or config() is None:
            return None
        if not (request.GET.get("code") and request.GET.get("state")) or "nonce" not in kwargs:
            return None  # a password sign-in, or not the callback
        super().__init__()
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload: Any, key: Any) -> dict[str, Any]:
        cfg = config()
        assert cfg is not None
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != SIGN_ALGO:
            raise SuspiciousOperation(
                f"ID token signed with {header.get('alg')!r}, not {SIGN_ALGO}"
            )
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[SIGN_ALGO],
                audience=cfg["client_id"],
                issuer=cfg["issuer"],
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> AbstractBaseUser | None:
        cfg = config()
        assert cfg is not None
        info = self.get_userinfo(access_token, id_token, payload)
        if info.get("sub") != payload.get("sub"):
            # OIDC Core 5.3.2: userinfo about someone else must not be used.
            raise SuspiciousOperation("userinfo is about another subject than the ID token")
        claims = {**payload, **info}
        groups = claim_groups(claims.get(cfg["roles_claim"]))
        sign_in = ExternalSignIn(
            issuer=cfg["issuer"],
            subject=str(payload["sub"]),
            username=str(claims.get("preferred_username") or claims.get("email") or ""),
            email=str(claims.get("email") or ""),
            groups=tuple(groups),
            roles=mapped_roles(groups, cfg["role_map"]),
        )
        setattr(self.request, SIGN_IN_ATTR, sign_in)
        user = do_external_sign_in(sign_in)
        if user is None or not sign_in.roles:
            log.info(
                "OIDC sign-in of %s refused: groups %s map to no role", sign_in.subject, groups
            )
            return None
        return user
