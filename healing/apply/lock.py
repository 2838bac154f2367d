"""One apply, rollback or restore per workspace at a time: a row per held lock."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psutil
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import tunables
from ..models import WorkspaceLock


class WorkspaceBusy(Exception):
    pass


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str) -> bool:
    """True when the holder was a process of this host that no longer runs."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return int(pid) != os.getpid() and not psutil.pid_exists(int(pid))


def acquire(workspace: Any, holder: str) -> bool:
    now = timezone.now()
    expires = now + timedelta(seconds=tunables.get("apply.lock_ttl_s", workspace))
    try:
        with transaction.atomic():
            WorkspaceLock.objects.create(
                workspace=workspace, holder=holder, acquired_at=now, expires_at=expires
            )
        return True
    except IntegrityError:
        pass
    current = (
        WorkspaceLock.objects.filter(workspace=workspace).values_list("holder", flat=True).first()
    )
    stale = WorkspaceLock.objects.filter(workspace=workspace, expires_at__lt=now)
    if current is not None and holder_is_dead(current):
        stale = WorkspaceLock.objects.filter(workspace=workspace, holder=current)
    return stale.update(holder=holder, acquired_at=now, expires_at=expires) == 1


def release(workspace: Any, holder: str) -> None:
    WorkspaceLock.objects.filter(workspace=workspace, holder=holder).delete()


@contextmanager
def workspace_lock(workspace: Any, holder: str | None = None) -> Iterator[str]:
    holder = holder or new_holder()
    if not acquire(workspace, holder):
        raise WorkspaceBusy(f"workspace {workspace.name} is being changed by another worker")
    try:
        yield holder
    finally:
        release(workspace, holder)


def held_by_live_worker(workspace_id: int) -> bool:
    """The workspace's lock is held, not expired, by a worker that is still alive."""
    lock = WorkspaceLock.objects.filter(workspace_id=workspace_id).first()
    return (
        lock is not None and lock.expires_at >= timezone.now() and not holder_is_dead(lock.holder)
    )
