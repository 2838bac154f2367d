"""Celery task of the sandbox stage. Thin: it claims the modification and calls the stage."""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from .. import tunables
from ..actions import ConcurrentTransition
from ..claims import claim, release
from ..models import Modification, ModificationStatus
from ..queueing import DATABASE_DOWN, RETRY_WHILE_DATABASE_DOWN
from ..timelimits import timed_out

S = ModificationStatus

__all__ = ["sandbox_modification"]


@shared_task(
    name="healing.sandbox_modification",
    autoretry_for=DATABASE_DOWN,
    **RETRY_WHILE_DATABASE_DOWN,
)
def sandbox_modification(modification_id: int) -> str | None:
    """sandboxing → rejected | awaiting_approval | approved (and then apply) | blocked."""
    from .stage import run_sandbox_stage

    mod = Modification.objects.select_related("workspace").filter(pk=modification_id).first()
    if mod is None or mod.status != S.SANDBOXING:
        return None
    wall = int(tunables.get("sandbox.wall_time_s", mod.workspace))
    if not claim("sandbox", mod.pk, wall * 3 + 120):
        return None
    from .stop import watching

    try:
        with watching(mod.pk):  # a cancel of this patch kills its runs
            return run_sandbox_stage(mod).status
    except ConcurrentTransition:
        return None  # cancelled (or otherwise moved) while the sandbox ran: nothing to record
    except SoftTimeLimitExceeded:
        return timed_out(mod.pk, "sandbox", "healing.sandbox_modification")
    finally:
        release("sandbox", mod.pk)
