"""The sandbox stage of a modification: run, store, score, decide, transition."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from .. import breakers, scoring
from ..actions import transition
from ..actions.environments import do_wait_for_environment
from ..actions.unblock import do_block
from ..broadcast import send_now, workspace_group
from ..models import Modification, ModificationStatus, SandboxRunKind
from ..policy import decide_after_sandbox, sandbox_success
from ..queueing import send_later
from . import IsolationUnavailable, run_tests, store_run
from .environments import EnvironmentNotReady

log = logging.getLogger(__name__)
S = ModificationStatus


def _progress_sender(mod: Modification) -> Any:
    """Live progress for the review page: `sandbox.progress` to the workspace's group."""

    def send(progress: dict[str, Any]) -> None:
        send_now(
            workspace_group(mod.workspace_id),
            "sandbox.progress",
            {"modification_id": mod.pk, **progress},
        )

    return send


def run_sandbox_stage(mod: Modification) -> Modification:
    try:
        # On the commit validation judged, not whatever HEAD has become since.
        result = run_tests(
            mod.workspace,
            diff=mod.diff,
            progress=_progress_sender(mod),
            commit=mod.base_commit or None,
        )
    except EnvironmentNotReady as exc:
        # Waits (blocked) until the build finishes; a failed build's log tail is the reason.
        return do_wait_for_environment(mod, exc)
    except IsolationUnavailable as exc:
        # Never a downgrade: the patch waits until this machine can give the level again.
        level = mod.workspace.isolation_level
        return do_block(
            mod,
            None,
            str(exc),
            [(f"isolation_unavailable:{level}", None)],
            expected_from=S.SANDBOXING,
        )
    with transaction.atomic():
        run = store_run(mod.workspace, result, kind=SandboxRunKind.PATCHED, modification=mod)
        if result.limit_hit != "emergency_stop":
            breakers.record_outcome(mod, success=sandbox_success(mod, result), stage="sandbox")
        scoring.score_modification(mod, result)
        gate = scoring.confidence_gate(mod)
        status: str
        if result.limit_hit == "emergency_stop":
            # Interrupted, not judged: the patch waits in `blocked` until the engine resumes.
            status, reason = S.BLOCKED, "emergency stop during the sandbox run"
        else:
            status, reason = decide_after_sandbox(mod, result, gate)
        data = {
            "sandbox_run": run.pk,
            "limit_hit": result.limit_hit,
            "new_failures": result.new_failures,
            "fixed": result.fixed,
        }
        if status == S.BLOCKED:
            do_block(
                mod, None, reason, [("emergency_stop", None)], expected_from=S.SANDBOXING, data=data
            )
        else:
            transition(mod, status, None, reason, expected_from=S.SANDBOXING, data=data)
        if status == S.APPROVED:
            transaction.on_commit(lambda: send_later("healing.apply_modification", mod.pk))
    return mod
