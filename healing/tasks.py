"""Celery discovers `healing.tasks`; each stage keeps its tasks in its own module."""

from __future__ import annotations

from celery import shared_task

from .apply.tasks import *  # noqa: F403
from .breakers.tasks import *  # noqa: F403
from .broadcast import send_now
from .intake.tasks import *  # noqa: F403
from .remote.tasks import *  # noqa: F403
from .sandbox.environment_tasks import *  # noqa: F403
from .sandbox.tasks import *  # noqa: F403
from .scoring.tasks import *  # noqa: F403


@shared_task(name="healing.ping_broadcast")
def ping_broadcast(group: str, payload: dict) -> bool:
    """Proves the wiring end to end: a worker emits an event that reaches websocket clients."""
    return send_now(group, "ping", payload)


@shared_task(name="healing.requeue_stalled")
def requeue_stalled() -> dict[str, list]:
    """Send again the work of modifications (and what other apps registered to sweep) stalled
    past `queue.requeue_after_seconds`."""
    from .actions.queue import do_requeue_stalled
    from .contrib import STALLED_SWEEPS

    swept: dict[str, list] = {"modifications": do_requeue_stalled()}
    for name, sweep in STALLED_SWEEPS.items():
        swept[name] = sweep()
    return swept
