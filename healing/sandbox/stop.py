"""Emergency stop reaches sandboxes running in other processes through one Redis key.

The stop hook writes the time of the stop; every runner polls the key a few times a second and
kills its tree if the stop came after the run began."""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

log = logging.getLogger(__name__)
STOP_KEY = "selfheal:sandbox:emergency_stop"


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


def signal_stop(state: Any = None) -> None:
    """The emergency-stop hook: tell every running sandbox to kill its tree."""
    _client().set(STOP_KEY, repr(time.time()), ex=24 * 3600)


def stopped_since(started: float) -> bool:
    try:
        value = _client().get(STOP_KEY)
    except redis.RedisError:
        # No broker, no news: the engine state is checked before every run as well.
        log.warning("cannot read the emergency-stop key", exc_info=True)
        return False
    return value is not None and float(value) >= started
