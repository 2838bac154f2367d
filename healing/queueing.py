"""Sending Celery tasks that must never break the request or the action that queues them.

The row the task works on is committed before the send (transaction.on_commit), so a broker that
is down loses nothing: the row keeps its state and the stalled-work sweeper
(`do_requeue_stalled`) sends it again once the broker is back. Here we only try briefly and log.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import InterfaceError, OperationalError, transaction

log = logging.getLogger(__name__)

# Short on purpose: the caller is a web request or a worker in the middle of its work, and the
# sweeper is the real retry. Three tries within about half a second.
RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

# A task that meets a database that is down retries itself with backoff (a few minutes in all);
# the sweeper is the backstop after that.
DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_WHILE_DATABASE_DOWN: dict[str, Any] = {
    "retry_backoff": 2,
    "retry_backoff_max": 30,
    "retry_jitter": False,
    "max_retries": 20,
}


def send_later(task: Any, *args: Any, **options: Any) -> bool:
    """Send `task` (a task object or a registered task name) with `args`. False if it could not
    be sent; the caller's row stays as committed for the sweeper to find."""
    name = task if isinstance(task, str) else task.name
    # Nobody reads these results, and asking for one subscribes to the result backend (Redis)
    # with its own long retry policy: about 20 s of a hung request while Redis is down.
    options.setdefault("ignore_result", True)
    try:
        if isinstance(task, str):
            # A task this process has imported runs through apply_async (which honours eager
            # mode); else it goes by name.
            task = current_app.tasks.get(task) or task
        if isinstance(task, str):
            current_app.send_task(
                task, args=list(args), retry=True, retry_policy=RETRY_POLICY, **options
            )
        else:
            task.apply_async(args, retry=True, retry_policy=RETRY_POLICY, **options)
    except Exception:  # noqa: BLE001 - any broker failure; the sweeper sends it again later
        log.warning("could not queue %s%s; it will be requeued", name, args, exc_info=True)
        return False
    return True


def lift_later(label: str) -> None:
    """After this transaction commits, resume what the hold `label` held (if it no longer holds).
    Here, beside send_later, so the breakers and the actions that lift holds share it without
    importing each other."""
    transaction.on_commit(lambda: send_later("healing.lift_holds", label))
