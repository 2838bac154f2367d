"""Actions on workspace environments: request, claim, record, touch, prune.

The build itself (sandbox/environments.py) runs outside any transaction; these record it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import tunables
from ..models import EnvironmentBuild, EnvironmentStatus, Modification, ModificationStatus
from ..queueing import lift_later, send_later
from .audit import record_event
from .unblock import HoldKind, do_block, register_kind

E = EnvironmentStatus
S = ModificationStatus


@transaction.atomic
def do_request_environment(
    workspace: Any,
    *,
    key: str,
    commit: str,
    diff: str,
    inputs: dict[str, str],
    interpreter: str,
    retry_failed: bool = False,
) -> EnvironmentBuild:
    """A build record for `key` (once: the key is unique) and the build task, on commit. An
    environment whose directory is gone (pruned, or another machine's var dir) is built again;
    a failed one only when a person asks (`retry_failed`: the index was down, say)."""
    from ..sandbox.environments import root

    build, created = EnvironmentBuild.objects.get_or_create(
        key=key,
        defaults={
            "workspace": workspace,
            "commit": commit,
            "diff": diff,
            "setup_command": workspace.setup_command,
            "interpreter": interpreter,
            "inputs": inputs,
            "path": str(root() / key),
        },
    )
    if not created:
        again = [E.READY, E.FAILED] if retry_failed else [E.READY]
        rebuilt = EnvironmentBuild.objects.filter(pk=build.pk, status__in=again).update(
            status=E.PENDING, commit=commit, diff=diff, created_at=timezone.now()
        )
        if not rebuilt:
            return build
        build.refresh_from_db()
        # Patches blocked on its failure run again (and wait for this build).
        lift_later(f"environment_failed:{key}")
    record_event(
        "environment.request",
        "system",
        workspace_id=workspace.pk,
        data={"key": key, "commit": commit, "dependency_change": bool(diff)},
    )
    transaction.on_commit(lambda: send_later("healing.build_environment", build.pk))
    return build


def do_rebuild_environment(user: Any, workspace: Any) -> EnvironmentBuild | None:
    """The environment of the workspace's HEAD, built if it is missing or failed (a person asks
    after fixing what made it fail). None for a workspace without a setup command."""
    from ..sandbox.environments import interpreter_of, needed

    if not workspace.setup_command:
        return None
    commit = workspace.head_commit()
    key, digests, _diff = needed(workspace, commit, None)
    with transaction.atomic():
        build = do_request_environment(
            workspace, key=key, commit=commit, diff="", inputs=digests,
            interpreter=interpreter_of(workspace), retry_failed=True,
        )  # fmt: skip
        record_event("environment.rebuild", user, workspace_id=workspace.pk, data={"key": key})
    return build


def do_claim_build(build_id: int) -> EnvironmentBuild | None:
    """pending → building for one worker only; a build stalled past twice its wall time (its
    worker died) may be claimed again."""
    build = EnvironmentBuild.objects.select_related("workspace").filter(pk=build_id).first()
    if build is None:
        return None
    wall = float(tunables.get("environment.wall_time_s", build.workspace))
    stale = timezone.now() - timedelta(seconds=wall * 2 + 60)
    claimed = (
        EnvironmentBuild.objects.filter(pk=build_id)
        .filter(Q(status=E.PENDING) | Q(status=E.BUILDING, started_at__lt=stale))
        .update(status=E.BUILDING, started_at=timezone.now())
    )
    if claimed != 1:
        return None
    build.refresh_from_db()
    return build


@transaction.atomic
def do_record_build(build: EnvironmentBuild, fields: dict[str, Any]) -> EnvironmentBuild:
    """building → ready | failed, then every patch of the workspace waiting on an environment
    goes back to the sandbox: it runs, or blocks again on a build that failed (its log tail)."""
    now = timezone.now()
    updated = EnvironmentBuild.objects.filter(pk=build.pk, status=E.BUILDING).update(
        finished_at=now, last_used_at=now, **fields
    )
    if updated != 1:
        return build
    build.refresh_from_db()
    record_event(
        "environment.build",
        "system",
        workspace_id=build.workspace_id,
        reason=build.log_tail[-500:] if build.status == E.FAILED else "",
        data={"key": build.key, "status": build.status, "duration_ms": build.duration_ms},
    )
    # The patches waiting on it run again: in it, or into a block on its failure (its log tail).
    lift_later(f"environment_building:{build.key}")
    return build


@transaction.atomic
def do_wait_for_environment(mod: Modification, exc: Any) -> Modification:
    """sandboxing → blocked, held until the environment's build finishes (or, after a failure,
    until a person asks for it again); the sweep lifts it too if the build finished meanwhile."""
    return do_block(
        mod, None, str(exc), [(label, None) for label in exc.holds], expected_from=S.SANDBOXING
    )


@register_kind
class EnvironmentBuilding(HoldKind):
    name = "environment_building"

    def holds(self, key: str, now: datetime) -> bool:
        return EnvironmentBuild.objects.filter(key=key, status__in=[E.PENDING, E.BUILDING]).exists()


@register_kind
class EnvironmentFailed(HoldKind):
    name = "environment_failed"

    def holds(self, key: str, now: datetime) -> bool:
        return EnvironmentBuild.objects.filter(key=key, status=E.FAILED).exists()


def do_touch_environment(build: EnvironmentBuild) -> None:
    """Last used now (pruning keeps the recently used). Not audited: it is bookkeeping, and
    written at most once a minute: a write per run would cost every run a commit."""
    now = timezone.now()
    if build.last_used_at is None or now - build.last_used_at > timedelta(minutes=1):
        EnvironmentBuild.objects.filter(pk=build.pk).update(last_used_at=now)


@transaction.atomic
def do_prune_environments() -> list[str]:
    """Remove environments unused for `environment.max_age_days`, and beyond `environment.keep`
    the least recently used, from disk and from the table."""
    from ..sandbox.environments import remove

    keep = int(tunables.get("environment.keep"))
    cutoff = timezone.now() - timedelta(days=int(tunables.get("environment.max_age_days")))
    done = EnvironmentBuild.objects.filter(status__in=[E.READY, E.FAILED]).order_by("-last_used_at")
    ready = [b for b in done if b.status == E.READY]
    stale = [b for i, b in enumerate(ready) if i >= keep or b.last_used_at < cutoff]
    stale += [b for b in done if b.status == E.FAILED and b.last_used_at < cutoff]
    for build in stale:
        remove(Path(build.path))
    EnvironmentBuild.objects.filter(pk__in=[b.pk for b in stale]).delete()
    if stale:
        record_event("environment.prune", "system", data={"keys": [b.key for b in stale]})
    return [b.key for b in stale]
