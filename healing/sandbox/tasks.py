"""Celery tasks of the sandbox and apply stages (issue #4). Thin: they claim and call actions."""

from __future__ import annotations

import time
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction

from .. import tunables
from ..actions import ConcurrentTransition
from ..apply import signals  # noqa: F401 - connects recovery to worker_ready
from ..models import Modification, ModificationStatus
from ..queueing import DATABASE_DOWN, RETRY_WHILE_DATABASE_DOWN, send_later
from ..timelimits import timed_out

S = ModificationStatus


def _claim(name: str, modification_id: int, seconds: int) -> bool:
    """One worker per modification and stage, even if the broker delivers twice."""
    from .stop import _client

    return bool(_client().set(f"selfheal:claim:{name}:{modification_id}", "1", nx=True, ex=seconds))


def is_claimed(name: str, modification_id: int) -> bool:
    """A live worker holds this modification's stage (the claim expires if the worker died)."""
    from .stop import _client

    return bool(_client().exists(f"selfheal:claim:{name}:{modification_id}"))


def _release(name: str, modification_id: int) -> None:
    from .stop import _client

    _client().delete(f"selfheal:claim:{name}:{modification_id}")


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
    if not _claim("sandbox", mod.pk, wall * 3 + 120):
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
        _release("sandbox", mod.pk)


@shared_task(name="healing.apply_modification", bind=True, max_retries=120)
def apply_modification(self: Any, modification_id: int) -> str | None:
    """approved → applying → applied | failed, then the tests again and the health watch."""
    from ..apply.actions import do_apply
    from ..apply.lock import WorkspaceBusy
    from ..apply.verify import VerifyInterrupted, auto_rollback, verify_tests

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
        return mod.status
    try:
        problem = verify_tests(mod)
    except VerifyInterrupted:
        return mod.status  # no health watch either: the engine is stopped, a person decides
    if problem:
        return auto_rollback(mod, problem).status
    window = tunables.get("apply.health_window_s", mod.workspace)
    transaction.on_commit(lambda: send_later(watch_application, mod.pk, time.time() + window))
    return mod.status


@shared_task(name="healing.watch_application")
def watch_application(modification_id: int, until: float) -> str | None:
    """Health after an apply, polled until `until`; CRITICAL or an error spike rolls back."""
    from ..apply.verify import auto_rollback, finish_watch, health_problem

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
    from ..apply.backups import prune_backups as _prune

    return _prune()


@shared_task(name="healing.recover_applies")
def recover_applies() -> list:
    from ..apply.recovery import recover_in_flight

    return recover_in_flight()
