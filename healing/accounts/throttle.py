"""Failed local sign-ins are counted per username and per client address in the shared cache
(Redis); past the limit, sign-in is refused without checking the password until the window
that began with the first failure has passed."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)

# Redis down: sign-in stays open (unthrottled, logged) so that people can still reach the
# console, whose banner then says what is down.
CACHE_DOWN = (redis.RedisError, OSError)

# Set on the request by the backend when it refused an attempt, for the login view's message.
RETRY_AFTER_ATTR = "selfheal_login_retry_after"


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind the proxy that SECURE_PROXY_SSL_HEADER trusts, the address it appended comes last;
    # earlier entries are whatever the client sent.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.SECURE_PROXY_SSL_HEADER and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class LoginThrottle:
    def __init__(self) -> None:
        limits = settings.LOGIN_THROTTLE
        self.window_s = int(limits["window_s"])
        self.limits = {"user": int(limits["per_username"]), "ip": int(limits["per_ip"])}

    def _keys(self, username: str, ip: str | None) -> list[tuple[str, int]]:
        keys = [("user", username.strip().lower())]
        if ip:
            keys.append(("ip", ip))
        return [
            (
                f"login-failures:{kind}:{hashlib.sha256(value.encode()).hexdigest()}",
                self.limits[kind],
            )
            for kind, value in keys
        ]

    def retry_after(self, username: str, ip: str | None) -> int:
        """Seconds until `username` may try again from `ip`; 0 when it may now."""
        now = time.time()
        wait = 0.0
        for key, limit in self._keys(username, ip):
            values = cache.get_many([key, f"{key}:start"])
            if values.get(key, 0) >= limit:
                wait = max(wait, values.get(f"{key}:start", now) + self.window_s - now)
        return max(int(wait) + 1, 1) if wait > 0 else 0

    def failed(self, username: str, ip: str | None) -> None:
        for key, _ in self._keys(username, ip):
            cache.add(f"{key}:start", time.time(), self.window_s)
            if not cache.add(key, 1, self.window_s):
                try:
                    cache.incr(key)  # atomic in Redis
                except ValueError:  # expired between add() and incr(): a new window
                    cache.add(key, 1, self.window_s)

    def succeeded(self, username: str) -> None:
        # Only the username's count: one good account must not clear an address's failures
        # against others.
        for key, _ in self._keys(username, None):
            cache.delete_many([key, f"{key}:start"])


class ThrottledModelBackend(ModelBackend):
    """Django's password backend, refusing (without checking the password) while throttled.

    Every password sign-in goes through here: the console's login page, the admin's, any
    authenticate() call."""

    def authenticate(  # type: ignore[override]  # ModelBackend's own signature
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        throttle = LoginThrottle()
        ip = client_ip(request)
        try:
            wait, counting = throttle.retry_after(username, ip), True
        except CACHE_DOWN as exc:
            log.warning("login throttle unavailable, sign-in not throttled: %s", exc)
            wait, counting = 0, False
        if wait:
            if request is not None:
                setattr(request, RETRY_AFTER_ATTR, wait)
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if counting:
            try:
                if user is None:
                    throttle.failed(username, ip)
                else:
                    throttle.succeeded(username)
            except CACHE_DOWN as exc:
                log.warning("login throttle unavailable, attempt not counted: %s", exc)
        return user
