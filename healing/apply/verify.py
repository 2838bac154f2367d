"""After an apply: the tests again, then health for a window; one automatic rollback at most."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

from .. import breakers, tunables
from ..actions import record_event
from ..contrib import current_health
from ..models import (
    Modification,
    ModificationStatus,
    RemoteLandingState,
    SandboxRun,
    SandboxRunKind,
)
from . import gitops
from .actions import do_rollback

if TYPE_CHECKING:
    from ..models import Workspace
    from ..sandbox import SandboxResult

log = logging.getLogger(__name__)
S = ModificationStatus


class VerifyInterrupted(Exception):
    """The post-apply tests were killed by an emergency stop: no verdict either way."""


def verify_tests(mod: Modification, commit: str = "") -> str | None:
    """Run the tests on the applied tree (`commit`, for a merged pull request the commit its base
    branch got); the reason to roll back, or None. Raises VerifyInterrupted when an emergency
    stop killed the run."""
    from ..sandbox import IsolationUnavailable, store_run

    if not tunables.get("apply.verify_tests", mod.workspace):
        return None
    # A remote workspace is checked on the commit that was pushed: in branch mode the base branch
    # never gets it, and in push mode someone may have pushed on top since.
    commit = commit or (mod.applied_commit if mod.workspace.is_remote else "")
    try:
        result = _tests_in_environment(mod.workspace, commit or None)
    except IsolationUnavailable as exc:
        return f"cannot verify: {exc}"
    store_run(mod.workspace, result, kind=SandboxRunKind.VERIFY, modification=mod)
    if result.limit_hit == "emergency_stop":
        # The stop killed the run: that says nothing about the patch, so no rollback and no
        # failed outcome. The patch stays applied, its verification unfinished, for a person.
        record_event(
            "modification.verify_interrupted",
            "system",
            workspace_id=mod.workspace_id,
            modification_id=mod.pk,
            reason="the emergency stop cut the post-apply tests off; the patch stays applied, "
            "unverified",
        )
        raise VerifyInterrupted(mod.pk)
    if result.cut_short:
        return f"post-apply tests hit the {result.limit_hit} limit"
    findings = result.detail.get("findings") or []
    if findings:
        return f"post-apply tests cannot be trusted: {'; '.join(findings)[:500]}"
    sandboxed = (
        SandboxRun.objects.for_modification(mod.pk).filter(kind=SandboxRunKind.PATCHED).first()
    )
    expected = set(sandboxed.failing) if sandboxed is not None else set()
    new = sorted(set(result.failing) - expected)
    if sandboxed is not None:
        # A test the sandbox saw that the applied tree no longer reports is a failure too.
        reported = {t.nodeid for t in result.tests}
        new += sorted(t["nodeid"] for t in sandboxed.tests or [] if t["nodeid"] not in reported)
    if new:
        return f"post-apply tests fail: {', '.join(new[:5])}"
    if not result.tests:
        code = result.detail.get("exit_code")
        return f"post-apply test command exited {code} and reported no test"
    if result.detail.get("exit_code") != 0 and not result.failing:
        return f"post-apply test command exited {result.detail.get('exit_code')}"
    return None


def merged_commit(mod: Modification, commit: str) -> str:
    """The commit a merged pull request put on the base branch, fetched into this worker's
    mirror; the request's own head when the forge named one this remote does not have."""
    from ..remote import mirror

    mirror.refresh_if_remote(mod.workspace)
    try:
        return gitops.rev(mirror.mirror_path(mod.workspace), f"{commit}^{{commit}}")
    except gitops.GitError:
        record_event(
            "modification.verify_commit_missing",
            "system",
            workspace_id=mod.workspace_id,
            modification_id=mod.pk,
            reason=f"the merged commit {commit[:12]} is not on the remote; verifying the "
            f"request's head {mod.applied_commit[:10]} instead",
        )
        return mod.applied_commit


def health_unwatched(mod: Modification) -> str | None:
    """Why production's health says nothing about this patch, or None (watch it). A branch-mode
    patch is only a branch: a health problem in production is someone else's, and rolling the
    branch back (deleting it) for it would take away a fix nobody ran."""
    from ..remote.modes import MODES

    if not mod.workspace.is_remote:
        return None
    landing = (
        mod.remote_landings.filter(operation="apply").exclude(
            state__in=[RemoteLandingState.FAILED, RemoteLandingState.REJECTED]
        )
    ).first()
    mode = MODES[landing.mode if landing is not None else mod.workspace.landing]
    if mode.reaches_base:
        return None
    return f"{mode.name} mode pushed only a branch; production does not run the change"


def record_unwatched(mod: Modification, why: str) -> None:
    record_event(
        "modification.health_not_watched",
        "system",
        workspace_id=mod.workspace_id,
        modification_id=mod.pk,
        reason=f"health not watched after the apply: {why}",
    )


def _tests_in_environment(workspace: Workspace, commit: str | None) -> SandboxResult:
    """The applied tree's environment may be missing: pruned, or never built (a patch changing
    a setup input ran in its patched tree's, which no commit shares). It is built now and the
    tests wait for it: a verification neither passes nor rolls back for want of one."""
    from ..sandbox import run_tests
    from ..sandbox.environments import EnvironmentNotReady, build_now

    try:
        return run_tests(workspace, commit=commit)
    except EnvironmentNotReady as exc:
        if not build_now(exc.holds, workspace):
            raise  # a failed build: cannot verify
    return run_tests(workspace, commit=commit)


def health_problem() -> str | None:
    """CRITICAL health or an error spike, from the registered health source."""
    try:
        health = current_health()
    except ImproperlyConfigured:
        raise  # no health source: a configuration error, not a quiet watch
    except Exception as exc:  # noqa: BLE001 - a health check that raises is itself a bad sign
        return f"health check raised {type(exc).__name__}: {exc}"
    if health.status.lower() == "critical":
        return "health is CRITICAL"
    for name, metric in health.metrics.items():
        if "error" not in name:
            continue
        value, threshold = metric.value, metric.threshold
        if not metric.ok or (value is not None and value > threshold):
            return f"error spike: {name} {value} > {threshold}"
    return None


def auto_rollback(mod: Modification, reason: str) -> Modification:
    breakers.record_outcome(mod, success=False, stage="verify")
    try:
        return do_rollback(mod, "system", f"automatic rollback: {reason}", automatic=True)
    except Exception:
        log.exception("automatic rollback of %s failed", mod.patch_id)
        breakers.record_outcome(mod, success=False, stage="rollback")
        raise


def finish_watch(mod: Modification) -> None:
    breakers.record_outcome(mod, success=True, stage="verify")
