"""Emergency stop reaches sandboxes running in other processes through one Redis key.

The stop hook writes the time of the stop; every runner polls the key a few times a second and
kills its tree if the stop came after the run began."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings

log = logging.getLogger(__name__)
STOP_KEY = "selfheal:sandbox:emergency_stop"
# One modification cancelled: only its own runs are killed (see do_cancel).
CANCEL_KEY = "selfheal:sandbox:cancel:{}"
_watched: ContextVar[int | None] = ContextVar("selfheal_sandbox_modification", default=None)


@lru_cache(maxsize=1)
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


def signal_stop(state: Any = None) -> None:
    """The emergency-stop hook: tell every running sandbox to kill its tree."""
    _client().set(STOP_KEY, repr(time.time()), ex=24 * 3600)


def signal_cancel(modification_id: int) -> None:
    """Tell the runs of one modification (in any worker) to kill their trees."""
    _client().set(CANCEL_KEY.format(modification_id), repr(time.time()), ex=24 * 3600)


@contextlib.contextmanager
def watching(modification_id: int) -> Iterator[None]:
    """Runs started inside are killed too when this modification is cancelled."""
    token = _watched.set(modification_id)
    try:
        yield
    finally:
        _watched.reset(token)


def stopped_since(started: float) -> bool:
    watched = _watched.get()
    keys = [STOP_KEY] + ([CANCEL_KEY.format(watched)] if watched is not None else [])
    try:
        values = _client().mget(keys)
    except redis.RedisError:
        # No broker, no news: the engine state is checked before every run as well.
        log.warning("cannot read the emergency-stop key", exc_info=True)
        return False
    if values[0] is not None and float(values[0]) >= started:
        return True
    # Cancelled is final: a run of a cancelled patch is killed whenever it started.
    return len(values) > 1 and values[1] is not None
