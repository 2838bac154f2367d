"""Claims: one worker per modification and stage, even if the broker delivers a task twice.

A claim is a Redis key with an expiry, so the claim of a worker that died lapses by itself. Kept
apart from the tasks that take them: the stalled-work sweeper (an action) asks whether a stage is
still claimed, and actions never import tasks.
"""

from __future__ import annotations

from .sandbox.stop import _client


def _key(name: str, modification_id: int) -> str:
    return f"selfheal:claim:{name}:{modification_id}"


def claim(name: str, modification_id: int, seconds: int) -> bool:
    """Take stage `name` of this modification for `seconds`; False if a live worker holds it."""
    return bool(_client().set(_key(name, modification_id), "1", nx=True, ex=seconds))


def is_claimed(name: str, modification_id: int) -> bool:
    """A live worker holds this modification's stage (the claim expires if the worker died)."""
    return bool(_client().exists(_key(name, modification_id)))


def release(name: str, modification_id: int) -> None:
    _client().delete(_key(name, modification_id))
