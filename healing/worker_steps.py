"""A Celery consumer step: sweep stalled work each time the worker (re)connects to the broker.

Consumer steps are started again after every broker reconnect, so when Redis comes back the
patches accepted while it was down are sent at once instead of at the next beat tick. It also
runs at worker start, after a crash or a deploy."""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

log = logging.getLogger(__name__)


class RequeueStalledOnConnect(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c: Any) -> None:
        try:
            # Sent, not run here: the sweep reads the database, and the consumer must not block.
            c.app.send_task("healing.requeue_stalled", retry=False, ignore_result=True)
        except Exception:  # noqa: BLE001 - the beat entry sweeps again within a minute
            log.warning("could not queue the stalled-work sweep at connect", exc_info=True)
