"""Celery time limits of the patch tasks, and what a task does when its soft limit strikes.

The limits are sized in settings (SELFHEAL_TASK_TIME_LIMITS) from the sandbox limits and given
to Celery as task annotations (CELERY_TASK_ANNOTATIONS): the soft limit raises SoftTimeLimitExceeded in the task, which
rejects the patch with the stage and the time; the hard limit (soft + 30 s) kills the pool
process if even that does not come back. Either way the worker is free again."""

from __future__ import annotations

import logging

from django.conf import settings

from .models import Modification

log = logging.getLogger(__name__)


def soft_limit(task_name: str) -> int:
    """The soft limit the running task was given (its message carries the sender's), else the
    configured one."""
    from celery import current_task

    given = getattr(getattr(current_task, "request", None), "timelimit", None) or (None, None)
    return int(given[1] or settings.SELFHEAL_TASK_TIME_LIMITS[task_name])


def timed_out(modification_id: int, stage: str, task_name: str) -> str | None:
    """Reject the patch: "timed out after N s in <stage>". Returns its status (None: gone)."""
    from .actions.cancel import do_time_out

    seconds = soft_limit(task_name)
    log.warning("modification %s timed out after %s s in %s", modification_id, seconds, stage)
    mod = Modification.objects.filter(pk=modification_id).first()
    if mod is None:
        return None
    do_time_out(mod, stage, seconds)
    mod.refresh_from_db(fields=["status"])
    return mod.status
