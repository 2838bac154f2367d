"""Celery tasks of the apply stage: apply, watch the health after it, prune backups, recover
applies a dead worker left half done. Thin: they call the apply actions."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task
from django.db import transaction

from .. import tunables
from ..actions import ConcurrentTransition
from ..models import Modification, ModificationStatus
from ..queueing import send_later
from . import signals  # noqa: F401 - connects recovery to worker_ready

S = ModificationStatus

__all__ = [
    "apply_modification",
    "prune_backups",
    "recover_applies",
    "verify_application",
    "watch_application",
]


@shared_task(name="healing.apply_modification", bind=True, max_retries=120)
def apply_modification(self: Any, modification_id: int) -> str | None:
    """approved → applying → applied | failed, then the tests again and the health watch."""
    from .actions import do_apply
    from .lock import WorkspaceBusy

    mod = Modification.objects.select_related("workspace").filter(pk=modification_id).first()
    if mod is None or mod.status != S.APPROVED:
        return None
    try:
        do_apply(mod)
    except WorkspaceBusy as exc:
        raise self.retry(exc=exc, countdown=5) from exc
    except ConcurrentTransition:
        return None  # a duplicate send (the sweeper) lost the race: the other one applies it
    if mod.status != S.APPLIED:
        return mod.status  # a pull request waits for its merge: verify_application follows it
    return _verify(mod)


@shared_task(name="healing.verify_application")
def verify_application(modification_id: int, merged_commit: str) -> str | None:
    """A pull request the forge merged: the tests on what the base branch got, then the health
    watch, as after a direct apply (a revert request if either turns bad)."""
    from .verify import merged_commit as fetched

    mod = Modification.objects.select_related("workspace").filter(pk=modification_id).first()
    if mod is None or mod.status != S.APPLIED:
        return None
    return _verify(mod, fetched(mod, merged_commit))


def _verify(mod: Modification, commit: str = "") -> str:
    from .verify import (
        VerifyInterrupted,
        auto_rollback,
        finish_watch,
        health_unwatched,
        record_unwatched,
        verify_tests,
    )

    try:
        problem = verify_tests(mod, commit)
    except VerifyInterrupted:
        return mod.status  # no health watch either: the engine is stopped, a person decides
    if problem:
        return auto_rollback(mod, problem).status
    unwatched = health_unwatched(mod)
    if unwatched:
        record_unwatched(mod, unwatched)
        finish_watch(mod)
        return mod.status
    window = tunables.get("apply.health_window_s", mod.workspace)
    transaction.on_commit(lambda: send_later(watch_application, mod.pk, time.time() + window))
    return mod.status


@shared_task(name="healing.watch_application")
def watch_application(modification_id: int, until: float) -> str | None:
    """Health after an apply, polled until `until`; CRITICAL or an error spike rolls back."""
    from .verify import auto_rollback, finish_watch, health_problem

    mod = Modification.objects.select_related("workspace").filter(pk=modification_id).first()
    if mod is None or mod.status != S.APPLIED:
        return None
    problem = health_problem()
    if problem:
        return auto_rollback(mod, problem).status
    if time.time() < until:
        watch_application.apply_async(
            (modification_id, until), countdown=min(5.0, max(0.5, until - time.time()))
        )
        return "watching"
    finish_watch(mod)
    return "healthy"


@shared_task(name="healing.prune_backups")
def prune_backups() -> int:
    from .backups import prune_backups as _prune

    return _prune()


@shared_task(name="healing.recover_applies")
def recover_applies() -> list:
    from .recovery import recover_in_flight

    return recover_in_flight()
