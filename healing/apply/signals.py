"""Recovery runs when a Celery worker is ready (`make run` starts one with the server)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

log = logging.getLogger(__name__)


@worker_ready.connect
def recover_at_worker_start(**kwargs: Any) -> None:
    from .recovery import recover_in_flight

    try:
        resolved = recover_in_flight()
    except Exception:
        log.exception("apply recovery at worker start failed")
        return
    if resolved:
        log.warning("recovered interrupted applies: %s", resolved)
